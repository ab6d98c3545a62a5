"""Awards' contract: the kinds and value types its commands, events and queries share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

SERVICE = "awards"

NomineeKind = Literal["collective", "individual"]
GrantingLevel = Literal["commune", "district", "province", "provincial_agency", "provincial_police", "outside"]
NominationStatus = Literal["submitted", "returned", "resubmitted", "approved", "rejected"]
AwardStatus = Literal["approved", "conferred", "revoked"]
BeneficiaryKind = Literal[
    "policy_family",
    "martyr_family",
    "force_member_family_in_hardship",
    "poor_household",
    "outstanding_collective",
    "outstanding_individual",
    "other",
]  # the seed plan: đối tượng chính sách, tập thể / cá nhân có thành tích xuất sắc, gia đình cán bộ, chiến sĩ khó khăn
FormCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,79}$", description="An award form code (`rules` query).")]
DecisionNo = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$", description="e.g. 1234/QĐ-UBND")
]
AttachmentKind = Literal["to_trinh", "bao_cao_thanh_tich", "bien_ban", "bien_ban_hoi_dong", "photo", "other"]
# tờ trình, báo cáo thành tích, biên bản họp, biên bản của Hội đồng Thi đua – Khen thưởng, ảnh, khác
MEDIA_TYPES: dict[str, str] = {  # the allow-list: media type → what it is
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
}
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="The file's SHA-256, 64 lowercase hex digits.")]
