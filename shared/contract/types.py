"""Bounded value types shared by every payload model (DESIGN §5: bounded sizes at the edge)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from shared.contract.text import nfc

MAX_PAYLOAD_BYTES = 256 * 1024


def _no_control_chars(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise ValueError("must not contain control characters")
    return value


Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"),
    Field(description="Stable identifier (letters, digits, . _ : -; at most 128 characters)."),
]
Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9.\-]+$"),
    Field(description="Official code (e.g. the statistical commune code 19753)."),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_chars),
    AfterValidator(nfc),
    Field(description="A name in Vietnamese with full diacritics, at most 200 characters."),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_no_control_chars),
    AfterValidator(nfc),
]
Flag = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Vnd = Annotated[int, Field(ge=0, le=10**13, description="Money in Vietnamese đồng (integer).")]


def _iso_day(value: object) -> object:
    """JSON dates are `YYYY-MM-DD` only: pydantic would also read "1764547200" as a Unix time."""
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("a date is written YYYY-MM-DD")
        return dt.date.fromisoformat(value)  # ValueError for 2026-02-30: refused as a date
    return value


Day = Annotated[
    dt.date,
    Field(gt=dt.date(1900, 1, 1), lt=dt.date(9999, 12, 31), description="A calendar date, ISO YYYY-MM-DD."),
    BeforeValidator(_iso_day),
]
Year = Annotated[int, Field(ge=2005, le=2100, description="Campaign year (the festival began in 2005).")]
Count = Annotated[int, Field(ge=0, le=100_000_000)]


class Model(BaseModel):
    """Base of inbound payloads: unknown fields are refused so typos surface as errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=2000)


class Fact(BaseModel):
    """Base of outbound event payloads: consumers ignore unknown fields (forward compatible)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
