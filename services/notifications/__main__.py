"""`python -m services.notifications`: run the notifications service until SIGTERM."""

from services.notifications.app import create
from shared.runtime.entry import serve

if __name__ == "__main__":
    serve(create)
