"""The festival calendar as iCalendar (RFC 5545): folded lines, escaped text, one all-day event each."""

from __future__ import annotations

import datetime as dt

from shared.client.calendar import ics

STAMP = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)


def unfold(text: str) -> list[str]:
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text[:-2].replace("\r\n ", "").split("\r\n")


def test_a_feed_of_festivals_folds_escapes_and_dates_each_as_an_all_day_event():
    name = "Tổ dân phố 1, Phường Thuận Hóa; " + "rất dài " * 12
    festivals = [
        {
            "festival_id": "f1",
            "date": "2025-08-10",
            "unit_id": "u1",
            "unit_name": name,
            "venue": "Sân",
            "status": "planned",
        },
        {
            "festival_id": "f2",
            "date": "2025-08-01",
            "result": {"held_on": "2025-08-02"},
            "unit_id": "u2",
            "venue": "Nhà văn hóa",
            "status": "held",
            "point_level": "province",
            "version": 3,
        },
        {"festival_id": "f3", "date": "2025-07-20", "unit_id": "u3", "status": "cancelled"},
    ]
    text = ics(festivals, "Lịch Huế", STAMP)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == 3
    escaped = name.replace(",", "\\,").replace(";", "\\;")
    assert f"SUMMARY:Ngày hội toàn dân bảo vệ an ninh Tổ quốc – {escaped}" in lines
    assert "DTSTART;VALUE=DATE:20250802" in lines and "DTEND;VALUE=DATE:20250803" in lines  # held on, not planned
    assert "STATUS:CONFIRMED" in lines and "STATUS:CANCELLED" in lines and "STATUS:TENTATIVE" in lines
    assert "SEQUENCE:2" in lines and "UID:f3@antq" in lines and "DTSTAMP:20261129T030000Z" in lines
    assert any(line.endswith("(điểm cấp tỉnh)") for line in lines)
