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


def test_headings_are_in_the_provinces_language_with_english_on_request(monkeypatch):
    from typer.testing import CliRunner

    from shared.client.cli import app
    from shared.client.cli.words import HEADINGS, Lang

    screen = Console(width=200, record=True)
    monkeypatch.setattr(common, "console", screen)
    monkeypatch.setattr(Lang, "current", "vi")
    screen.print(common.table("nominations", COLUMNS, [ROW]))
    vi = screen.export_text(clear=True)
    assert all(HEADINGS[c] in vi for c in COLUMNS) and "achievement" not in vi
    monkeypatch.setattr(Lang, "current", "en")
    screen.print(common.table("nominations", COLUMNS, [ROW]))
    en = screen.export_text(clear=True)
    assert all(c in en for c in COLUMNS) and "Mã đề nghị" not in en and "Mức tiền" not in en
    refused = CliRunner().invoke(app, ["--lang", "fr", "dlq", "list"])
    assert refused.exit_code == 2 and "choose one of vi, en" in refused.output


def test_every_heading_the_cli_uses_has_its_vietnamese():
    """A heading without a translation would show in English in a Vietnamese table."""
    import ast
    from pathlib import Path

    from shared.client.cli.words import HEADINGS

    used: set[str] = set()
    for path in Path(common.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "table" and len(node.args) >= 2:
                columns = node.args[1]
                if isinstance(columns, ast.Name):  # `columns = (…)` assigned just before
                    continue
                used |= {e.value for e in getattr(columns, "elts", []) if isinstance(e, ast.Constant)}
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "").endswith("columns") for t in node.targets):
                used |= {e.value for e in getattr(node.value, "elts", []) if isinstance(e, ast.Constant)}
    assert used and sorted(used - set(HEADINGS)) == []
