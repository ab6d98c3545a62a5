"""The runtime kit every service runs on: the service host, bus wiring, the command pipeline,
event consumers, the outbox and inbox, MongoDB access, settings, health, metrics and logs."""
