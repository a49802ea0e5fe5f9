package diagnose

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the text printable keeps of a field: an image reference, and
// the other short fields (a reason, a command's program).
const (
	maxImage = 512
	maxShort = 256
)

// printable makes text that came from the cluster (event messages, log
// lines: anything a tenant can write) safe to print on a terminal and
// short: control characters (escape sequences that could move the cursor,
// rewrite lines or set the window title; newlines that could fake report
// lines) and bidirectional overrides become U+FFFD, invalid UTF-8 too, and
// text past limit bytes is cut with "…".
func printable(s string, limit int) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || isBidiControl(r) {
			clean = false
			break
		}
	}
	if clean && len(s) <= limit {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || isBidiControl(r) {
			r = unicode.ReplacementChar
		}
		if b.Len()+utf8.RuneLen(r) > limit {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isBidiControl reports the Unicode bidirectional formatting characters,
// which can make a terminal show text in another order than it is.
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f' || r == '\u061c'
}
