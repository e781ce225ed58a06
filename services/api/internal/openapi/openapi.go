// Package openapi holds Herald's OpenAPI 3.1 document and serves it as
// JSON. The YAML is hand-written and embedded; it is converted once, at
// the first request, so a broken document fails the api's tests, not a
// client at run time.
package openapi

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sync"

	"go.yaml.in/yaml/v3"
)

// YAML is the document as written (docs/openapi.yaml is a copy of it).
//
//go:embed openapi.yaml
var YAML []byte

var (
	once    sync.Once
	asJSON  []byte
	convErr error
)

// JSON returns the document as JSON.
func JSON() ([]byte, error) {
	once.Do(func() {
		var doc any
		if convErr = yaml.Unmarshal(YAML, &doc); convErr != nil {
			return
		}
		asJSON, convErr = json.Marshal(doc)
	})
	return asJSON, convErr
}

// Handler serves the JSON document; it is public, like /healthz.
func Handler(w http.ResponseWriter, r *http.Request) {
	b, err := JSON()
	if err != nil {
		http.Error(w, "the OpenAPI document does not parse", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
