"""Pages of reporting's listings: a cursor is an item of the list (the unit id of its last row), as
everywhere on the bus."""

from __future__ import annotations

import bisect

from shared.contract import reporting as c
from shared.contract.errors import NotFound


def children_page(
    rows: list[c.Breakdown], limit: int | None, after: str | None
) -> tuple[list[c.Breakdown], str | None]:
    """A page of a breakdown (children by unit id) and the cursor of the next, None after the last."""
    if after is not None:
        if not any(r.unit_id == after for r in rows):
            raise NotFound(
                f"the cursor {after} is not a child of this scope",
                [{"field": "breakdown_after", "value": after, "rule": "cursor"}],
            )
        rows = [r for r in rows if r.unit_id > after]
    if limit is None or len(rows) <= limit:
        return rows, None
    return rows[:limit], rows[limit - 1].unit_id


def ids_page(ids: list[str], limit: int, after: str | None) -> tuple[list[str], str | None]:
    """A page of a list of unit ids in order, after the cursor (an item of the list), and the cursor of
    the next page, None after the last."""
    if after is not None:
        i = bisect.bisect_left(ids, after)
        if i == len(ids) or ids[i] != after:
            raise NotFound(
                f"the cursor {after} is not an item of this list",
                [{"field": "after", "value": after, "rule": "cursor"}],
            )
        ids = ids[i + 1 :]
    page = ids[:limit]
    return page, page[-1] if len(ids) > limit else None
