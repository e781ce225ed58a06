package logging

import (
	"crypto/sha256"
	"encoding/hex"
)

// ConnHash is how a stream's connection id appears in logs of every
// service: the id is a capability (with it, its principal changes the
// stream's channels), so logs carry only the first 8 hex digits of its
// SHA-256 — enough to follow one connection across the api and the stream.
func ConnHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:4])
}
