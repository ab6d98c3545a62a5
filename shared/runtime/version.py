"""The platform's version (the `antq` package's), for status answers and trace resources."""

from __future__ import annotations

import importlib.metadata


def version() -> str:
    try:
        return importlib.metadata.version("antq")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
