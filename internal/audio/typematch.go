package audio

import "strings"

// TypeMatches reports whether a declared canonical content type (one of: audio/mp4,
// audio/aac, audio/mpeg, audio/wav, audio/ogg, audio/opus, audio/webm, audio/flac,
// audio/3gpp, audio/3gpp2, audio/amr, audio/amr-wb) fits the detected Info. It is lenient
// where real devices are: an .m4a sent as audio/aac, a 3GP sent as audio/mp4 or the reverse
// (phones mix 3GP and MP4 brands), an .amr file labelled audio/3gpp, Ogg Opus sent as
// audio/ogg. Parameters (";codecs=opus") and case are ignored. An unknown type never matches.
func TypeMatches(contentType string, info Info) bool {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	c, codec := info.Container, info.Codec
	switch ct {
	case "audio/mp4", "audio/x-m4a", "audio/m4a":
		return c == "mp4"
	case "audio/aac", "audio/x-aac":
		return c == "adts" || c == "mp4" && codec == "aac"
	case "audio/mpeg", "audio/mp3":
		return c == "mp3" || c == "mp4" && codec == "mp3"
	case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave":
		return c == "wav"
	case "audio/ogg", "audio/opus":
		return c == "ogg" || ct == "audio/opus" && c == "webm" && codec == "opus"
	case "audio/webm":
		return c == "webm"
	case "audio/flac", "audio/x-flac":
		return c == "flac" || c == "ogg" && codec == "flac"
	case "audio/3gpp", "audio/3gpp2":
		return c == "mp4" || c == "amr"
	case "audio/amr":
		return c == "amr" && codec == "amr_nb" || c == "mp4" && codec == "amr_nb"
	case "audio/amr-wb":
		return c == "amr" && codec == "amr_wb" || c == "mp4" && codec == "amr_wb"
	}
	return false
}
