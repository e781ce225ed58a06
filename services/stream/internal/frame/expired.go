package frame

import (
	"strconv"
	"time"
)

// TypeExpired ends a stream whose token expired.
const TypeExpired = "herald.expired"

// Expired is the last frame of a stream whose token expired: no id (the
// client's resume point stays), a retry so it comes back after fetching a
// fresh token, then the server closes the connection.
func Expired(retry time.Duration) []byte {
	b := []byte("event: " + TypeExpired + "\nretry: ")
	b = strconv.AppendInt(b, max(retry.Milliseconds(), 0), 10)
	return append(b, "\ndata: {\"reason\":\"expired\"}\n\n"...)
}
