package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/herald-push/herald/e2e/launcher"
	"github.com/herald-push/herald/services/kit/auth/authtest"
)

// TestOpenAPIThroughNginx loads the document the way a client finds it,
// from /api/openapi.json through nginx, and validates real /stream
// exchanges (the stream service's part, which the api's own test cannot
// reach) against it: 200 text/event-stream, 400, 401, 403.
func TestOpenAPIThroughNginx(t *testing.T) {
	s := launcher.StartTB(t, launcher.Options{Replicas: 1, Env: []string{
		"HERALD_AUTH_HMAC_SECRET=" + authtest.Secret, "HERALD_AUTH_ANONYMOUS_SUBSCRIBE=open",
	}})
	res, err := http.Get(s.BaseURL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("/api/openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("loading the served document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document is not valid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: s.BaseURL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	// An event stream has no end: validate its first block as the body.
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)

	ok := authtest.Token(t, "u", nil, []string{"news"})
	for _, c := range []struct {
		name, query, auth string
		want              int
	}{
		{"bearer", "channel=news", "Bearer " + ok, 200},
		{"query token", "channel=news&access_token=" + ok, "", 200},
		{"anonymous", "channel=open&last_event_id=0", "", 200},
		{"bad last_event_id", "channel=open&last_event_id=x", "", 400},
		{"no channel", "", "", 400},
		{"bad token", "channel=news", "Bearer a.b.c", 401},
		{"no token", "channel=news", "", 401},
		{"uncovered", "channel=other", "Bearer " + ok, 403},
	} {
		req, _ := http.NewRequest("GET", s.BaseURL+"/stream?"+c.query, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		if res.StatusCode == 200 {
			br := bufio.NewReader(res.Body)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				got = append(got, line...)
				if line == "\n" {
					break
				}
			}
		} else {
			got, _ = io.ReadAll(res.Body)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, res.StatusCode, c.want, got)
			continue
		}
		vreq, _ := http.NewRequest("GET", req.URL.String(), nil)
		vreq.Header = req.Header.Clone()
		route, params, err := router.FindRoute(vreq)
		if err != nil {
			t.Fatalf("%s: /stream not in the document: %v", c.name, err)
		}
		opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
		if c.want == 200 {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Errorf("%s: request breaks the spec: %v", c.name, err)
			}
		}
		rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: opts}
		rin.SetBodyBytes(got)
		if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
			t.Errorf("%s: response breaks the spec: %v\n%s", c.name, err, got)
		}
	}
}
