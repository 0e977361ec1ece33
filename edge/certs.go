package edge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Certificates. The edge is its own certificate authority: a root CA (ECDSA P-256,
// ten years) made once and kept in DataDir/ca/root.pem with its key in
// DataDir/ca/root-key.pem (mode 0600). When a certificate's status becomes active,
// the edge issues a real X.509 leaf for its hostnames (ECDSA P-256, SAN = the
// hostnames, valid for Config.CertificateValidity, 90 days by default) and keeps it
// with its key in DataDir/certs/<certificate id>.pem (mode 0600); a restart serves
// the same leaf. Browsers refuse a wildcard under .localhost, so every hostname gets
// its own leaf; only a zone's universal certificate carries *.zone.
//
// To trust the edge's HTTPS locally, add root.pem to the system or browser trust
// store (Edge.RootCAPath), or give it to a client (curl --cacert, Go's
// tls.Config.RootCAs). Trust it on development machines only: anyone who can read
// root-key.pem can issue certificates the machine then trusts.

// Names of the CA files under DataDir.
const (
	caDirName    = "ca"
	rootCertFile = "root.pem"
	rootKeyFile  = "root-key.pem"
	leafDirName  = "certs"
	rootValidity = 10 * 365 * 24 * time.Hour
	// caIssuer is the issuer name certificate packs report.
	caIssuer = "appforge edge local root CA"
)

// certAuthority issues and serves the edge's certificates. It is safe for concurrent
// use.
type certAuthority struct {
	certPath string
	leafDir  string
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey

	mu     sync.Mutex
	leaves map[string]*tls.Certificate // by certificate id; Leaf.SerialNumber tells versions apart
}

// leafInfo describes an issued leaf.
type leafInfo struct {
	serial              string
	notBefore, notAfter time.Time
}

// openCA loads the root CA under dataDir, creating it on first use.
func openCA(dataDir string, now time.Time) (*certAuthority, error) {
	dir := filepath.Join(dataDir, caDirName)
	leafDir := filepath.Join(dataDir, leafDirName)
	for _, d := range []string{dir, leafDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	ca := &certAuthority{
		certPath: filepath.Join(dir, rootCertFile),
		leafDir:  leafDir,
		leaves:   map[string]*tls.Certificate{},
	}
	keyPath := filepath.Join(dir, rootKeyFile)
	certPEM, cerr := os.ReadFile(ca.certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	if errors.Is(cerr, fs.ErrNotExist) || errors.Is(kerr, fs.ErrNotExist) {
		// A crash between the two writes leaves one file: make both again. No leaf
		// of an earlier root can exist then, as leaves are issued after both exist.
		return ca, ca.create(keyPath, now)
	}
	if cerr != nil {
		return nil, cerr
	}
	if kerr != nil {
		return nil, kerr
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ca.certPath, err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s does not hold the key of %s", keyPath, ca.certPath)
	}
	ca.cert, ca.key = cert, key
	return ca, nil
}

func (ca *certAuthority) create(keyPath string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate root key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			CommonName:   caIssuer,
			Organization: []string{"appforge (local development only)"},
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(rootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create root certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("write root key: %w", err)
	}
	if err := writeFileAtomic(ca.certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("write root certificate: %w", err)
	}
	ca.cert, ca.key = cert, key
	return nil
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand does not fail
	return n.Add(n, big.NewInt(1))
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no certificate in PEM data")
		}
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
}

func parseKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no EC private key in PEM data")
		}
		if b.Type == "EC PRIVATE KEY" {
			return x509.ParseECPrivateKey(b.Bytes)
		}
	}
}

// certIDPattern is what a certificate id looks like (a UUID); it names a file.
var certIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (ca *certAuthority) leafPath(id string) string { return filepath.Join(ca.leafDir, id+".pem") }

// issue makes a new leaf for hosts under certificate id, valid from now for
// validity (never past the root's expiry), and stores it.
func (ca *certAuthority) issue(id string, hosts []string, now time.Time, validity time.Duration) (leafInfo, error) {
	if !certIDPattern.MatchString(id) {
		return leafInfo{}, fmt.Errorf("invalid certificate id %q", id)
	}
	if len(hosts) == 0 {
		return leafInfo{}, errors.New("a certificate needs at least one hostname")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return leafInfo{}, fmt.Errorf("generate key: %w", err)
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     slices.Clone(hosts),
		// A minute of slack for clocks that disagree a little.
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return leafInfo{}, fmt.Errorf("sign certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return leafInfo{}, err
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...)
	if err := writeFileAtomic(ca.leafPath(id), data, 0o600); err != nil {
		return leafInfo{}, fmt.Errorf("write certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return leafInfo{}, err
	}
	ca.mu.Lock()
	ca.leaves[id] = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	ca.mu.Unlock()
	return leafInfo{serial: serialString(leaf.SerialNumber), notBefore: tmpl.NotBefore, notAfter: notAfter}, nil
}

func serialString(n *big.Int) string { return strings.ToUpper(n.Text(16)) }

// leaf returns the stored leaf of certificate id whose serial is serial.
func (ca *certAuthority) leaf(id, serial string) (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c, ok := ca.leaves[id]; ok && serialString(c.Leaf.SerialNumber) == serial {
		return c, nil
	}
	if !certIDPattern.MatchString(id) {
		return nil, fmt.Errorf("invalid certificate id %q", id)
	}
	data, err := os.ReadFile(ca.leafPath(id))
	if err != nil {
		return nil, fmt.Errorf("read certificate %s: %w", id, err)
	}
	cert, err := parseCertPEM(data)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", id, err)
	}
	if got := serialString(cert.SerialNumber); got != serial {
		return nil, fmt.Errorf("certificate %s on disk has serial %s, the state says %s", id, got, serial)
	}
	key, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", id, err)
	}
	c := &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	ca.leaves[id] = c
	return c, nil
}

