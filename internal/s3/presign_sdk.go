//go:build presign_sdk

package s3

// Built with -tags presign_sdk, the store signs every URL with the SDK's
// presign client, so the bench can time the two paths side by side in
// builds that differ in nothing else; no deployment uses this tag.
func init() { directSigning = false }
