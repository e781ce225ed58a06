package presence

import (
	"reflect"
	"testing"

	"github.com/herald-push/herald/services/stream/internal/control"
)

type conns []struct {
	chs   []string
	owner control.Owner
}

func (c conns) Each(f func([]string, control.Owner)) {
	for _, x := range c {
		f(x.chs, x.owner)
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		asked, sub string
		want       bool
	}{
		{"chat.lobby", "chat.lobby", true},
		{"chat.lobby", "chat.*", true}, // receives chat.lobby
		{"chat.lobby", ">", true},
		{"chat.lobby", "chat.other", false},
		{"chat.*", "chat.lobby", true}, // lies within chat.*
		{"chat.*", "chat.>", true},     // receives everything chat.* names
		{"chat.*", "*.lobby", false},   // overlaps only
		{"chat.*", "chat.a.b", false},
		{">", "anything.at.all", true},
	} {
		if got := Matches(c.asked, c.sub); got != c.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", c.asked, c.sub, got, c.want)
		}
	}
}

func TestCount(t *testing.T) {
	src := conns{
		{[]string{"chat.a", "chat.b"}, control.Owner{Principal: "u1"}}, // one connection, two patterns
		{[]string{"chat.a"}, control.Owner{Principal: "u1"}},
		{[]string{"chat.*"}, control.Owner{Principal: "u2"}},
		{[]string{"chat.a"}, control.Owner{Anonymous: true}},
		{[]string{"news"}, control.Owner{Principal: "u3"}},
	}
	got := Count("r1", src, "chat.*", 1)
	if got.GetConnections() != 4 || !reflect.DeepEqual(got.GetChannels(), map[string]uint64{"chat.a": 3, "chat.b": 1, "chat.*": 1}) ||
		len(got.GetPrincipals()) != 1 || !got.GetPrincipalsTruncated() || got.GetReplicaId() != "r1" {
		t.Errorf("Count = %v", got)
	}
	if none := Count("r1", src, "chat.*", 0); len(none.GetPrincipals()) != 0 || none.GetPrincipalsTruncated() {
		t.Errorf("max 0: %v", none)
	}
}

// TestCountKeepsSmallest: under the cap a reply lists the smallest names
// whatever order the connections are visited in, so the api's merge of
// capped replies does not depend on map order (it once answered [bob]
// where [alice] was due, on one CI run in several).
func TestCountKeepsSmallest(t *testing.T) {
	names := []string{"erin", "bob", "alice", "dave", "bob", "carol", "alice", "frank"}
	for shift := range names {
		var src conns
		for i := range names {
			n := names[(i+shift)%len(names)]
			src = append(src, struct {
				chs   []string
				owner control.Owner
			}{[]string{"chat.lobby"}, control.Owner{Principal: n}})
		}
		got := Count("r", src, "chat.*", 3)
		if want := []string{"alice", "bob", "carol"}; !reflect.DeepEqual(got.GetPrincipals(), want) || !got.GetPrincipalsTruncated() || got.GetConnections() != 8 {
			t.Errorf("visit order %d: %v truncated=%v, want %v truncated", shift, got.GetPrincipals(), got.GetPrincipalsTruncated(), want)
		}
		if all := Count("r", src, "chat.*", 6); len(all.GetPrincipals()) != 6 || all.GetPrincipalsTruncated() {
			t.Errorf("visit order %d, cap 6 of 6 names: %v truncated=%v", shift, all.GetPrincipals(), all.GetPrincipalsTruncated())
		}
	}
}
