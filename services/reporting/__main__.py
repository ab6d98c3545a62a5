"""`python -m services.reporting`: run the reporting service until SIGTERM."""

from services.reporting.app import create
from shared.runtime.entry import serve

if __name__ == "__main__":
    serve(create)
