// Package hist is a small log-linear (HDR-style) histogram for latencies:
// constant memory, O(1) record, and a relative error bounded by 1/128 at
// every magnitude, so p99.9 of ten million samples costs nothing to keep.
package hist

import (
	"math"
	"math/bits"
)

// subBits sets the precision: 2^subBits linear sub-buckets per power of two.
const subBits = 7

const (
	subCount = 1 << subBits
	// maxBits caps recordable values at 2^maxBits-1 (about 12.7 days in µs).
	maxBits = 40
	buckets = (maxBits - subBits + 1) << subBits
)

// Histogram counts non-negative integer values (the bench records
// microseconds). The zero value is ready to use. It is not safe for
// concurrent use; callers shard and Merge.
type Histogram struct {
	counts   [buckets]uint64
	total    uint64
	min, max uint64
	sum      float64
}

// index maps v to its bucket: values below 2*subCount map to themselves;
// above, each power of two is split into subCount equal sub-buckets.
func index(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // >= 1
	return (e+1)<<subBits + int(v>>e) - subCount
}

// bounds returns the lowest and highest value that map to bucket i.
func bounds(i int) (lo, hi uint64) {
	if i < 2*subCount {
		return uint64(i), uint64(i)
	}
	e := i>>subBits - 1
	mant := uint64(i&(subCount-1) + subCount)
	return mant << e, (mant+1)<<e - 1
}

// Record adds one value. Values beyond the range are clamped to its top.
func (h *Histogram) Record(v uint64) {
	if v >= 1<<maxBits {
		v = 1<<maxBits - 1
	}
	h.counts[index(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += float64(v)
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
	h.sum += o.sum
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.total }

// Min returns the smallest sample (exact), or 0 when empty.
func (h *Histogram) Min() uint64 { return h.min }

// Max returns the largest sample (exact), or 0 when empty.
func (h *Histogram) Max() uint64 { return h.max }

// Mean returns the arithmetic mean, or 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Quantile returns the value at quantile q in [0,1]: the highest value
// equivalent to the sample of rank ceil(q*count), like HdrHistogram, but
// never above the exact maximum. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) uint64 {
	if h.total == 0 {
		return 0
	}
	q = math.Min(math.Max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bounds(i)
			return min(max(hi, h.min), h.max)
		}
	}
	return h.max
}

// Since returns the samples recorded in h after prev was copied from it
// (prev must be an earlier state of h): a window of a cumulative histogram.
// Its min and max are bucket bounds, not exact values.
func (h *Histogram) Since(prev *Histogram) *Histogram {
	var out Histogram
	lo, hi := -1, -1
	for i := range h.counts {
		c := h.counts[i] - prev.counts[i]
		if c == 0 {
			continue
		}
		out.counts[i] = c
		out.total += c
		if lo < 0 {
			lo = i
		}
		hi = i
	}
	if out.total == 0 {
		return &out
	}
	out.min, _ = bounds(lo)
	_, out.max = bounds(hi)
	out.sum = h.sum - prev.sum
	return &out
}
