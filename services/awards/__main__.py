"""`python -m services.awards`: run the awards service until SIGTERM."""

import asyncio

from services.awards.app import create

if __name__ == "__main__":
    asyncio.run(create().run())
