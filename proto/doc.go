// Package proto is the root of Herald's wire contract between services: the
// protobuf messages in heraldv1, the channel-name rules and NATS subject mapping
// in channel, and the JSON event envelope shared by the stream and history API
// in envelope.
package proto
