"""Vietnamese text at the edge: one form for one name (NFC), and a folded form for searching
without diacritics ("thuan hoa" finds "Thuận Hóa")."""

from __future__ import annotations

import unicodedata


def nfc(value: str) -> str:
    """The same name typed on two keyboards (precomposed or combining marks) is one name."""
    return unicodedata.normalize("NFC", value)


def fold(value: str) -> str:
    """Lower case, without diacritics (đ → d), single spaces: for matching, never for storing."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(bare.casefold().split())
