package scenario

import (
	"os"
	"testing"
)

func TestServerWatchFollowsARestartedServer(t *testing.T) {
	const gone = 1 << 30 // no such pid
	refreshed := 0
	w := watchServers([]int{gone}, func() []int {
		refreshed++
		return []int{os.Getpid()}
	})
	if refreshed != 0 {
		t.Fatal("refresh called before the run's baseline was taken")
	}
	now := w.sample()
	if len(now) != 2 || now[0].Alive || !now[1].Alive || refreshed != 1 {
		t.Fatalf("samples %+v, refreshed %d", now, refreshed)
	}
	rep := w.report(now, []float64{0, 0.5})
	if len(rep) != 2 || rep[1].PID != os.Getpid() || rep[1].RSSBefore != 0 || rep[1].RSSAfter == 0 || rep[1].CPUCores != 0.5 {
		t.Fatalf("report %+v", rep)
	}
	// Already watched: a second refresh adds nothing.
	if again := w.sample(); len(again) != 2 {
		t.Fatalf("second sample has %d entries", len(again))
	}
}
