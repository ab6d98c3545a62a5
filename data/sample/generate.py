"""Generate the sample tree of Huế since 1 July 2025 (`hue-2025.csv`) from the official list.

Official: the province and its 40 commune-level units (codes, names, kinds). Illustrative (flag
`illustrative`): the hamlets / residential groups, schools, agencies and enterprises below them."""

from __future__ import annotations

import csv
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
OFFICIAL = HERE.parent / "reference" / "hue-units-2025.csv"
OUT = HERE / "hue-2025.csv"
FIELDS = ["unit_id", "code", "name", "kind", "parent_id", "valid_from", "flags"]
PROVINCE = {
    "unit_id": "hue",
    "code": "46",
    "name": "Thành phố Huế",
    "kind": "province",
    "parent_id": "",
    "valid_from": "2025-01-01",
    "flags": "",
}
KEY_AREAS = {"19753", "19789", "20137", "20044"}  # illustrative: flagged as key areas for security and order


def rows() -> list[dict[str, str]]:
    out = [PROVINCE]
    with OFFICIAL.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            code, name, kind = r["code"], r["name"], r["kind"]
            uid = f"hue-{code}"
            out.append(
                {
                    "unit_id": uid,
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "parent_id": "hue",
                    "valid_from": "2025-07-01",
                    "flags": "key_area" if code in KEY_AREAS else "",
                }
            )
            short = name.split(" ", 1)[1]
            n = 4 + zlib.crc32(code.encode()) % 5  # 4–8 per unit, stable across runs
            for i in range(1, n + 1):
                child_kind, label = ("residential_group", "Tổ dân phố") if kind == "ward" else ("hamlet", "Thôn")
                out.append(
                    {
                        "unit_id": f"{uid}-h{i:02d}",
                        "code": "",
                        "name": f"{label} {i}, {short}",
                        "kind": child_kind,
                        "parent_id": uid,
                        "valid_from": "2025-07-01",
                        "flags": "illustrative",
                    }
                )
            out.append(
                {
                    "unit_id": f"{uid}-s1",
                    "code": "",
                    "name": f"Trường Tiểu học {short}",
                    "kind": "school",
                    "parent_id": uid,
                    "valid_from": "2025-07-01",
                    "flags": "illustrative",
                }
            )
    for i, (kind, name) in enumerate(
        [
            ("agency", "Sở Văn hóa và Thể thao thành phố Huế"),
            ("agency", "Bưu điện thành phố Huế"),
            ("enterprise", "Công ty Cổ phần Dệt may Huế"),
            ("enterprise", "Cảng Chân Mây"),
            ("school", "Trường Đại học Khoa học, Đại học Huế"),
            ("school", "Trường THPT Quốc Học Huế"),
        ],
        start=1,
    ):
        out.append(
            {
                "unit_id": f"hue-x{i:02d}",
                "code": "",
                "name": name,
                "kind": kind,
                "parent_id": "hue",
                "valid_from": "2025-07-01",
                "flags": "illustrative",
            }
        )
    return out


if __name__ == "__main__":
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows())
    print(f"wrote {OUT}")  # noqa: T201
