// Package web is the browser companion: a few static files with no build
// step, embedded so the API binary serves them at /app/ the same way on a
// laptop and in Lambda. Being served by the API makes the app same-origin
// with it; storage stays cross-origin, as for any web client.
package web

import "embed"

// Files holds the app: the page, its modules (app.js, the helpers it
// imports and one module per view), its stylesheet, and what makes it
// installable and able to open offline (the manifest, its icons and the
// service worker).
//
//go:embed index.html *.js views/*.js style.css manifest.json icon.svg icon-192.png icon-512.png
var Files embed.FS
