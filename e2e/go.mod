module github.com/herald-push/herald/e2e

go 1.26.0

require (
	github.com/herald-push/herald/proto v0.0.0
	github.com/herald-push/herald/services/kit v0.0.0
)

replace (
	github.com/herald-push/herald/proto => ../proto
	github.com/herald-push/herald/services/kit => ../services/kit
)

require (
	github.com/herald-push/herald/services/api v0.0.0
	github.com/herald-push/herald/services/stream v0.0.0
)

replace (
	github.com/herald-push/herald/services/api => ../services/api
	github.com/herald-push/herald/services/stream => ../services/stream
)
