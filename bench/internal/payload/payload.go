// Package payload encodes the bench's event body — channel index, per-channel
// sequence and intended send time — and finds it again inside whatever
// envelope the server under test wraps around it, without allocating.
package payload

import "bytes"

// P is what every published event carries.
type P struct {
	Channel  int64 // index of the channel in the run
	Seq      int64 // per-channel sequence, from 0
	Intended int64 // intended send time, Unix nanoseconds
}

// Append appends the JSON object {"c":..,"s":..,"t":..} to dst.
func Append(dst []byte, p P) []byte {
	dst = append(dst, `{"c":`...)
	dst = appendInt(dst, p.Channel)
	dst = append(dst, `,"s":`...)
	dst = appendInt(dst, p.Seq)
	dst = append(dst, `,"t":`...)
	dst = appendInt(dst, p.Intended)
	return append(dst, '}')
}

func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

var (
	plainKeys   = [3][]byte{[]byte(`{"c":`), []byte(`,"s":`), []byte(`,"t":`)}
	escapedKeys = [3][]byte{[]byte(`{\"c\":`), []byte(`,\"s\":`), []byte(`,\"t\":`)}
)

// Find locates the payload in data: as a JSON object, or JSON-escaped inside
// a string when a server stringifies the body it was given.
func Find(data []byte) (P, bool) {
	if p, ok := find(data, &plainKeys); ok {
		return p, true
	}
	return find(data, &escapedKeys)
}

func find(data []byte, keys *[3][]byte) (P, bool) {
	i := bytes.Index(data, keys[0])
	if i < 0 {
		return P{}, false
	}
	rest := data[i:]
	var vals [3]int64
	for k := range keys {
		if !bytes.HasPrefix(rest, keys[k]) {
			return P{}, false
		}
		rest = rest[len(keys[k]):]
		v, n := parseInt(rest)
		if n == 0 {
			return P{}, false
		}
		vals[k], rest = v, rest[n:]
	}
	return P{Channel: vals[0], Seq: vals[1], Intended: vals[2]}, true
}

func parseInt(b []byte) (int64, int) {
	neg, i := false, 0
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	start := i
	var v int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 19 {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	if i == start {
		return 0, 0
	}
	if neg {
		v = -v
	}
	return v, i
}
