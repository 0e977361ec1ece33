package generate

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// accent is an app's accent colour: a normalised "#rrggbb" and, when it came from a
// colour word, that word.
type accent struct {
	Hex  string
	Name string
}

// String names the colour for a chat reply: "green" or "#ff8800".
func (a accent) String() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Hex
}

// defaultAccent is the template's accent.
var defaultAccent = accent{Hex: "#4f46e5", Name: "indigo"}

// palette maps colour words to accents chosen to stay readable as button backgrounds in
// both themes. Synonyms map to the colour they name in replies.
var palette = map[string]accent{
	"red":       {"#dc2626", "red"},
	"crimson":   {"#dc2626", "red"},
	"orange":    {"#ea580c", "orange"},
	"amber":     {"#d97706", "amber"},
	"gold":      {"#d97706", "amber"},
	"yellow":    {"#eab308", "yellow"},
	"lime":      {"#65a30d", "lime"},
	"green":     {"#15803d", "green"},
	"emerald":   {"#047857", "emerald"},
	"teal":      {"#0f766e", "teal"},
	"turquoise": {"#0f766e", "teal"},
	"cyan":      {"#0e7490", "cyan"},
	"sky":       {"#0369a1", "sky blue"},
	"blue":      {"#2563eb", "blue"},
	"navy":      {"#1e3a8a", "navy"},
	"indigo":    {"#4f46e5", "indigo"},
	"violet":    {"#7c3aed", "violet"},
	"purple":    {"#9333ea", "purple"},
	"magenta":   {"#c026d3", "magenta"},
	"fuchsia":   {"#c026d3", "magenta"},
	"pink":      {"#be185d", "pink"},
	"rose":      {"#e11d48", "rose"},
	"brown":     {"#92400e", "brown"},
	"gray":      {"#475569", "gray"},
	"grey":      {"#475569", "gray"},
	"slate":     {"#475569", "gray"},
	"black":     {"#111827", "black"},
}

// colourWords is the alternation of palette keys for regular expressions, longest first
// so that no word shadows a longer one.
var colourWords = func() string {
	words := make([]string, 0, len(palette))
	for w := range palette {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		if len(words[i]) != len(words[j]) {
			return len(words[i]) > len(words[j])
		}
		return words[i] < words[j]
	})
	return strings.Join(words, "|")
}()

// namedAccent returns the accent for a hex code, naming it when it is a palette colour.
func namedAccent(hex string) accent {
	for _, name := range []string{"red", "orange", "amber", "yellow", "lime", "green", "emerald",
		"teal", "cyan", "sky", "blue", "navy", "indigo", "violet", "purple", "magenta", "pink",
		"rose", "brown", "gray", "black"} {
		if palette[name].Hex == hex {
			return palette[name]
		}
	}
	return accent{Hex: hex}
}

// normaliseHex turns "#F80" or "#ff8800" into "#ff8800"; ok is false for anything else.
func normaliseHex(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if !strings.HasPrefix(s, "#") {
		return "", false
	}
	h := s[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return "", false
	}
	if _, err := strconv.ParseUint(h, 16, 32); err != nil {
		return "", false
	}
	return "#" + h, true
}

// Text colours placed on the accent: whichever of the two reads better.
const (
	lightText = "#ffffff"
	darkText  = "#0f172a"
)

// contrastText returns the text colour to use on an accent background.
func contrastText(hex string) string {
	hex, ok := normaliseHex(hex)
	if !ok {
		return lightText
	}
	if contrastRatio(hex, lightText) >= contrastRatio(hex, darkText) {
		return lightText
	}
	return darkText
}

// contrastRatio is the WCAG 2 contrast ratio of two normalised hex colours.
func contrastRatio(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	channel := func(i int) float64 {
		v, err := strconv.ParseUint(hex[i:i+2], 16, 8)
		if err != nil {
			panic(fmt.Sprintf("generate: luminance of unnormalised colour %q", hex))
		}
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*channel(1) + 0.7152*channel(3) + 0.0722*channel(5)
}
