package payload

import (
	"encoding/json"
	"testing"
)

func TestAppendFindRoundTrip(t *testing.T) {
	p := P{Channel: 3, Seq: 1042, Intended: 1764150000123456789}
	body := Append(nil, p)
	if string(body) != `{"c":3,"s":1042,"t":1764150000123456789}` {
		t.Fatalf("Append = %s", body)
	}
	quoted, _ := json.Marshal(string(body))
	tests := []struct {
		name string
		data string
		want P
		ok   bool
	}{
		{"bare", string(body), p, true},
		{"herald envelope", `{"channel":"b.1","type":"message","data":` + string(body) + `,"time":"2026-11-26T10:00:00Z"}`, p, true},
		{"stringified", `{"data":` + string(quoted) + `}`, p, true},
		{"zero", `{"c":0,"s":0,"t":0}`, P{}, true},
		{"missing", `{"channel":"x","data":{"hello":1}}`, P{}, false},
		{"truncated", `{"c":1,"s":`, P{}, false},
		{"wrong order", `{"c":1,"t":2,"s":3}`, P{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Find([]byte(tt.data))
			if ok != tt.ok || got != tt.want {
				t.Fatalf("Find = %+v,%v want %+v,%v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFindNoAllocs(t *testing.T) {
	data := []byte(`{"channel":"b","type":"message","data":{"c":3,"s":1042,"t":1764150000123456789},"time":"x"}`)
	if a := testing.AllocsPerRun(100, func() { Find(data) }); a != 0 {
		t.Fatalf("allocs = %v", a)
	}
}
