// Package kit is the small shared module of the Herald services: configuration
// loading (viper), JSON logging, the NATS connection, health probes, HTTP server
// defaults and problem+json errors. Anything here is needed by both services;
// anything only one service needs lives in that service.
package kit
