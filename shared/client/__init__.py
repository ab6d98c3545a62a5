"""The client side of the contract: the typed bus client, the `antq` CLI, the unit importer and
the generator of the contract documents."""

from shared.client.client import Client, Reply, command_envelope, read_stream

__all__ = ["Client", "Reply", "command_envelope", "read_stream"]
