"""`python -m services.reporting`: run the reporting service until SIGTERM."""

import asyncio

from services.reporting.app import create

if __name__ == "__main__":
    asyncio.run(create().run())
