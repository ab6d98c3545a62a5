"""`python -m services.awards`: run the awards service until SIGTERM."""

from services.awards.app import create
from shared.runtime.entry import serve

if __name__ == "__main__":
    serve(create)
