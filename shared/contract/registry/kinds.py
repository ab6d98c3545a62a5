"""The vocabulary of registry's contract: unit kinds and the levels of the tree, point levels, flags."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field

from shared.contract.types import Flag

UnitKind = Literal[
    "province",
    "district",
    "commune",
    "ward",
    "special_zone",
    "township",
    "hamlet",
    "residential_group",
    "agency",
    "enterprise",
    "school",
]
# The kinds of each level of the tree (DESIGN §2), named once for every service and client.
COMMUNE_LEVEL: tuple[UnitKind, ...] = ("commune", "ward", "special_zone", "township")  # thị trấn: before 1 Jul 2025
HAMLET_LEVEL: tuple[UnitKind, ...] = ("hamlet", "residential_group")
ATTACHED: tuple[UnitKind, ...] = ("agency", "enterprise", "school")  # attached to a territorial unit
# Who holds a festival when a campaign's `expected_kinds` says nothing: every kind below district.
DEFAULT_EXPECTED_KINDS: frozenset[str] = frozenset(get_args(UnitKind)) - {"province", "district"}
# What people call each kind, in the province's language and in English (reports, the board, the CLI).
KIND_NAMES: dict[str, dict[str, str]] = {
    "vi": {
        "province": "Tỉnh, thành phố",
        "district": "Huyện, quận, thị xã",
        "commune": "Xã",
        "ward": "Phường",
        "special_zone": "Đặc khu",
        "township": "Thị trấn",
        "hamlet": "Thôn, ấp",
        "residential_group": "Tổ dân phố",
        "agency": "Cơ quan",
        "enterprise": "Doanh nghiệp",
        "school": "Trường học",
    },
    "en": {
        "province": "Province",
        "district": "District",
        "commune": "Commune",
        "ward": "Ward",
        "special_zone": "Special zone",
        "township": "Township",
        "hamlet": "Hamlet",
        "residential_group": "Residential group",
        "agency": "Agency",
        "enterprise": "Enterprise",
        "school": "School",
    },
}
ModelLevel = Literal["commune", "district", "province", "ministry"]  # who recognises a model (công nhận)
ModelState = Literal["proposed", "recognised", "retired"]
PointLevel = Literal["ministry", "province", "district", "commune"]  # district: trees before 1 Jul 2025
Flags = Annotated[list[Flag], Field(max_length=20, description="e.g. key_area (địa bàn trọng điểm), illustrative")]
