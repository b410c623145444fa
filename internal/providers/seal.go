package providers

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Sealer encrypts provider tokens at rest. The user id is bound to every
// sealed value (AES-GCM additional data, and KMS encryption context), so a
// token copied onto another user's item does not open.
type Sealer interface {
	Seal(ctx context.Context, userID string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, userID string, sealed []byte) ([]byte, error)
}

// ErrUnsealable is a sealed value that will never open: damaged, sealed for
// another user, or with a key this server does not have.
var ErrUnsealable = errors.New("sealed token does not open")

// Sealed value layouts, told apart by their first byte.
const (
	formatLocal = 1 // 1 | nonce | ciphertext+tag
	formatKMS   = 2 // 2 | len(wrapped key) uint16 | wrapped key | nonce | ciphertext+tag
)

// LocalSealer seals with one configured 256-bit key (TOKEN_ENCRYPTION_KEY):
// the local stack and the tests.
type LocalSealer struct{ aead cipher.AEAD }

// NewLocalSealer takes the key as standard base64 of 32 bytes.
func NewLocalSealer(b64 string) (*LocalSealer, error) {
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) != 32 {
		return nil, errors.New("token encryption key: want base64 of 32 bytes")
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	return &LocalSealer{aead: aead}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealWith(aead cipher.AEAD, prefix []byte, userID string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(prefix, nonce...)
	return aead.Seal(out, nonce, plaintext, []byte(userID)), nil
}

func openWith(aead cipher.AEAD, rest []byte, userID string) ([]byte, error) {
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrUnsealable)
	}
	n := aead.NonceSize()
	pt, err := aead.Open(nil, rest[:n], rest[n:], []byte(userID))
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key or user", ErrUnsealable)
	}
	return pt, nil
}

func (s *LocalSealer) Seal(_ context.Context, userID string, plaintext []byte) ([]byte, error) {
	return sealWith(s.aead, []byte{formatLocal}, userID, plaintext)
}

func (s *LocalSealer) Open(_ context.Context, userID string, sealed []byte) ([]byte, error) {
	if len(sealed) == 0 || sealed[0] != formatLocal {
		return nil, fmt.Errorf("%w: not sealed with the local key", ErrUnsealable)
	}
	return openWith(s.aead, sealed[1:], userID)
}

// KMSAPI is the part of the KMS client KMSSealer uses.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMSSealer is envelope encryption on AWS: each Seal asks KMS for a fresh
// data key (GenerateDataKey, AES_256) under KeyID with the user id as
// encryption context, seals with it locally (AES-GCM, the user id as
// additional data) and keeps only the wrapped key beside the ciphertext.
// Opening asks KMS to unwrap it, which it does only with the same context.
type KMSSealer struct {
	KMS   KMSAPI
	KeyID string
}

func encryptionContext(userID string) map[string]string { return map[string]string{"user_id": userID} }

func (s *KMSSealer) Seal(ctx context.Context, userID string, plaintext []byte) ([]byte, error) {
	out, err := s.KMS.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: &s.KeyID, KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: encryptionContext(userID),
	})
	if err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	defer clear(out.Plaintext)
	aead, err := newGCM(out.Plaintext)
	if err != nil {
		return nil, err
	}
	prefix := make([]byte, 3, 3+len(out.CiphertextBlob))
	prefix[0] = formatKMS
	binary.BigEndian.PutUint16(prefix[1:], uint16(len(out.CiphertextBlob)))
	prefix = append(prefix, out.CiphertextBlob...)
	return sealWith(aead, prefix, userID, plaintext)
}

func (s *KMSSealer) Open(ctx context.Context, userID string, sealed []byte) ([]byte, error) {
	if len(sealed) < 3 || sealed[0] != formatKMS {
		return nil, fmt.Errorf("%w: not sealed with KMS", ErrUnsealable)
	}
	n := int(binary.BigEndian.Uint16(sealed[1:]))
	if len(sealed) < 3+n {
		return nil, fmt.Errorf("%w: too short", ErrUnsealable)
	}
	out, err := s.KMS.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob: sealed[3 : 3+n], KeyId: &s.KeyID, EncryptionContext: encryptionContext(userID),
	})
	if err != nil {
		return nil, fmt.Errorf("decrypt data key: %w", err)
	}
	defer clear(out.Plaintext)
	aead, err := newGCM(out.Plaintext)
	if err != nil {
		return nil, err
	}
	return openWith(aead, sealed[3+n:], userID)
}
