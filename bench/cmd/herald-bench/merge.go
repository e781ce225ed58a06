package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/herald-push/herald/bench/internal/report"
	"github.com/herald-push/herald/bench/internal/scenario"
)

// merge is `herald-bench report -in a/results.json,b/results.json -out dir`:
// one table (a row per run), one side-by-side summary (a row per target) and
// one set of charts (including direct-vs-nginx comparisons) from several
// invocations.
func merge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("herald-bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "results.json files, comma-separated")
	out := fs.String("out", "", "directory for the merged results.json, results.md and charts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return errors.New("report needs -in and -out")
	}
	var all []*scenario.Result
	for f := range strings.SplitSeq(*in, ",") {
		rs, err := report.ReadJSON(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		all = append(all, rs...)
	}
	if err := report.WriteAll(*out, all); err != nil {
		return fmt.Errorf("writing the merged report: %w", err)
	}
	if err := report.Markdown(stdout, all); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	return report.Summary(stdout, all)
}
