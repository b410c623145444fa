// Package export takes a user's recordings out in one piece: a ZIP of every
// recording asked for, with a manifest and the transcripts, streamed from
// the recording objects through archive/zip into the transfer manager's
// multipart upload, so memory stays bounded by a few upload parts whatever
// the archive's size and nothing is staged on disk.
//
// The API's side (Service) records an export as running and sends a
// message naming it; the worker (Worker.HandleMessage) builds the archive,
// on AWS in its own Lambda started by an SQS queue, locally in the same
// process. The reconciler's side (Sweep) fails exports whose worker is gone,
// aborts the multipart uploads a killed worker left and deletes expired
// archives.
package export
