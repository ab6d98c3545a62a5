"""The CLI's table headings and titles in the province's language (Vietnamese, the default) or English
(`antq --lang en`, or ANTQ_LANG=en). Values stay as the services answer them: ids, codes, amounts."""

from __future__ import annotations

from shared.client.season_report import KIND_VI
from shared.client.season_sheets import REASON_VI
from shared.contract.registry.kinds import KIND_NAMES

LANGS = ("vi", "en")

# English heading → Vietnamese heading
HEADINGS: dict[str, str] = {
    "service": "Dịch vụ",
    "version": "Phiên bản",
    "outbox pending": "Sự kiện chờ gửi (outbox)",
    "why": "Lý do",
    "dead letters": "Thư chết",
    "messages": "Số thông điệp",
    "size": "Dung lượng",
    "consumers": "Số bộ tiêu thụ",
    "achievement": "Thành tích",
    "address": "Địa chỉ",
    "amount (VND)": "Mức tiền (đồng)",
    "attempts": "Số lần gửi",
    "award": "Khen thưởng",
    "no": "TT",
    "person": "Mã cá nhân",
    "position": "Chức vụ",
    "nominations": "Đề nghị",
    "awards": "Khen thưởng đã nhận",
    "due on": "Hạn giải quyết",
    "beneficiaries": "Đối tượng",
    "channel": "Kênh",
    "code": "Mã",
    "conferred": "Ngày trao",
    "consumer": "Bộ tiêu thụ",
    "coverage": "Tỷ lệ",
    "both parts": "Đủ hai phần",
    "created (UTC)": "Tạo lúc (UTC)",
    "date": "Ngày",
    "decided by": "Cấp quyết định",
    "decision": "Quyết định",
    "error": "Lỗi",
    "events": "Sự kiện",
    "expected": "Số đơn vị",
    "failed_at": "Lỗi lúc",
    "festival": "Ngày hội",
    "festival_id": "Mã Ngày hội",
    "flags": "Ghi chú",
    "for": "Đối tượng",
    "form": "Hình thức",
    "funding": "Nguồn kinh phí",
    "gift": "Mã quà",
    "given on": "Ngày tặng",
    "grantor": "Cấp khen",
    "held": "Đã tổ chức",
    "in force": "Hiệu lực",
    "kind": "Loại",
    "lag": "Độ trễ",
    "lang": "Ngôn ngữ",
    "last error": "Lỗi gần nhất",
    "mode": "Chế độ",
    "name": "Tên",
    "nomination": "Mã đề nghị",
    "nominee": "Người/tập thể được đề nghị",
    "on time": "Đúng hạn",
    "once": "Một lần",
    "parent": "Trực thuộc",
    "parent_id": "Mã đơn vị cấp trên",
    "participants": "Người tham gia",
    "pending": "Đang chờ",
    "planned": "Đã đăng ký",
    "point": "Điểm",
    "processed": "Đã xử lý",
    "reason": "Lý do",
    "recipient": "Người nhận",
    "recipients": "Số người nhận",
    "scope": "Phạm vi",
    "seq": "STT",
    "since progress (s)": "Từ lần tiến gần nhất (giây)",
    "state": "Tình trạng",
    "status": "Trạng thái",
    "stream": "Luồng",
    "subject": "Chủ đề",
    "submitted": "Ngày đề nghị",
    "type": "Loại sự kiện",
    "unit": "Đơn vị",
    "unit_id": "Mã định danh",
    "value (VND)": "Giá trị (đồng)",
    "venue": "Địa điểm",
    "year": "Năm",
}

KIND_EN = KIND_NAMES["en"]
REASON_EN = {
    "nothing_planned": "nothing planned",
    "one_part_only": "one part only",
    "report_returned": "report returned",
}


class Lang:
    current: str = "vi"


def heading(english: str) -> str:
    return HEADINGS.get(english, english) if Lang.current == "vi" else english


def say(en: str, vi: str) -> str:
    """A title or a line in the chosen language."""
    return vi if Lang.current == "vi" else en


def kind(value: str | None) -> str:
    table = KIND_VI if Lang.current == "vi" else KIND_EN
    return table.get(value or "", value or "")


def reason(value: str) -> str:
    return (REASON_VI if Lang.current == "vi" else REASON_EN).get(value, value)


def number(value: int | None) -> str:
    """1.234.567 in Vietnamese tables, 1,234,567 in English ones."""
    if value is None:
        return "—"
    text = f"{int(value):,}"
    return text.replace(",", ".") if Lang.current == "vi" else text


def day(iso: str) -> str:
    """dd/mm/yyyy in Vietnamese, ISO in English."""
    y, m, d = iso[:10].split("-")
    return f"{d}/{m}/{y}" if Lang.current == "vi" else iso[:10]
