// Package client is a typed client of the recorder API: the wire types the
// API answers (written by hand against server/api/openapi.yaml, which the
// API's tests check every response against), one method per call, the
// retry rules for transient failures, and the upload engine that sends a
// file through the presigned URLs the API hands out (one PUT, or parts that
// each carry their SHA-256, resumed where storage already holds some).
//
// It knows nothing of terminals: progress reaches the caller through the
// Progress hook, and it imports nothing of the server, so an app or the
// recorder CLI holds no more than the public API. Error messages are
// written for a person and name the recorder CLI's flags where a person
// can act on them.
package client
