// Package share is the public page of a shared recording, served by the API
// at /s/{token}: one HTML template and its stylesheet, no script, no build
// step, embedded so a laptop and Lambda serve the same bytes.
package share

import "embed"

// Files holds the page's template and the stylesheet the API inlines into
// it (its hash goes in the page's Content-Security-Policy).
//
//go:embed page.html style.css
var Files embed.FS
