package export

import (
	"fmt"
	"path"
	"strings"
)

// names hands out archive entry names, each unique. Finder and Explorer
// compare names without case, so two names differing only in case would
// overwrite each other on extraction: they are told apart too.
type names struct {
	taken map[string]bool
}

func newNames(reserved ...string) *names {
	n := &names{taken: map[string]bool{}}
	for _, r := range reserved {
		n.taken[strings.ToLower(r)] = true
	}
	return n
}

// claim returns name, or "stem (2).ext", "stem (3).ext"... when taken.
// A name a zip reader would take for a folder or a path outside the
// archive is flattened first: file names are the user's, not ours.
func (n *names) claim(name string) string {
	name = entrySafe(name)
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	candidate := name
	for i := 2; n.taken[strings.ToLower(candidate)]; i++ {
		candidate = fmt.Sprintf("%s (%d)%s", stem, i, ext)
	}
	n.taken[strings.ToLower(candidate)] = true
	return candidate
}

func entrySafe(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	if name == "" {
		name = "recording"
	}
	return name
}
