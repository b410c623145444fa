package client

import (
	"context"
	"net/http"
)

// MaxLookupDigests is how many digests one ledger lookup takes.
const MaxLookupDigests = 100

// MultipartPolicy is how the server cuts an upload into parts: from
// ThresholdBytes on, parts of PartSizeBytes grown to whole MiB so no
// upload needs more than MaxParts.
type MultipartPolicy struct {
	ThresholdBytes int64 `json:"threshold_bytes"`
	PartSizeBytes  int64 `json:"part_size_bytes"`
	MaxParts       int   `json:"max_parts"`
}

// PartSizeFor is the part size the server chooses for an upload of size,
// zero when it is not multipart.
func (p MultipartPolicy) PartSizeFor(size int64) int64 {
	if p.ThresholdBytes <= 0 || p.PartSizeBytes <= 0 || p.MaxParts <= 0 || size < p.ThresholdBytes {
		return 0
	}
	ps := p.PartSizeBytes
	if need := (size + int64(p.MaxParts) - 1) / int64(p.MaxParts); need > ps {
		const mib = 1 << 20
		ps = (need + mib - 1) / mib * mib
	}
	return ps
}

// LedgerMatch is a recording holding content the ledger was asked about.
type LedgerMatch struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	FileName string `json:"file_name"`
}

// LedgerEntry answers one digest: the recordings holding that verified
// content, none when it is not stored.
type LedgerEntry struct {
	SHA256     string        `json:"sha256"`
	Recordings []LedgerMatch `json:"recordings"`
}

// Lookup asks the backup ledger which of the user's recordings hold
// content with each digest (a whole file's SHA-256, or a multipart
// composite), at most MaxLookupDigests at once. It reads and changes
// nothing, so it is retried like a GET.
func (c *Client) Lookup(ctx context.Context, digests []string) ([]LedgerEntry, MultipartPolicy, error) {
	var out struct {
		Results   []LedgerEntry   `json:"results"`
		Multipart MultipartPolicy `json:"multipart"`
	}
	err := c.do(ctx, http.MethodPost, "/v1/recordings/lookup", nil, map[string][]string{"sha256": digests}, &out)
	return out.Results, out.Multipart, err
}

// LookupAll asks the ledger about any number of digests, MaxLookupDigests
// at a time, and answers the matches by digest and the server's multipart
// policy (zero when nothing was asked).
func (c *Client) LookupAll(ctx context.Context, digests []string) (map[string][]LedgerMatch, MultipartPolicy, error) {
	found := map[string][]LedgerMatch{}
	var policy MultipartPolicy
	for len(digests) > 0 {
		n := min(len(digests), MaxLookupDigests)
		res, p, err := c.Lookup(ctx, digests[:n])
		if err != nil {
			return nil, MultipartPolicy{}, err
		}
		policy = p
		for _, e := range res {
			if len(e.Recordings) > 0 {
				found[e.SHA256] = e.Recordings
			}
		}
		digests = digests[n:]
	}
	return found, policy, nil
}
