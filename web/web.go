// Package web is the browser companion: a few static files with no build
// step, embedded so the API binary serves them at /app/ the same way on a
// laptop and in Lambda. Being served by the API makes the app same-origin
// with it; storage stays cross-origin, as for any web client.
package web

import "embed"

// Files holds the app: the page, its script (app.js and the helpers it
// imports) and its one stylesheet.
//
//go:embed index.html app.js format.js style.css
var Files embed.FS
