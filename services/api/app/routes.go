package app

import "github.com/labstack/echo/v4"

// Route is one method and path template the api serves.
type Route struct{ Method, Path string }

// Routes lists what the handler serves, so a test can hold the OpenAPI
// document to it.
func (a *App) Routes() []Route {
	e, ok := a.handler.(*echo.Echo)
	if !ok {
		return nil
	}
	var out []Route
	for _, r := range e.Routes() {
		out = append(out, Route{r.Method, r.Path})
	}
	return out
}
