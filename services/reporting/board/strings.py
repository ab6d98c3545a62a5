"""The season board's words, in Vietnamese (the province's language, the default) and English."""

from __future__ import annotations

from typing import Any

from shared.contract.registry.kinds import KIND_NAMES

LANGS = ("vi", "en")

WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Ngày hội toàn dân bảo vệ an ninh Tổ quốc",
        "board": "Bảng theo dõi mùa Ngày hội",
        "season": "Năm",
        "tree_date": "Theo cây đơn vị ngày",
        "live": "Cập nhật trực tiếp",
        "offline": "Mất kết nối, đang thử lại…",
        "coverage": "Tỷ lệ tổ chức",
        "units_held": "Đơn vị đã tổ chức",
        "units_total": "Đơn vị phải tổ chức",
        "units_planned": "Đã đăng ký",
        "units_held_on_time": "Tổ chức đúng thời gian",
        "units_reported_on_time": "Báo cáo đúng hạn",
        "units_held_both_parts": "Đủ hai phần (lễ và hội)",
        "units_accepted": "Báo cáo được chấp nhận",
        "participants": "Lượt người tham gia",
        "cost_vnd": "Kinh phí (triệu đồng)",
        "models": "Mô hình: đăng ký / công nhận / nhân rộng",
        "previous_year": "Năm trước",
        "below": "Đơn vị trực thuộc",
        "unit": "Đơn vị",
        "kind": "Loại",
        "none_below": "Không có đơn vị trực thuộc.",
        "missing": "Đơn vị chưa hoàn thành",
        "missing_none": "Không còn đơn vị nào chưa hoàn thành.",
        "missing_more": "và {n} đơn vị khác",
        "missing_forbidden": "Danh sách đơn vị chỉ dành cho cán bộ của đơn vị này hoặc cấp trên.",
        "reason": "Lý do",
        "reason_nothing_planned": "Chưa đăng ký, chưa tổ chức",
        "reason_one_part_only": "Chỉ tổ chức một phần",
        "reason_report_returned": "Báo cáo bị trả lại",
        "calendar": "Lịch Ngày hội",
        "calendar_none": "Chưa có Ngày hội nào trong lịch.",
        "calendar_unavailable": "Không lấy được lịch từ dịch vụ đăng ký.",
        "date": "Ngày",
        "venue": "Địa điểm",
        "status": "Trạng thái",
        "status_planned": "Đã đăng ký",
        "status_held": "Đã tổ chức",
        "status_cancelled": "Đã hủy",
        "awards": "Khen thưởng",
        "nominations": "Đề nghị khen thưởng",
        "awards_count": "Khen thưởng còn hiệu lực",
        "awards_amount": "Tiền thưởng (đồng)",
        "gifts": "Thăm hỏi, tặng quà",
        "gift_entries": "Lượt tặng quà",
        "gift_recipients": "Người nhận",
        "gift_value": "Giá trị (đồng)",
        "seasons": "Các kế hoạch của năm",
        "seasons_none": "Chưa có kế hoạch nào cho năm này.",
        "tree": "Cây đơn vị",
        "window": "Thời gian",
        "deadline": "Hạn báo cáo",
        "closed": "Đã tổng kết",
        "open": "Đang diễn ra",
        "login": "Đăng nhập",
        "login_help": "Dán mã truy cập (JWT) do hệ thống định danh cấp. Bảng chỉ đọc, theo phạm vi của mã.",
        "token": "Mã truy cập",
        "logout": "Đăng xuất",
        "error": "Không hiển thị được",
        "up": "Lên cấp trên",
        "home": "Trang đầu",
        "language": "English",
        "not_ready": "Dịch vụ đang khởi động, vui lòng tải lại sau giây lát.",
        "bad_year": "Năm không hợp lệ: từ 2005 (năm đầu tiên tổ chức Ngày hội) đến 2100.",
        "error_not_found": "Không tìm thấy trong số liệu báo cáo (đơn vị chưa có, hoặc chưa được cập nhật).",
        "error_forbidden": "Bạn không có quyền xem nội dung này.",
        "error_validation_failed": "Tham số không hợp lệ",
        "error_rule_violation": "Không hiển thị được với tham số này",
        "error_unavailable": "Dịch vụ tạm thời không trả lời, vui lòng thử lại.",
        "detail": "Chi tiết",
        "missing_all": "Xem tất cả",
        "calendar_forbidden": "Lịch chỉ dành cho cán bộ của đơn vị này hoặc cấp trên.",
        "calendar_more": "Chỉ hiện {n} Ngày hội đầu tiên: xem đơn vị cấp dưới, "
        "hoặc tải lịch bằng antq registry calendar --ics.",
        "status_upcoming": "Sắp diễn ra",
        "status_running": "Đang diễn ra",
        "status_over": "Đã hết thời gian tổ chức",
        "no_data": "chưa có số liệu",
        "static": "Số liệu theo ngày đã chọn",
    },
    "en": {
        "title": "All-People's Festival for Protecting National Security",
        "board": "Season board",
        "season": "Year",
        "tree_date": "On the unit tree of",
        "live": "Live",
        "offline": "Disconnected, retrying…",
        "coverage": "Coverage",
        "units_held": "Units held",
        "units_total": "Units expected",
        "units_planned": "Planned",
        "units_held_on_time": "Held on time",
        "units_reported_on_time": "Reported on time",
        "units_held_both_parts": "Both parts held",
        "units_accepted": "Reports accepted",
        "participants": "Participants",
        "cost_vnd": "Cost (million VND)",
        "models": "Models: registered / recognised / replicated",
        "previous_year": "Year before",
        "below": "Units below",
        "unit": "Unit",
        "kind": "Kind",
        "none_below": "No units below.",
        "missing": "Units still missing",
        "missing_none": "No unit is missing.",
        "missing_more": "and {n} more",
        "missing_forbidden": "The list of units is for officers of this unit or above.",
        "reason": "Reason",
        "reason_nothing_planned": "Nothing planned or held",
        "reason_one_part_only": "Held one part only",
        "reason_report_returned": "Report returned",
        "calendar": "Festival calendar",
        "calendar_none": "No festival on the calendar yet.",
        "calendar_unavailable": "The calendar could not be read from registry.",
        "date": "Date",
        "venue": "Venue",
        "status": "Status",
        "status_planned": "Planned",
        "status_held": "Held",
        "status_cancelled": "Cancelled",
        "awards": "Awards",
        "nominations": "Nominations",
        "awards_count": "Awards standing",
        "awards_amount": "Award money (VND)",
        "gifts": "Gifts and visits",
        "gift_entries": "Gifts",
        "gift_recipients": "Recipients",
        "gift_value": "Value (VND)",
        "seasons": "The year's campaigns",
        "seasons_none": "No campaign for this year yet.",
        "tree": "The unit tree",
        "window": "Window",
        "deadline": "Report deadline",
        "closed": "Closed",
        "open": "Open",
        "login": "Sign in",
        "login_help": "Paste the access token (JWT) from the identity provider. The board is read-only, "
        "scoped to the token.",
        "token": "Access token",
        "logout": "Sign out",
        "error": "Cannot show this",
        "up": "Up one level",
        "home": "Home",
        "language": "Tiếng Việt",
        "not_ready": "The service is starting; reload in a moment.",
        "bad_year": "Not a valid year: from 2005 (the first festival) to 2100.",
        "error_not_found": "Not in reporting's figures (no such unit, or not known yet).",
        "error_forbidden": "You may not read this.",
        "error_validation_failed": "Invalid parameters",
        "error_rule_violation": "Cannot be shown for these parameters",
        "error_unavailable": "The service does not answer for now; try again.",
        "detail": "Detail",
        "missing_all": "Show all",
        "calendar_forbidden": "The calendar is for officers of this unit or above.",
        "calendar_more": "Only the first {n} festivals are shown: drill down, or get the whole calendar with "
        "antq registry calendar --ics.",
        "status_upcoming": "Upcoming",
        "status_running": "Under way",
        "status_over": "Window over",
        "no_data": "no data",
        "static": "Figures of the chosen date",
    },
}

KINDS = KIND_NAMES


def words(lang: str) -> dict[str, Any]:
    return {**WORDS[lang], "kinds": KINDS[lang]}


def number(value: int | float, lang: str) -> str:
    """1.234.567 in Vietnamese, 1,234,567 in English."""
    text = f"{int(value):,}"
    return text.replace(",", ".") if lang == "vi" else text


def millions(value: int | float, lang: str) -> str:
    """An amount in millions of đồng, as the office's reports write it: 1.966,5 (vi), 1,966.5 (en)."""
    text = f"{value / 1_000_000:,.1f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "vi" else text


def percent(value: float, lang: str) -> str:
    text = f"{value * 100:.1f}"
    return (text.replace(".", ",") if lang == "vi" else text) + " %"


def day(iso: str | None, lang: str) -> str:
    if not iso:
        return "—"
    y, m, d = iso[:10].split("-")
    return f"{d}/{m}/{y}" if lang == "vi" else f"{y}-{m}-{d}"
