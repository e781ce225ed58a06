package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/herald-push/herald/proto/channel"
	"github.com/herald-push/herald/proto/heraldv1"
	"github.com/herald-push/herald/services/api/config"
	"github.com/herald-push/herald/services/api/internal/openapi"
	"github.com/herald-push/herald/services/kit/auth/authtest"
	"github.com/herald-push/herald/services/kit/testkit"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// specChecker validates real exchanges with the running api against the
// OpenAPI document and remembers which operation × status pairs it saw,
// so the test can demand that every documented answer was produced.
type specChecker struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	seen   map[string]bool // "operationId status"
}

func loadSpec(t *testing.T, serverURL string) *specChecker {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.YAML)
	if err != nil {
		t.Fatalf("loading the spec: %v", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the spec is not valid OpenAPI: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &specChecker{t: t, doc: doc, router: r, seen: map[string]bool{}}
}

// exchange is one request and what status it must get.
type exchange struct {
	name, method, path, ct, body string
	hdr                          []string // header pairs
	want                         int
}

// check sends x to the api, requires its status, and validates request and
// response (status included) against the spec.
func (s *specChecker) check(base string, x exchange) {
	s.t.Helper()
	req, err := http.NewRequest(x.method, base+x.path, strings.NewReader(x.body))
	if err != nil {
		s.t.Fatal(err)
	}
	if x.ct != "" {
		req.Header.Set("Content-Type", x.ct)
	}
	for i := 0; i+1 < len(x.hdr); i += 2 {
		req.Header.Set(x.hdr[i], x.hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s: %v", x.name, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		s.t.Fatal(err)
	}
	if res.StatusCode != x.want {
		s.t.Errorf("%s: status %d, want %d: %s", x.name, res.StatusCode, x.want, body)
		return
	}

	// Validate a fresh copy of the request (the sent one's body is spent).
	vreq, _ := http.NewRequest(x.method, base+x.path, strings.NewReader(x.body))
	vreq.Header = req.Header.Clone()
	route, params, err := s.router.FindRoute(vreq)
	if err != nil {
		s.t.Errorf("%s: %s %s is not in the spec: %v", x.name, x.method, x.path, err)
		return
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		// Which scheme is accepted is the api's business, tested in
		// hardening_test.go; here a request names one of the documented ones
		// or none.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	// A request the api refuses is allowed to break the spec (that is
	// why it is refused); a request it accepts must not.
	if x.want < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			s.t.Errorf("%s: the request breaks the spec: %v", x.name, err)
		}
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: opts,
	}
	rin.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		s.t.Errorf("%s: the response breaks the spec: %v\n%s", x.name, err, body)
	}
	s.seen[fmt.Sprintf("%s %d", route.Operation.OperationID, res.StatusCode)] = true
}

