package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names and ids come from the server, and a server can be wrong, hostile,
// or impersonated on a plain http:// path. Nothing it sends is used in a
// local path before it passes through here.

// maxNameBytes is what common file systems (ext4, APFS, NTFS in UTF-16
// units, near enough) allow for one name. The server allows longer names
// (it counts characters), so a long Korean name must be cut here.
const maxNameBytes = 255

// maxExtBytes bounds what counts as an extension worth keeping when a name
// is cut: ".m4a", ".webm", ".flac"..., not the tail of a long name that
// happens to hold a dot.
const maxExtBytes = 16

// safeName reduces a name from the server to one plain file name that
// stays where it is put: separators and control characters become "_",
// leading dots (which would hide the file, or make it "." or "..") go, and
// it fits in maxNameBytes with its extension kept. It is never empty.
func safeName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || bidiControl(r) {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(name), "."))
	if strings.Trim(name, "_ ") == "" {
		name = "recording" + name
	}
	return fitName(name, "")
}

// withID is the name a recording takes beside a different file that holds
// its name: "NAME (ID).ext", cut to fit like any name. id must be valid.
func withID(name, id string) string {
	return fitName(name, " ("+id+")")
}

// fitName inserts suffix before name's extension and cuts the stem at a
// rune boundary so the whole fits in maxNameBytes.
func fitName(name, suffix string) string {
	ext := filepath.Ext(name)
	if len(ext) > maxExtBytes || ext == name {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	room := maxNameBytes - len(suffix) - len(ext)
	for len(stem) > room {
		_, size := utf8.DecodeLastRuneInString(stem)
		stem = stem[:len(stem)-size]
	}
	return stem + suffix + ext
}

// bidiControl is a character that reorders what follows it on screen:
// "evil\u202ev4m.exe" displays as "evilexe.m4v".
func bidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') ||
		r == '\u200e' || r == '\u200f' || r == '\u061c'
}

// inFolder returns dir/name after checking that it names an entry directly
// in dir: the last line of defence, should a name ever reach it unsafe.
func inFolder(dir, name string) (string, error) {
	target := filepath.Join(dir, name)
	cleanDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	if filepath.Dir(abs) != cleanDir || filepath.Base(abs) != name {
		return "", fmt.Errorf("refusing to write %q: it is not a file in %s", name, dir)
	}
	return target, nil
}
