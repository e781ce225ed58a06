package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	c, err := parse([]string{"--subscribers", "1000, 10000", "--rate", "1,2.5", "--server-pids", "12,34"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.subscribers) != 2 || c.subscribers[1] != 10000 || c.rates[1] != 2.5 || c.serverPIDs[1] != 34 {
		t.Fatalf("parsed %+v", c)
	}
	for _, bad := range [][]string{
		{"--subscribers", "x"},
		{"--rate", ""},
		{"--via", "smoke-signals"},
		{"--metrics-url", "http://10.0.0.1/metrics"},
		{"stray"},
	} {
		if _, err := parse(bad, io.Discard); err == nil {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

func TestRunRefusesNonLoopbackTargets(t *testing.T) {
	err := run(context.Background(), []string{"--sse-url", "http://192.0.2.1/stream?channel={channel}", "--out", t.TempDir()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v, want a loopback refusal", err)
	}
}
