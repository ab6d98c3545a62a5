"""Generate the sample of Huế from the official reference files: the tree as of 30 Jun 2025 and the
illustrative units below the 40 commune-level units formed on 1 Jul 2025.

- `hue-2025-06-30.csv`: the province, its 9 district-level units and 133 commune-level units, with
  the official codes and names of the lineage file (cut-off before QĐ 19/2025). Their start date is
  not official: flag `illustrative_date` (1 Jan 2024, so that a 2024 campaign has a tree). The tree
  before 1 Jul 2025 is **illustrative**: it has the shape of the first half of 2025 all the way back
  (for example "Thành phố Huế" already in 2024, while the reference dates the city status to
  1 Jan 2025), and it is not the 141-unit tree of 2023, which is not invented here. Phường Dương Nỗ
  starts on 1 Jan 2025 (NQ 1314), official.
- The reform of 1 Jul 2025 is not a file here: `antq registry reform` applies it from
  `data/reference/hue-units-2025-lineage.csv` and `hue-units-2025.csv` (merges into the 40 units,
  whose ids are `hue-<code>`, and the end of the district level).
- `hue-2025.csv`: residential groups, hamlets, schools, agencies and enterprises below the 40 units
  and the city, from 1 Jul 2025, all invented: flag `illustrative`."""

from __future__ import annotations

import csv
import re
import unicodedata
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "reference"
NEW_UNITS = REFERENCE / "hue-units-2025.csv"
LINEAGE = REFERENCE / "hue-units-2025-lineage.csv"
OLD_TREE = HERE / "hue-2025-06-30.csv"
BELOW = HERE / "hue-2025.csv"
FIELDS = ["unit_id", "code", "name", "kind", "parent_id", "valid_from", "flags"]
OLD_START = "2024-01-01"
PROVINCE = {
    "unit_id": "hue",
    "code": "",  # the reference gives no province code: none is invented
    "name": "Thành phố Huế",
    "kind": "province",
    "parent_id": "",
    "valid_from": OLD_START,
    "flags": "illustrative_date",
}
CONTINUING = {"19909": "2025-01-01"}  # Phường Dương Nỗ: formed on 1 Jan 2025, not rearranged on 1 Jul


def slug(name: str) -> str:
    bare = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in bare if unicodedata.category(ch) != "Mn").lower()
    return re.sub(r"[^a-z0-9]+", "-", bare).strip("-")


def old_kind(name: str) -> str:
    for prefix, kind in (("Phường ", "ward"), ("Thị trấn ", "township"), ("Xã ", "commune")):
        if name.startswith(prefix):
            return kind
    raise ValueError(f"no commune-level kind for {name!r}")


def old_id(code: str) -> str:
    """Old units keep `hue-old-<code>`; a unit that continues into the new tree has its new id."""
    return f"hue-{code}" if code in CONTINUING else f"hue-old-{code}"


def old_tree() -> list[dict[str, str]]:
    lineage = list(csv.DictReader(LINEAGE.open(encoding="utf-8")))
    out = [PROVINCE]
    for district in sorted({r["old_district_2025H1"] for r in lineage}):
        out.append(
            {
                "unit_id": f"hue-d-{slug(district)}",
                "code": "",
                "name": district,
                "kind": "district",
                "parent_id": "hue",
                "valid_from": OLD_START,
                "flags": "illustrative_date",
            }
        )
    for r in lineage:
        start = CONTINUING.get(r["old_code"], OLD_START)
        out.append(
            {
                "unit_id": old_id(r["old_code"]),
                "code": r["old_code"],
                "name": r["old_name"],
                "kind": old_kind(r["old_name"]),
                "parent_id": f"hue-d-{slug(r['old_district_2025H1'])}",
                "valid_from": start,
                "flags": "" if r["old_code"] in CONTINUING else "illustrative_date",
            }
        )
    return out


def below() -> list[dict[str, str]]:
    out = []
    with NEW_UNITS.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            code, name, kind = r["code"], r["name"], r["kind"]
            uid = f"hue-{code}"
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


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    write(OLD_TREE, old_tree())
    write(BELOW, below())
    print(f"wrote {OLD_TREE} and {BELOW}")  # noqa: T201
