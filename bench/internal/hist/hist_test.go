package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestIndexBoundsRoundTrip(t *testing.T) {
	prevHi := uint64(0)
	for i := range buckets {
		lo, hi := bounds(i)
		if i > 0 && lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d: gap or overlap", i, lo, prevHi)
		}
		if index(lo) != i || index(hi) != i {
			t.Fatalf("bucket %d [%d,%d] maps back to %d,%d", i, lo, hi, index(lo), index(hi))
		}
		// The width of a bucket is at most 1/128 of its lower bound: the precision promise.
		if lo >= 2*subCount && float64(hi-lo+1)/float64(lo) > 1.0/subCount {
			t.Fatalf("bucket %d [%d,%d] too wide", i, lo, hi)
		}
		prevHi = hi
	}
	if prevHi != 1<<maxBits-1 {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, uint64(1<<maxBits-1))
	}
}

func TestQuantileExactForSmallValues(t *testing.T) {
	var h Histogram
	for v := uint64(1); v <= 100; v++ {
		h.Record(v)
	}
	tests := []struct {
		q    float64
		want uint64
	}{{0, 1}, {0.01, 1}, {0.5, 50}, {0.9, 90}, {0.99, 99}, {0.999, 100}, {1, 100}}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %d, want %d", tt.q, got, tt.want)
		}
	}
	if h.Count() != 100 || h.Min() != 1 || h.Max() != 100 || h.Mean() != 50.5 {
		t.Errorf("count/min/max/mean = %d/%d/%d/%v", h.Count(), h.Min(), h.Max(), h.Mean())
	}
}

func TestQuantileWithinRelativeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]uint64, 100000)
	for i := range vals {
		// Log-uniform over 1 µs .. 10 s, like a latency distribution with a long tail.
		vals[i] = uint64(math.Exp2(rng.Float64() * 23))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subCount+1 {
			t.Errorf("q%v = %d, exact %d: outside [exact, exact*(1+1/128)]", q, got, exact)
		}
	}
	if h.Max() != vals[len(vals)-1] {
		t.Errorf("max = %d, want %d", h.Max(), vals[len(vals)-1])
	}
}

func TestMergeEqualsRecordingAll(t *testing.T) {
	var a, b, all Histogram
	for v := uint64(0); v < 5000; v += 7 {
		a.Record(v * 3)
		all.Record(v * 3)
		b.Record(v * 11)
		all.Record(v * 11)
	}
	a.Merge(&b)
	if a != all {
		t.Fatal("merged histogram differs from one that recorded every sample")
	}
	var empty Histogram
	a.Merge(&empty)
	if a != all {
		t.Fatal("merging an empty histogram changed the result")
	}
}

func TestEmptyAndClamp(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram must report zeros")
	}
	h.Record(1 << 50)
	if h.Max() != 1<<maxBits-1 || h.Quantile(1) != 1<<maxBits-1 {
		t.Fatalf("huge value not clamped: max %d", h.Max())
	}
}

func TestSinceIsTheWindow(t *testing.T) {
	var h Histogram
	for v := uint64(1); v <= 100; v++ {
		h.Record(v)
	}
	prev := h
	for v := uint64(1000); v < 1100; v++ {
		h.Record(v)
	}
	w := h.Since(&prev)
	if w.Count() != 100 || w.Min() != 1000 || w.Quantile(0.5) < 1049 || w.Quantile(0.5) > 1049+1049/subCount {
		t.Fatalf("window count %d min %d p50 %d", w.Count(), w.Min(), w.Quantile(0.5))
	}
	if e := h.Since(&h); e.Count() != 0 || e.Quantile(0.99) != 0 {
		t.Fatal("empty window not empty")
	}
}
