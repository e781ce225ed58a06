package main

import (
	"context"
	"errors"
	"io"

	"github.com/herald-push/herald/bench/internal/scenario"
)

type stack interface{ Close() error }

func launch(context.Context, *config, *scenario.Options, io.Writer) (stack, error) {
	return nil, errors.New("--launch: the e2e launcher is not available yet")
}
