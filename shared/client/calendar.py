"""A festival calendar as an iCalendar feed (RFC 5545) that an office subscribes to: one all-day event
per festival, from registry's `festivals` query in calendar mode."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

POINT_VI = {"ministry": "của Bộ", "province": "cấp tỉnh", "district": "cấp huyện", "commune": "cấp xã"}
PRODID = "-//ANTQ festival platform//Lịch Ngày hội toàn dân bảo vệ an ninh Tổ quốc//VI"


def escape(text: str) -> str:
    """TEXT values (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines escaped."""
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Lines of at most 75 octets, continued with CRLF and a space (§3.1), never splitting a character."""
    out: list[str] = []
    current = b""
    for ch in line:
        encoded = ch.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


def event(f: Mapping[str, Any], stamp: dt.datetime) -> list[str]:
    day = dt.date.fromisoformat(str((f.get("result") or {}).get("held_on") or f["date"]))
    status = {"cancelled": "CANCELLED", "held": "CONFIRMED"}.get(f.get("status", ""), "TENTATIVE")
    title = f.get("title") or "Ngày hội toàn dân bảo vệ an ninh Tổ quốc"
    point = f" (điểm {POINT_VI.get(f['point_level'], f['point_level'])})" if f.get("point_level") else ""
    summary = f"{title} – {f.get('unit_name') or f['unit_id']}{point}"
    return [
        "BEGIN:VEVENT",
        f"UID:{f['festival_id']}@antq",
        f"DTSTAMP:{stamp.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}",
        f"DTSTART;VALUE=DATE:{day.strftime('%Y%m%d')}",
        f"DTEND;VALUE=DATE:{(day + dt.timedelta(days=1)).strftime('%Y%m%d')}",
        f"SUMMARY:{escape(summary)}",
        f"LOCATION:{escape(str(f.get('venue') or ''))}",
        f"STATUS:{status}",
        f"SEQUENCE:{int(f.get('version') or 1) - 1}",
        "END:VEVENT",
    ]


def ics(festivals: Iterable[Mapping[str, Any]], name: str, stamp: dt.datetime) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", f"X-WR-CALNAME:{escape(name)}"]
    for f in festivals:
        lines += event(f, stamp)
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
