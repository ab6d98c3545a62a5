"""`python -m services.notifications`: run the notifications service until SIGTERM."""

import asyncio

from services.notifications.app import create

if __name__ == "__main__":
    asyncio.run(create().run())
