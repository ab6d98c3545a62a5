"""The platform's four services; each owns its database and talks to the others only by the bus."""
