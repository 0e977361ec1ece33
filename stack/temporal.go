package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/appforge/appforge/workflows"
)

// DevServer is a Temporal dev server child process: SQLite state in a file, so that
// workflows survive restarts, and the Web UI.
type DevServer struct {
	cmd     *exec.Cmd
	done    chan struct{}
	Address string
	UIURL   string
	LogPath string
}

// DevServerOptions configures StartDevServer.
type DevServerOptions struct {
	// Binary is the temporal CLI.
	Binary string
	// DBFile holds the server's state; empty means in memory (lost at exit).
	DBFile    string
	Port      int
	UIPort    int
	Headless  bool
	Namespace string
	LogPath   string
	Logger    *slog.Logger
}

// StartDevServer starts the dev server with appforge's search attributes registered and
// waits until it answers.
func StartDevServer(ctx context.Context, o DevServerOptions) (*DevServer, error) {
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("temporal CLI not found at %s (run `make tools`, or set APPFORGE_TEMPORAL_CLI): %w", o.Binary, err)
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(o.Port), "--log-level", "warn", "--log-format", "json"}
	if o.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.DBFile), 0o755); err != nil {
			return nil, err
		}
		args = append(args, "--db-filename", o.DBFile)
	}
	if o.Headless {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(o.UIPort))
	}
	if o.Namespace != "" && o.Namespace != "default" {
		args = append(args, "--namespace", o.Namespace)
	}
	for _, sa := range workflows.SearchAttributes() {
		args = append(args, "--search-attribute", sa.GetName()+"=Keyword")
	}
	cmd := exec.Command(o.Binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	if o.LogPath != "" {
		f, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start temporal dev server: %w", err)
	}
	s := &DevServer{cmd: cmd, done: make(chan struct{}), Address: fmt.Sprintf("127.0.0.1:%d", o.Port), LogPath: o.LogPath}
	if !o.Headless {
		s.UIURL = fmt.Sprintf("http://localhost:%d", o.UIPort)
	}
	go func() { cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx, o.Namespace); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *DevServer) waitReady(ctx context.Context, namespace string) error {
	deadline := time.Now().Add(90 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("temporal dev server exited during start (see %s): %v", s.LogPath, s.cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		c, err := client.Dial(client.Options{HostPort: s.Address, Namespace: namespace, Logger: quietLogger{}})
		if err == nil {
			hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = c.CheckHealth(hctx, &client.CheckHealthRequest{})
			cancel()
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(150 * time.Millisecond)
	}
	return fmt.Errorf("temporal dev server did not answer on %s: %v", s.Address, last)
}

// Stop ends the server and its process group: SIGTERM, then SIGKILL after 10 s.
func (s *DevServer) Stop() error {
	if s == nil || s.cmd.Process == nil {
		return nil
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
		return errors.New("temporal dev server did not stop within 10s; killed")
	}
}

// quietLogger drops the SDK's connection chatter while waiting for the server.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
