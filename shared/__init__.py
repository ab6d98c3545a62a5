"""The ANTQ platform's common package: the bus contract, the runtime kit and the client.

No service's domain logic lives here (CONVENTIONS §2)."""