// forget drops certificate id: its file and its cached leaf.
func (ca *certAuthority) forget(id string) {
	if !certIDPattern.MatchString(id) {
		return
	}
	ca.mu.Lock()
	delete(ca.leaves, id)
	ca.mu.Unlock()
	if err := os.Remove(ca.leafPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = err // a stray file is harmless: nothing refers to it any more
	}
}

// RootCAPath is the file that holds the edge's root CA certificate (PEM). Trust it
// to accept the edge's HTTPS: `curl --cacert`, a browser's or the system's trust
// store, or tls.Config.RootCAs.
func (e *Edge) RootCAPath() string { return e.ca.certPath }

// RootCA returns the edge's root CA certificate.
func (e *Edge) RootCA() *x509.Certificate { return e.ca.cert }

// TLSConfig returns the TLS configuration of the edge's HTTPS data plane: it picks
// the certificate of the hostname the client names (SNI) among the active
// certificates of Workers Custom Domains, custom hostnames and zones, and refuses the
// handshake for any other name. Serve Handler with it:
//
//	srv := &http.Server{Handler: e.Handler(), TLSConfig: e.TLSConfig()}
//	srv.ServeTLS(listener, "", "")
//
// TLS 1.2 is the lowest version; a zone whose min_tls_version setting is "1.3" gets
// TLS 1.3 only for its hostnames.
func (e *Edge) TLSConfig() *tls.Config {
	base := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: e.getCertificate,
	}
	tls13 := base.Clone()
	tls13.MinVersion = tls.VersionTLS13
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if z, ok := e.domains.snapshot().hostZone(normalizeHost(hello.ServerName)); ok && z.Settings.MinTLSVersion == "1.3" {
			return tls13, nil
		}
		return nil, nil
	}
	return base
}

// hostZone is the zone whose settings apply to host: its Custom Domain's or custom
// hostname's zone, or the zone it is in.
func (st *domainState) hostZone(host string) (*zone, bool) {
	if d, ok := st.index.workerDomain[host]; ok {
		z := st.Zones[d.ZoneID]
		return z, z != nil
	}
	if ch, ok := st.index.customHost[host]; ok {
		z := st.Zones[ch.ZoneID]
		return z, z != nil
	}
	return st.zoneFor(host)
}

func (e *Edge) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := normalizeHost(hello.ServerName)
	if host == "" {
		return nil, errors.New("edge: the client sent no server name (SNI); the edge serves HTTPS only for named hosts")
	}
	st := e.domainsNow()
	c, ok := st.certFor(host)
	if !ok {
		e.log.Debug("tls: no active certificate", "host", host)
		return nil, fmt.Errorf("edge: no active certificate for %s", host)
	}
	leaf, err := e.ca.leaf(c.ID, c.Serial)
	if err != nil {
		e.log.Error("tls: load certificate", "host", host, "err", err)
		return nil, fmt.Errorf("edge: certificate for %s is unavailable", host)
	}
	return leaf, nil
}

// normalizeHost lower-cases a hostname (no port) and drops a trailing dot.
func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// certFor returns the active certificate that serves host, if any: its Workers
// Custom Domain's, its custom hostname's, or the universal certificate of its active
// zone when a Workers route of the zone serves host.
func (st *domainState) certFor(host string) (*certState, bool) {
	if d, ok := st.index.workerDomain[host]; ok {
		if z := st.Zones[d.ZoneID]; z != nil && z.Status == zoneActive {
			if p := st.index.packByOwner[d.ID]; p != nil && p.Cert.Status == certActive && p.Cert.issued() {
				return &p.Cert, true
			}
		}
		return nil, false
	}
	if ch, ok := st.index.customHost[host]; ok {
		if ch.Status == hostnameActive && ch.SSL.Status == certActive && ch.SSL.issued() {
			return &ch.SSL.certState, true
		}
		return nil, false
	}
	z, ok := st.zoneFor(host)
	if !ok || z.Status != zoneActive || !coveredByUniversal(z.Name, host) || !st.routesHost(z.ID, host) {
		return nil, false
	}
	if p := st.index.universalPack[z.ID]; p != nil && p.Cert.Status == certActive && p.Cert.issued() {
		return &p.Cert, true
	}
	return nil, false
}