// TestOpenAPI drives the running api (real NATS, real HTTP) through every
// operation × status the document lists and validates each exchange
// against it, then checks that no documented answer went unproduced and
// that every api route is documented.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		// 207 needs one event of a batch refused by NATS (max_payload 1 MiB)
		// while the body limits let it through.
		c.BodyLimit, c.BatchBodyLimit = 4<<20, 8<<20
		c.Auth.AnonymousPublish, c.Auth.AnonymousSubscribe = []string{"chat.*"}, []string{"chat.*"}
	})
	s := loadSpec(t, e.srv.URL)

	// A replica holding connection "c1"; "junk" answers garbage (502).
	var set []string
	sub, err := e.peer.Subscribe(channel.ControlSubject("c1"), func(m *nats.Msg) {
		req := &heraldv1.ControlRequest{}
		reply := &heraldv1.ControlReply{Status: heraldv1.ControlReply_STATUS_OK}
		_ = proto.Unmarshal(m.Data, req)
		next := set
		switch req.Op {
		case heraldv1.ControlRequest_OP_REPLACE:
			next = req.Channels
		case heraldv1.ControlRequest_OP_ADD:
			next = append(slices.Clone(set), req.Channels...)
		case heraldv1.ControlRequest_OP_REMOVE:
			next = slices.DeleteFunc(slices.Clone(set), func(c string) bool { return slices.Contains(req.Channels, c) })
		}
		switch {
		case slices.Contains(next, "secret"):
			reply.Status = heraldv1.ControlReply_STATUS_FORBIDDEN
		case len(next) == 0:
			reply.Status = heraldv1.ControlReply_STATUS_EMPTY
		default:
			set = slices.Compact(slices.Sorted(slices.Values(next)))
		}
		reply.Channels = set
		b, _ := proto.Marshal(reply)
		_ = m.Respond(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	junk, _ := e.peer.Subscribe(channel.ControlSubject("junk"), func(m *nats.Msg) { _ = m.Respond([]byte{0xff, 0xff, 0xff}) })
	defer junk.Unsubscribe()
	if err := e.peer.Flush(); err != nil {
		t.Fatal(err)
	}

	all := "Bearer " + authtest.Token(t, "alice", []string{">"}, []string{">"})
	chatOnly := "Bearer " + authtest.Token(t, "bob", []string{"chat.*"}, []string{"chat.*"})
	cookie := "herald_token=" + authtest.Token(t, "carol", []string{">"}, []string{">"})
	bad := "Bearer not.a.token"
	js, txt := "application/json", "text/plain"
	huge := `"` + strings.Repeat("x", 2<<20) + `"`
	tooBig := strings.Repeat("x", 4<<20+1)
	chs := `{"channels":["news","chat.*"]}`

	xs := []exchange{
		{"publish json", "POST", "/api/v1/channels/news/events", js, `{"data":{"a":1}}`, []string{"Authorization", all}, 201},
		{"publish text", "POST", "/api/v1/channels/news/events?type=note", txt, "hi", []string{"Authorization", all}, 201},
		{"publish anonymous", "POST", "/api/v1/channels/chat.lobby/events", js, `{"data":1}`, nil, 201},
		{"publish cookie same origin", "POST", "/api/v1/channels/news/events", js, `{"data":1}`, []string{"Cookie", cookie, "Origin", e.srv.URL}, 201},
		{"publish idempotent", "POST", "/api/v1/channels/news/events", js, `{"data":1}`, []string{"Authorization", all, "Idempotency-Key", "k1"}, 201},
		{"publish replayed", "POST", "/api/v1/channels/news/events", js, `{"data":1}`, []string{"Authorization", all, "Idempotency-Key", "k1"}, 200},
		{"publish bad channel", "POST", "/api/v1/channels/a..b/events", js, `{"data":1}`, []string{"Authorization", all}, 400},
		{"publish bad json", "POST", "/api/v1/channels/news/events", js, `{"data":`, []string{"Authorization", all}, 400},
		{"publish no token", "POST", "/api/v1/channels/news/events", js, `{"data":1}`, nil, 401},
		{"publish bad token", "POST", "/api/v1/channels/news/events", js, `{"data":1}`, []string{"Authorization", bad}, 401},
		{"publish forbidden", "POST", "/api/v1/channels/news/events", js, `{"data":1}`, []string{"Authorization", chatOnly}, 403},
		{"publish foreign origin", "POST", "/api/v1/channels/news/events", js, `{"data":1}`, []string{"Cookie", cookie, "Origin", "https://evil.example"}, 403},
		{"publish too large", "POST", "/api/v1/channels/news/events", js, `{"data":` + huge + `}`, []string{"Authorization", all}, 413},
		{"publish media type", "POST", "/api/v1/channels/news/events", "application/xml", `<a/>`, []string{"Authorization", all}, 415},
		{"publish reserved type", "POST", "/api/v1/channels/news/events", js, `{"type":"herald.x","data":1}`, []string{"Authorization", all}, 422},

		{"batch", "POST", "/api/v1/events", js, `{"events":[{"channel":"news","data":1},{"channel":"chat.a","type":"t","data":2,"idempotency_key":"b1"}]}`, []string{"Authorization", all}, 201},
		{"batch partial", "POST", "/api/v1/events", js, `{"events":[{"channel":"news","data":1},{"channel":"news","data":` + huge + `}]}`, []string{"Authorization", all}, 207},
		{"batch empty", "POST", "/api/v1/events", js, `{"events":[]}`, []string{"Authorization", all}, 400},
		{"batch no token", "POST", "/api/v1/events", js, `{"events":[{"channel":"news","data":1}]}`, nil, 401},
		{"batch forbidden", "POST", "/api/v1/events", js, `{"events":[{"channel":"news","data":1}]}`, []string{"Authorization", chatOnly}, 403},
		{"batch too large", "POST", "/api/v1/events", js, `{"events":[` + strings.Repeat(`{"channel":"a","data":1},`, 400000) + `]}`, []string{"Authorization", all}, 413},
		{"batch media type", "POST", "/api/v1/events", txt, `x`, []string{"Authorization", all}, 415},
		{"batch too long", "POST", "/api/v1/events", js, `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"channel":"a","data":1},`, 101), ",") + `]}`, []string{"Authorization", all}, 422},

		{"history", "GET", "/api/v1/channels/news/events?limit=2", "", "", []string{"Authorization", all}, 200},
		{"history page 2", "GET", "/api/v1/channels/news/events?after=2&limit=2", "", "", []string{"Authorization", all}, 200},
		{"history pattern anonymous", "GET", "/api/v1/channels/chat.*/events", "", "", nil, 200},
		{"history cookie", "GET", "/api/v1/channels/%3E/events", "", "", []string{"Cookie", cookie}, 200},
		{"history bad after", "GET", "/api/v1/channels/news/events?after=x", "", "", []string{"Authorization", all}, 400},
		{"history no token", "GET", "/api/v1/channels/news/events", "", "", nil, 401},
		{"history forbidden", "GET", "/api/v1/channels/chat.%3E/events", "", "", []string{"Authorization", chatOnly}, 403},

		{"presence", "GET", "/api/v1/channels/news/presence", "", "", []string{"Authorization", all}, 200},
		{"presence anonymous pattern", "GET", "/api/v1/channels/chat.*/presence", "", "", nil, 200},
		{"presence bad pattern", "GET", "/api/v1/channels/a..b/presence", "", "", []string{"Authorization", all}, 400},
		{"presence no token", "GET", "/api/v1/channels/news/presence", "", "", nil, 401},
		{"presence forbidden", "GET", "/api/v1/channels/%3E/presence", "", "", []string{"Authorization", chatOnly}, 403},

		{"control replace", "PUT", "/api/v1/connections/c1/channels", js, chs, []string{"Authorization", all}, 200},
		{"control get", "GET", "/api/v1/connections/c1/channels", "", "", []string{"Authorization", all}, 200},
		{"control add", "POST", "/api/v1/connections/c1/channels", js, `{"channels":["ticker"]}`, []string{"Authorization", all}, 200},
		{"control remove", "DELETE", "/api/v1/connections/c1/channels/ticker", "", "", []string{"Authorization", all}, 200},
		{"control get bad id", "GET", "/api/v1/connections/bad!id/channels", "", "", []string{"Authorization", all}, 400},
		{"control get bad token", "GET", "/api/v1/connections/c1/channels", "", "", []string{"Authorization", bad}, 401},
		{"control get unknown", "GET", "/api/v1/connections/nobody/channels", "", "", []string{"Authorization", all}, 404},
		{"control get junk", "GET", "/api/v1/connections/junk/channels", "", "", []string{"Authorization", all}, 502},
		{"control replace bad channel", "PUT", "/api/v1/connections/c1/channels", js, `{"channels":["a..b"]}`, []string{"Authorization", all}, 400},
		{"control replace bad token", "PUT", "/api/v1/connections/c1/channels", js, chs, []string{"Authorization", bad}, 401},
		{"control replace forbidden", "PUT", "/api/v1/connections/c1/channels", js, `{"channels":["secret"]}`, []string{"Authorization", all}, 403},
		{"control replace unknown", "PUT", "/api/v1/connections/nobody/channels", js, chs, []string{"Authorization", all}, 404},
		{"control replace too large", "PUT", "/api/v1/connections/c1/channels", js, tooBig, []string{"Authorization", all}, 413},
		{"control replace media type", "PUT", "/api/v1/connections/c1/channels", txt, chs, []string{"Authorization", all}, 415},
		{"control replace empty", "PUT", "/api/v1/connections/c1/channels", js, `{"channels":[]}`, []string{"Authorization", all}, 422},
		{"control replace junk", "PUT", "/api/v1/connections/junk/channels", js, chs, []string{"Authorization", all}, 502},
		{"control add bad json", "POST", "/api/v1/connections/c1/channels", js, `{`, []string{"Authorization", all}, 400},
		{"control add bad token", "POST", "/api/v1/connections/c1/channels", js, chs, []string{"Authorization", bad}, 401},
		{"control add forbidden", "POST", "/api/v1/connections/c1/channels", js, `{"channels":["secret"]}`, []string{"Authorization", all}, 403},
		{"control add foreign origin", "POST", "/api/v1/connections/c1/channels", js, chs, []string{"Cookie", cookie, "Origin", "https://evil.example"}, 403},
		{"control add unknown", "POST", "/api/v1/connections/nobody/channels", js, chs, []string{"Authorization", all}, 404},
		{"control add too large", "POST", "/api/v1/connections/c1/channels", js, tooBig, []string{"Authorization", all}, 413},
		{"control add media type", "POST", "/api/v1/connections/c1/channels", "", chs, []string{"Authorization", all}, 415},
		{"control add too many", "POST", "/api/v1/connections/c1/channels", js, tooMany(40), []string{"Authorization", all}, 422},
		{"control add junk", "POST", "/api/v1/connections/junk/channels", js, chs, []string{"Authorization", all}, 502},
		{"control remove bad channel", "DELETE", "/api/v1/connections/c1/channels/a..b", "", "", []string{"Authorization", all}, 400},
		{"control remove bad token", "DELETE", "/api/v1/connections/c1/channels/news", "", "", []string{"Authorization", bad}, 401},
		{"control remove foreign origin", "DELETE", "/api/v1/connections/c1/channels/news", "", "", []string{"Cookie", cookie, "Origin", "https://evil.example"}, 403},
		{"control remove unknown", "DELETE", "/api/v1/connections/nobody/channels/news", "", "", []string{"Authorization", all}, 404},
		{"control remove junk", "DELETE", "/api/v1/connections/junk/channels/news", "", "", []string{"Authorization", all}, 502},
		{"control remove news", "DELETE", "/api/v1/connections/c1/channels/news", "", "", []string{"Authorization", all}, 200},
		{"control remove last", "DELETE", "/api/v1/connections/c1/channels/chat.*", "", "", []string{"Authorization", all}, 422},

		{"healthz", "GET", "/healthz", "", "", nil, 200},
		{"readyz", "GET", "/readyz", "", "", nil, 200},
		{"metrics", "GET", "/metrics", "", "", nil, 200},
		{"openapi", "GET", "/api/openapi.json", "", "", nil, 200},
	}
	for _, x := range xs {
		s.check(e.srv.URL, x)
	}

	// NATS down: every route that needs it answers 503 with Retry-After.
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
	testkit.Eventually(t, 10*time.Second, func() bool {
		return e.do("GET", "/readyz", "", "").status == 503
	}, "the api to notice NATS is gone")
	for _, x := range []exchange{
		{"readyz down", "GET", "/readyz", "", "", nil, 503},
		{"publish down", "POST", "/api/v1/channels/news/events", js, `{"data":1}`, []string{"Authorization", all}, 503},
		{"batch down", "POST", "/api/v1/events", js, `{"events":[{"channel":"news","data":1}]}`, []string{"Authorization", all}, 503},
		{"presence down", "GET", "/api/v1/channels/news/presence", "", "", []string{"Authorization", all}, 503},
		{"history down", "GET", "/api/v1/channels/news/events", "", "", []string{"Authorization", all}, 503},
		{"control get down", "GET", "/api/v1/connections/c1/channels", "", "", []string{"Authorization", all}, 503},
		{"control replace down", "PUT", "/api/v1/connections/c1/channels", js, chs, []string{"Authorization", all}, 503},
		{"control add down", "POST", "/api/v1/connections/c1/channels", js, chs, []string{"Authorization", all}, 503},
		{"control remove down", "DELETE", "/api/v1/connections/c1/channels/news", "", "", []string{"Authorization", all}, 503},
	} {
		s.check(e.srv.URL, x)
	}

	// Every documented answer of an api operation was produced. /stream
	// belongs to the stream service (validated in e2e/openapi_test.go).
	var missing []string
	for path, item := range s.doc.Paths.Map() {
		for _, op := range item.Operations() {
			if path == "/stream" {
				continue
			}
			for status := range op.Responses.Map() {
				if k := op.OperationID + " " + status; !s.seen[k] {
					missing = append(missing, k)
				}
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented but never produced (add an exchange or drop it from the spec):\n%s", strings.Join(missing, "\n"))
	}
}

func tooMany(n int) string {
	var b bytes.Buffer
	b.WriteString(`{"channels":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"c%d"`, i)
	}
	b.WriteString("]}")
	return b.String()
}

// TestOpenAPIRoutes: every route echo serves is documented (GET ones
// answer HEAD too, said once in the description), and docs/openapi.yaml
// is the embedded document.
func TestOpenAPIRoutes(t *testing.T) {
	e := newEnv(t, nil)
	s := loadSpec(t, e.srv.URL)
	for _, r := range e.app.Routes() {
		if r.Method == http.MethodHead || r.Path == "/openapi.json" {
			continue
		}
		req, _ := http.NewRequest(r.Method, e.srv.URL+r.Path, nil)
		if _, _, err := s.router.FindRoute(req); err != nil {
			t.Errorf("%s %s is served but not documented: %v", r.Method, r.Path, err)
		}
	}
	docs, err := os.ReadFile("../../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openapi.YAML) {
		t.Error("docs/openapi.yaml differs from services/api/internal/openapi/openapi.yaml: cp services/api/internal/openapi/openapi.yaml docs/")
	}
}
