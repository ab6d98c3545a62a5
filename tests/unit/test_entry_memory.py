"""A service gives large freed blocks back to the system (shared.runtime.entry.release_large_blocks).

glibc raises its mmap threshold to the size of each mapped block freed: after a 1 MiB block is freed, a
600 KiB block comes from the heap, where what it leaves stays in the process. Reporting holds a
province's 100 000-unit tables and rebuilds them while it runs; its peak RSS at 100 000 units was
194–200 MB against a target of < 200. Checked in a fresh interpreter (its heap as a service's starts)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
from shared.runtime.entry import release_large_blocks
FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in FIELDS]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
if sys.argv[1] == "service":
    assert release_large_blocks()
def mapped():
    return libc.mallinfo2().hblkhd
big = bytearray(1024 * 1024)
del big  # a large table freed
before = mapped()
block = bytearray(600 * 1024)
print((mapped() - before) // 1024)
"""


def mapped_kib(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_a_large_block_after_a_larger_one_was_freed_is_mapped_on_its_own():
    assert mapped_kib("plain") == 0  # the allocator's default: from the heap, kept by the process
    assert mapped_kib("service") >= 600  # a service's: mapped, and given back when freed
