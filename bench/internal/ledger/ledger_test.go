package ledger

import "testing"

type ev struct {
	ch    int64
	seq   uint64
	id    uint64
	hasID bool
}

func TestSubAccounting(t *testing.T) {
	tests := []struct {
		name      string
		base, n   int
		published []uint64
		stream    []ev
		want      Totals
	}{
		{
			name: "clean stream", base: 0, n: 1, published: []uint64{3},
			stream: []ev{{0, 0, 10, true}, {0, 1, 11, true}, {0, 2, 12, true}},
			want:   Totals{Expected: 3, Received: 3},
		},
		{
			name: "gap in the middle and at the end", base: 0, n: 1, published: []uint64{6},
			stream: []ev{{0, 0, 1, true}, {0, 2, 3, true}, {0, 3, 4, true}},
			want:   Totals{Expected: 6, Received: 3, Lost: 3, LostByID: 3},
		},
		{
			name: "resume replays two already seen", base: 0, n: 1, published: []uint64{4},
			stream: []ev{{0, 0, 1, true}, {0, 1, 2, true}, {0, 2, 3, true}, {0, 1, 2, true}, {0, 2, 3, true}, {0, 3, 4, true}},
			want:   Totals{Expected: 4, Received: 6, Dups: 2, IDDups: 2},
		},
		{
			name: "out of order is not loss but the id went backwards", base: 0, n: 1, published: []uint64{3},
			stream: []ev{{0, 0, 1, true}, {0, 2, 3, true}, {0, 1, 2, true}},
			want:   Totals{Expected: 3, Received: 3, IDDups: 1, LostByID: 1},
		},
		{
			name: "wildcard over three channels with ids interleaved", base: 0, n: 3, published: []uint64{2, 1, 2},
			stream: []ev{{0, 0, 1, true}, {1, 0, 2, true}, {2, 0, 3, true}, {0, 1, 4, true}, {2, 1, 5, true}},
			want:   Totals{Expected: 5, Received: 5},
		},
		{
			name: "foreign channel and missing ids", base: 2, n: 1, published: []uint64{9, 9, 2},
			stream: []ev{{2, 0, 0, false}, {0, 0, 0, false}, {2, 1, 0, false}},
			want:   Totals{Expected: 2, Received: 2, NoID: 3, Foreign: 1, LostByID: 2},
		},
		{
			name: "sequences beyond the published count are not loss", base: 0, n: 1, published: []uint64{2},
			stream: []ev{{0, 0, 1, true}, {0, 1, 2, true}, {0, 200, 3, true}},
			want:   Totals{Expected: 2, Received: 3, LostByID: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSub(tt.base, tt.n)
			for _, e := range tt.stream {
				s.Observe(e.ch, e.seq, e.id, e.hasID)
			}
			var got Totals
			got.Add(s, tt.published)
			if got != tt.want {
				t.Fatalf("totals = %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

func TestChannelPrefixAndLargeGaps(t *testing.T) {
	var c Channel
	for _, s := range []uint64{1, 2, 5000, 0} {
		c.Observe(s)
	}
	if c.Prefix() != 3 {
		t.Fatalf("prefix = %d, want 3", c.Prefix())
	}
	if lost := c.Lost(5001); lost != 5001-4 {
		t.Fatalf("lost = %d, want %d", lost, 5001-4)
	}
	if !c.Observe(5000) || c.Dups() != 1 || c.Distinct() != 4 {
		t.Fatalf("dup not detected: dups %d distinct %d", c.Dups(), c.Distinct())
	}
}
