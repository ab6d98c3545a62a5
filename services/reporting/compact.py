"""A year's summaries as reporting keeps them in memory: one `Summary` per unit, read like the document
it came from (a `Mapping`), stored as a tuple of values under a key layout that every unit with the
same fields shares.

A summary with its funding lines and a festival report's gifts took 2.1 KB as the driver's dicts (a
province of 100 000 units: 190 MB, more than the service's whole budget). Here the keys are stored
once per layout, strings that repeat (dates, funding sources, field names) once per process, and
nested lists and dicts as tuples that become plain lists and dicts again when read (a query reads a
few; the tally reads the flags and counts, which are not nested)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any

_LAYOUTS: dict[tuple[str, ...], tuple[tuple[str, ...], dict[str, int]]] = {}
_MAX_LAYOUTS = 4096  # past it a layout is not shared (keys that are data, not field names)


class _List(tuple):  # type: ignore[type-arg]
    """A stored list: read back as a list."""

    __slots__ = ()


class _Pairs(tuple):  # type: ignore[type-arg]
    """A stored dict whose keys are data (a festival's id): read back as a dict."""

    __slots__ = ()


_NO_LIST, _NO_PAIRS = _List(), _Pairs()  # shared: most summaries have no funding lines or report gifts


def _layout(keys: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    found = _LAYOUTS.get(keys)
    if found is None:
        found = (keys, {k: i for i, k in enumerate(keys)})
        if len(_LAYOUTS) < _MAX_LAYOUTS:
            _LAYOUTS[keys] = found
    return found


def _share(value: Any) -> Any:
    return sys.intern(value) if isinstance(value, str) and len(value) <= 40 else value


def freeze(value: Any, keys_are_data: frozenset[str] = frozenset()) -> Any:
    """A decoded document's value as stored here: dicts as `Summary` (or pairs, for the fields named in
    `keys_are_data`), lists as tuples, short strings shared."""
    if isinstance(value, Mapping):
        return Summary(value, keys_are_data)
    if isinstance(value, list | tuple):
        return _List(freeze(v) for v in value) if value else _NO_LIST
    return _share(value)


def thaw(value: Any) -> Any:
    """A stored value as the driver gave it: dicts and lists of their own, safe to change or encode."""
    if isinstance(value, Summary):
        return {k: thaw(v) for k, v in value._items()}
    if isinstance(value, _Pairs):
        return {k: thaw(v) for k, v in value}
    if isinstance(value, _List):
        return [thaw(v) for v in value]
    return value


class Summary(Mapping[str, Any]):
    """A document, read-only, in a quarter of the memory of a dict of dicts."""

    __slots__ = ("_layout", "_values")

    def __init__(self, doc: Mapping[str, Any], keys_are_data: frozenset[str] = frozenset()) -> None:
        keys = tuple(sys.intern(k) for k in doc)
        self._layout = _layout(keys)
        self._values = tuple(
            (_Pairs((k, freeze(v)) for k, v in doc[key].items()) if doc[key] else _NO_PAIRS)
            if key in keys_are_data and isinstance(doc[key], Mapping)
            else freeze(doc[key])
            for key in keys
        )

    def _items(self) -> Iterator[tuple[str, Any]]:
        return zip(self._layout[0], self._values, strict=True)

    def __getitem__(self, key: str) -> Any:
        i = self._layout[1].get(key)
        if i is None:
            raise KeyError(key)
        return thaw(self._values[i])

    def get(self, key: str, default: Any = None) -> Any:
        i = self._layout[1].get(key)
        return default if i is None else thaw(self._values[i])

    def __contains__(self, key: object) -> bool:
        return key in self._layout[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._layout[0])

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Summary({thaw(self)!r})"


def with_field(summary: Mapping[str, Any], key: str, value: Any) -> Summary:
    """The summary with one more field (a unit's models of the year, added after its festivals)."""
    return Summary({**summary, key: value})
