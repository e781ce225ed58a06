package auth_test

import (
	"net/http"

	"github.com/herald-push/herald/services/kit/problem"
)

func writeProblem(w http.ResponseWriter, p *problem.Problem) { problem.Write(w, p) }
