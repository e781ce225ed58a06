// Package bench is Herald's load generator module: the herald-bench command
// (cmd/herald-bench) and its parts under internal/. This package itself only
// holds the smoke test that runs a small scenario against the real stack.
package bench
