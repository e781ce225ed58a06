package channel

// Presence subjects (core NATS, not JetStream).
const (
	// PresenceSubject receives PresenceRequests; every stream replica
	// subscribes (no queue group) and answers once.
	PresenceSubject = "herald.ctl.presence"
	// ReplicasSubject carries the ReplicaAnnouncements of stream replicas.
	ReplicasSubject = "herald.ctl.replicas"
)
