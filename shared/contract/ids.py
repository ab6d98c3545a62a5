"""Identifier generation: time-ordered UUIDv7 strings for events, commands and aggregates.

Monotonic within a process so ids sort in creation order (the outbox relies on it)."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> str:
    """Return a UUIDv7 (RFC 9562) string; 12 bits of sub-millisecond counter keep it monotonic."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted within one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = 0
        rand_b = int.from_bytes(os.urandom(8), "big") & 0x3FFFFFFFFFFFFFFF
        value = (ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | _counter << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def stable_id(namespace: str, *parts: str) -> str:
    """A deterministic id (UUIDv5) for imports and replays that must be idempotent."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "antq:" + namespace + ":" + "\x1f".join(parts)))
