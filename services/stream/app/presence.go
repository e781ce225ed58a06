package app

// ReplicaID is this instance's id in presence replies and announcements.
func (a *App) ReplicaID() string { return a.presence.ID() }

// StopPresence stops answering presence requests while the replica keeps
// announcing itself and serving streams: what a stuck replica looks like to
// the api. Tests use it to see a partial presence answer.
func (a *App) StopPresence() error { return a.presence.StopAnswering() }
