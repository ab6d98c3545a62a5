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
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

_LAYOUTS: dict[tuple[str, ...], tuple[tuple[str, ...], dict[str, int]]] = {}
_MAX_LAYOUTS = 4096  # past it a layout is not shared (keys that are data, not field names)


class _List(tuple):  # type: ignore[type-arg]
    """A stored list: read back as a list."""

    __slots__ = ()


class _Pairs(tuple):  # type: ignore[type-arg]
    """A stored dict whose keys are data (a festival's id): read back as a dict."""

    __slots__ = ()


class _Table(tuple):  # type: ignore[type-arg]
    """A stored list of dicts with the same keys (a festival's funding lines): the keys once, then each
    dict's values, flat. Read back as a list of dicts."""

    __slots__ = ()


class _Keyed(tuple):  # type: ignore[type-arg]
    """A stored dict whose keys are data and whose values are dicts with the same keys (a report's gifts
    by festival): those keys once, then each key and its dict's values, flat. Read back as a dict."""

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


def _same_keys(maps: Iterable[Any]) -> tuple[str, ...] | None:
    """The keys every one of `maps` has, in the same order; None if one is not a dict or differs."""
    first: tuple[str, ...] | None = None
    for m in maps:
        if not isinstance(m, Mapping):
            return None
        keys = tuple(m)
        if first is None:
            first = _layout(tuple(sys.intern(k) for k in keys))[0]
        elif keys != first:
            return None
    return first or None


def freeze(value: Any, keys_are_data: frozenset[str] = frozenset()) -> Any:
    """A decoded document's value as stored here: dicts as `Summary` (or pairs, for the fields named in
    `keys_are_data`), lists as tuples (of dicts with the same keys, as one flat `_Table`: 136 bytes
    for two funding lines where two summaries in a tuple took 253), short strings shared."""
    if isinstance(value, Mapping):
        return Summary(value, keys_are_data)
    if isinstance(value, list | tuple):
        if not value:
            return _NO_LIST
        if (keys := _same_keys(value)) is not None:
            return _Table((keys, *(freeze(m[k]) for m in value for k in keys)))
        return _List(freeze(v) for v in value)
    return _share(value)


def _by_key(value: Mapping[str, Any]) -> tuple[Any, ...]:
    """A dict whose keys are data, as stored: `_Keyed` when its values share their keys, else pairs."""
    if not value:
        return _NO_PAIRS
    if (keys := _same_keys(value.values())) is not None:
        return _Keyed((keys, *(x for k, m in value.items() for x in (k, *(freeze(m[f]) for f in keys)))))
    return _Pairs((k, freeze(v)) for k, v in value.items())


def thaw(value: Any) -> Any:
    """A stored value as the driver gave it: dicts and lists of their own, safe to change or encode."""
    if isinstance(value, Summary):
        return {k: thaw(v) for k, v in value._items()}
    if isinstance(value, _Pairs):
        return {k: thaw(v) for k, v in value}
    if isinstance(value, _List):
        return [thaw(v) for v in value]
    if isinstance(value, _Table):
        keys, n = value[0], len(value[0])
        return [{k: thaw(v) for k, v in zip(keys, value[i : i + n], strict=True)} for i in range(1, len(value), n)]
    if isinstance(value, _Keyed):
        keys, n = value[0], len(value[0]) + 1
        return {
            value[i]: {k: thaw(v) for k, v in zip(keys, value[i + 1 : i + n], strict=True)}
            for i in range(1, len(value), n)
        }
    return value


class Summary(Mapping[str, Any]):
    """A document, read-only, in a quarter of the memory of a dict of dicts."""

    __slots__ = ("_layout", "_values")

    def __init__(self, doc: Mapping[str, Any], keys_are_data: frozenset[str] = frozenset()) -> None:
        keys = tuple(sys.intern(k) for k in doc)
        self._layout = _layout(keys)
        self._values = tuple(
            _by_key(doc[key]) if key in keys_are_data and isinstance(doc[key], Mapping) else freeze(doc[key])
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
