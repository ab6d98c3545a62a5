"""Tables keep what the reader must type next: ids, codes, amounts and dates are never cut, at 80
columns or at 160; long text folds, or, when even the whole columns do not fit, each row becomes a block."""

from __future__ import annotations

import pytest
from rich.console import Console

from shared.client.cli import common

ROW = (
    "01a2496b-3a9c-7000-994c-1979c02a8b36",
    "Nguyễn Văn An",
    "hue-19753-h01",
    "giay_khen_chu_tich_ubnd_xa",
    "2.500.000",
    "Thành tích xuất sắc trong phong trào toàn dân bảo vệ an ninh Tổ quốc năm 2025, được Ban Chỉ đạo ghi nhận",
)
COLUMNS = ("nomination", "nominee", "unit", "form", "amount (VND)", "achievement")


@pytest.mark.parametrize("width", [60, 80, 120, 160])
def test_ids_codes_and_amounts_are_whole_at_any_width(monkeypatch, width):
    screen = Console(width=width, record=True)
    monkeypatch.setattr(common, "console", screen)
    screen.print(common.table("nominations", COLUMNS, [ROW, ROW]))
    text = screen.export_text()
    for whole in (ROW[0], ROW[2], ROW[3], ROW[4]):
        assert text.count(whole) == 2, (width, text)
    words = " ".join(text.replace("│", " ").split())
    assert "xuất sắc" in words and "…" not in text  # text folds, never ends in an ellipsis


def test_json_prints_a_listings_answer(monkeypatch):
    from shared.client import Reply

    screen = Console(width=80, record=True)
    monkeypatch.setattr(common, "console", screen)
    monkeypatch.setattr(common.Opts, "json", True)
    with pytest.raises(common.typer.Exit):
        common.listing(Reply(ok=True, id="x", result={"items": [{"id": "a"}]}, error=None))
    assert '"items"' in screen.export_text()
