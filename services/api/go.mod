module github.com/herald-push/herald/services/api

go 1.26.0

require (
	github.com/herald-push/herald/proto v0.0.0
	github.com/herald-push/herald/services/kit v0.0.0
)

replace (
	github.com/herald-push/herald/proto => ../../proto
	github.com/herald-push/herald/services/kit => ../kit
)
