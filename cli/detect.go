package cli

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
)

// byExtension is the fallback when the content is not recognised.
var byExtension = map[string]string{
	".m4a": "audio/mp4", ".mp4": "audio/mp4", ".aac": "audio/aac", ".mp3": "audio/mpeg",
	".wav": "audio/wav", ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/opus",
	".webm": "audio/webm", ".flac": "audio/flac", ".3gp": "audio/3gpp", ".3g2": "audio/3gpp2",
	".amr": "audio/amr", ".awb": "audio/amr-wb",
}

// sniff recognises audio containers by their first bytes.
func sniff(head []byte) string {
	has := func(off int, s string) bool { return len(head) >= off+len(s) && string(head[off:off+len(s)]) == s }
	switch {
	case has(0, "RIFF") && has(8, "WAVE"):
		return "audio/wav"
	case has(0, "fLaC"):
		return "audio/flac"
	case has(0, "OggS"):
		if bytes.Contains(head, []byte("OpusHead")) {
			return "audio/opus"
		}
		return "audio/ogg"
	case has(0, "#!AMR-WB\n"):
		return "audio/amr-wb"
	case has(0, "#!AMR\n"):
		return "audio/amr"
	case has(0, "\x1a\x45\xdf\xa3"):
		return "audio/webm"
	case has(4, "ftyp"):
		switch brand := string(head[8:min(11, len(head))]); {
		case brand == "3g2":
			return "audio/3gpp2"
		case strings.HasPrefix(brand, "3g"):
			return "audio/3gpp"
		}
		return "audio/mp4"
	case has(0, "ID3"):
		return "audio/mpeg"
	case len(head) >= 2 && head[0] == 0xff && head[1]&0xf6 == 0xf0:
		return "audio/aac" // ADTS: sync word, layer 00
	case len(head) >= 2 && head[0] == 0xff && head[1]&0xe0 == 0xe0:
		return "audio/mpeg" // MPEG audio frame sync
	}
	return ""
}

// detectType names the audio type of a file: from its content when it is
// recognisable, else from its extension.
func detectType(path string, f io.ReaderAt) (string, error) {
	head := make([]byte, 64)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return "", err
	}
	if t := sniff(head[:n]); t != "" {
		return t, nil
	}
	if t, ok := byExtension[strings.ToLower(filepath.Ext(path))]; ok {
		return t, nil
	}
	return "", errors.New("not a recognised audio file (m4a, aac, mp3, wav, ogg, opus, webm, flac, 3gp, amr)")
}
