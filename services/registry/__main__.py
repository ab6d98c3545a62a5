"""`python -m services.registry`: run the registry service until SIGTERM."""

import asyncio

from services.registry.app import create

if __name__ == "__main__":
    asyncio.run(create().run())
