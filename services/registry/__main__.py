"""`python -m services.registry`: run the registry service until SIGTERM."""

from services.registry.app import create
from shared.runtime.entry import serve

if __name__ == "__main__":
    serve(create)
