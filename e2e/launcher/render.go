package launcher

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// templateVar matches the ${NAME} and $NAME forms envsubst replaces, for the
// upper-case HERALD_ names this project defines. nginx's own variables are
// lower-case ($http_origin, $1), so they can never match.
var templateVar = regexp.MustCompile(`\$\{(HERALD_[A-Z0-9_]+)\}|\$(HERALD_[A-Z0-9_]+)`)

// TemplateVars lists, sorted and without repeats, the HERALD_* variables the
// template text refers to (its comments included, so document only real ones).
func TemplateVars(tmpl string) []string {
	var names []string
	for _, m := range templateVar.FindAllStringSubmatch(tmpl, -1) {
		name := m[1] + m[2]
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Render substitutes vars into tmpl exactly as the official nginx image's
// envsubst does for defined variables, and nothing else: every other "$" stays
// for nginx. A HERALD_* variable the template uses but vars lacks is an error
// rather than the empty string envsubst would leave, which nginx would either
// reject with a puzzling message or, worse, accept.
func Render(tmpl string, vars map[string]string) (string, error) {
	var missing []string
	out := templateVar.ReplaceAllStringFunc(tmpl, func(s string) string {
		m := templateVar.FindStringSubmatch(s)
		name := m[1] + m[2]
		v, ok := vars[name]
		if !ok {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			return s
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("rendering nginx template: no value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}