// coveredByUniversal reports whether a universal certificate for zone (zone and
// *.zone) covers host.
func coveredByUniversal(zoneName, host string) bool {
	if host == zoneName {
		return true
	}
	label, ok := strings.CutSuffix(host, "."+zoneName)
	return ok && label != "" && !strings.Contains(label, ".")
}

// Certificate packs: GET /zones/{zone}/ssl/certificate_packs lists a zone's packs;
// with ?status=all it lists every pack, without it only active ones (Cloudflare's
// "status=all: include all certificate packs, not only active ones",
// ssl.CertificatePackListParamsStatus in cloudflare-go). A zone has a universal pack
// for zone and *.zone, issued once the zone is active, and an advanced pack per
// Workers Custom Domain.

type certObject struct {
	ID           string    `json:"id"`
	Hosts        []string  `json:"hosts"`
	Status       string    `json:"status"`
	Issuer       string    `json:"issuer"`
	Signature    string    `json:"signature"`
	BundleMethod string    `json:"bundle_method"`
	ExpiresOn    time.Time `json:"expires_on"`
	UploadedOn   time.Time `json:"uploaded_on"`
	ModifiedOn   time.Time `json:"modified_on"`
	Priority     int       `json:"priority"`
	ZoneID       string    `json:"zone_id"`
	SerialNumber string    `json:"serial_number"`
}

type messageObject struct {
	Message string `json:"message"`
}

type packObject struct {
	ID                 string          `json:"id"`
	Type               string          `json:"type"`
	Hosts              []string        `json:"hosts"`
	Status             string          `json:"status"`
	ValidationMethod   string          `json:"validation_method"`
	ValidityDays       int             `json:"validity_days"`
	CertificateAuth    string          `json:"certificate_authority,omitempty"`
	CloudflareBranding bool            `json:"cloudflare_branding"`
	PrimaryCertificate string          `json:"primary_certificate,omitempty"`
	Certificates       []certObject    `json:"certificates"`
	ValidationErrors   []messageObject `json:"validation_errors,omitempty"`
	ValidationRecords  []any           `json:"validation_records"`
}

func (e *Edge) packResult(p *certPack) packObject {
	out := packObject{
		ID: p.ID, Type: p.Type, Hosts: p.Cert.Hosts, Status: p.Cert.Status,
		ValidationMethod: "txt", ValidityDays: int(e.cfg.CertificateValidity / (24 * time.Hour)),
		Certificates:      []certObject{},
		ValidationRecords: []any{},
	}
	for _, m := range p.Cert.ValidationErrors {
		out.ValidationErrors = append(out.ValidationErrors, messageObject{m})
	}
	if p.Cert.issued() {
		out.PrimaryCertificate = p.Cert.ID
		out.Certificates = []certObject{{
			ID: p.Cert.ID, Hosts: p.Cert.Hosts, Status: p.Cert.Status, Issuer: caIssuer,
			Signature: "ECDSAWithSHA256", BundleMethod: "ubiquitous", ExpiresOn: p.Cert.ExpiresOn,
			UploadedOn: p.Cert.IssuedOn, ModifiedOn: p.Cert.IssuedOn, ZoneID: p.ZoneID,
			SerialNumber: p.Cert.Serial,
		}}
	}
	return out
}

// listCertificatePacks is GET /zones/{zone}/ssl/certificate_packs.
func (e *Edge) listCertificatePacks(r *http.Request) (reply, error) {
	st, z := e.requestZone(r)
	all := r.URL.Query().Get("status") == "all"
	var packs []*certPack
	for _, p := range st.Packs {
		if p.ZoneID == z.ID && (all || p.Cert.Status == certActive) {
			packs = append(packs, p)
		}
	}
	slices.SortFunc(packs, func(a, b *certPack) int {
		if c := a.CreatedOn.Compare(b.CreatedOn); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]packObject, len(packs))
	for i, p := range packs {
		out[i] = e.packResult(p)
	}
	return paginate(r, out, 20)
}

// getCertificatePack is GET /zones/{zone}/ssl/certificate_packs/{pack}.
func (e *Edge) getCertificatePack(r *http.Request) (reply, error) {
	st, z := e.requestZone(r)
	p, found := st.Packs[r.PathValue("pack")]
	if !found || p.ZoneID != z.ID {
		return reply{}, errCouldNotRoute(r.URL.Path)
	}
	return ok(e.packResult(p))
}
