"""What a notification is called, per event type and language (full Vietnamese diacritics), and the
labels of the fields an email shows."""

from __future__ import annotations

TITLES: dict[str, tuple[str, str]] = {  # event type (without vn.antq. and .vN) → (vi, en)
    "registry.unit.registered": ("Đơn vị mới được đăng ký", "Unit registered"),
    "registry.unit.updated": ("Thông tin đơn vị được cập nhật", "Unit updated"),
    "registry.unit.moved": ("Đơn vị được chuyển trực thuộc", "Unit moved"),
    "registry.unit.merged": ("Các đơn vị được sáp nhập", "Units merged"),
    "registry.unit.split": ("Đơn vị được chia tách", "Unit split"),
    "registry.unit.closed": ("Đơn vị chấm dứt hoạt động", "Unit closed"),
    "registry.campaign.opened": ("Mở đợt Ngày hội toàn dân bảo vệ an ninh Tổ quốc", "Campaign opened"),
    "registry.campaign.closed": ("Kết thúc đợt Ngày hội, bắt đầu sơ kết, tổng kết", "Campaign closed"),
    "registry.festival.planned": ("Đăng ký kế hoạch tổ chức Ngày hội", "Festival planned"),
    "registry.festival.rescheduled": ("Thay đổi ngày tổ chức Ngày hội", "Festival rescheduled"),
    "registry.festival.held": ("Báo cáo kết quả tổ chức Ngày hội", "Festival held"),
    "registry.festival.cancelled": ("Hủy tổ chức Ngày hội", "Festival cancelled"),
    "registry.festival.report-accepted": (
        "Báo cáo kết quả Ngày hội được cấp trên chấp nhận",
        "Festival report accepted",
    ),
    "registry.festival.report-returned": (
        "Báo cáo kết quả Ngày hội bị cấp trên trả lại",
        "Festival report returned",
    ),
    "registry.model.registered": ("Mô hình, điển hình tiên tiến mới", "Model registered"),
    "registry.model.replicated": ("Nhân rộng mô hình", "Model replicated"),
    "registry.model.recognised": ("Mô hình được công nhận", "Model recognised"),
    "registry.model.retired": ("Mô hình dừng hoạt động", "Model retired"),
    "awards.nomination.submitted": ("Đề nghị khen thưởng được gửi", "Nomination submitted"),
    "awards.nomination.returned": ("Hồ sơ đề nghị khen thưởng bị trả lại", "Nomination returned"),
    "awards.nomination.resubmitted": ("Hồ sơ đề nghị khen thưởng được gửi lại", "Nomination resubmitted"),
    "awards.nomination.approved": ("Quyết định khen thưởng", "Nomination approved"),
    "awards.nomination.rejected": ("Đề nghị khen thưởng không được chấp thuận", "Nomination rejected"),
    "awards.award.conferred": ("Trao tặng khen thưởng", "Award conferred"),
    "awards.award.revoked": ("Thu hồi khen thưởng", "Award revoked"),
    "awards.gift.recorded": ("Tặng quà gia đình chính sách, hộ khó khăn", "Gift recorded"),
    "notifications.reminder.window-opened": ("Bắt đầu thời gian tổ chức Ngày hội", "The festival window opens"),
    "notifications.reminder.window-closing": (
        "Sắp hết thời gian tổ chức Ngày hội: đơn vị chưa đăng ký kế hoạch",
        "The festival window closes soon: units with nothing planned",
    ),
    "notifications.reminder.report-due": (
        "Sắp đến hạn báo cáo kết quả Ngày hội",
        "The report deadline is near: festivals not reported",
    ),
}

LABELS: dict[str, tuple[str, str]] = {
    "unit_id": ("Đơn vị", "Unit"),
    "scope_unit_id": ("Phạm vi", "Scope"),
    "campaign_id": ("Đợt", "Campaign"),
    "festival_id": ("Ngày hội", "Festival"),
    "year": ("Năm", "Year"),
    "date": ("Ngày tổ chức", "Date"),
    "venue": ("Địa điểm", "Venue"),
    "held_on": ("Ngày tổ chức", "Held on"),
    "participants": ("Số người tham gia", "Participants"),
    "on_time": ("Đúng thời gian", "On time"),
    "window_start": ("Bắt đầu", "Window opens"),
    "window_end": ("Kết thúc", "Window closes"),
    "report_deadline": ("Hạn báo cáo", "Report deadline"),
    "nomination_id": ("Hồ sơ", "Nomination"),
    "award_id": ("Khen thưởng", "Award"),
    "award_form": ("Hình thức", "Award form"),
    "decision_no": ("Số quyết định", "Decision no."),
    "decision_date": ("Ngày quyết định", "Decision date"),
    "reason": ("Lý do", "Reason"),
    "achievement": ("Thành tích", "Achievement"),
    "value_vnd": ("Giá trị (đồng)", "Value (VND)"),
    "amount_vnd": ("Số tiền (đồng)", "Amount (VND)"),
    "cost_vnd": ("Kinh phí (đồng)", "Cost (VND)"),
    "recipients": ("Số suất quà", "Recipients"),
    "name": ("Tên", "Name"),
    "reported_on": ("Ngày báo cáo", "Reported on"),
    "reported_on_time": ("Báo cáo đúng hạn", "Reported on time"),
    "ceremony": ("Phần lễ", "Ceremony"),
    "festival_part": ("Phần hội", "Festival part"),
    "ceremony_held": ("Đã tổ chức phần lễ", "Ceremony held"),
    "festival_part_held": ("Đã tổ chức phần hội", "Festival part held"),
    "from_date": ("Từ ngày", "From"),
    "funding_source": ("Nguồn kinh phí", "Funding source"),
    "models_launched": ("Mô hình ra mắt", "Models launched"),
    "point_level": ("Cấp chỉ đạo điểm", "Pilot level"),
    "beneficiary_kind": ("Đối tượng", "Beneficiaries"),
    "given_on": ("Ngày tặng", "Given on"),
    "conferred_on": ("Ngày trao tặng", "Conferred on"),
    "nominee": ("Đối tượng đề nghị", "Nominee"),
    "grantor": ("Cấp khen thưởng", "Grantor"),
    "decided_by": ("Cấp quyết định", "Decided by"),
    "recorded_by": ("Người ghi nhận", "Recorded by"),
    "submitted_on": ("Ngày gửi", "Submitted on"),
    "returned_on": ("Ngày trả lại", "Returned on"),
    "resubmitted_on": ("Ngày gửi lại", "Resubmitted on"),
    "note": ("Ghi chú", "Note"),
    "kind": ("Loại", "Kind"),
    "code": ("Mã", "Code"),
    "parent_id": ("Đơn vị cấp trên", "Parent unit"),
    "from_parent_id": ("Trực thuộc cũ", "Previous parent"),
    "to_parent_id": ("Trực thuộc mới", "New parent"),
    "valid_from": ("Hiệu lực từ", "Valid from"),
    "effective_date": ("Ngày hiệu lực", "Effective"),
    "closed_on": ("Ngày kết thúc", "Closed on"),
    "expected_kinds": ("Loại đơn vị phải tổ chức", "Expected kinds"),
    "exceptions": ("Ngoại lệ", "Exceptions"),
    "presented_by": ("Người trao", "Presented by"),
    "forwarded": ("Chuyển cấp trên", "Forwarded"),
    "amount_unconfirmed": ("Số tiền chưa xác nhận", "Amount unconfirmed"),
    "model_id": ("Mô hình", "Model"),
    "category": ("Lĩnh vực", "Category"),
    "launched_on": ("Ngày ra mắt", "Launched on"),
    "replicated_on": ("Ngày nhân rộng", "Replicated on"),
    "origin_unit_id": ("Đơn vị có mô hình gốc", "Origin unit"),
    "planned": ("Có kế hoạch", "Planned"),
    "items": ("Nội dung", "Items"),
    "person": ("Cá nhân", "Person"),
    "target_unit_id": ("Đơn vị sau sáp nhập", "Merged into"),
    "source_unit_id": ("Đơn vị được chia tách", "Split unit"),
    "activities": ("Hoạt động", "Activities"),
    "amount_at_most": ("Số tiền là mức tối đa", "Amount is a cap"),
    "children_moved": ("Đơn vị trực thuộc được chuyển", "Children moved"),
    "flags": ("Đặc điểm", "Flags"),
    "funding": ("Kinh phí theo nguồn", "Funding by source"),
    "gift_id": ("Quà tặng", "Gift"),
    "gifts": ("Quà tặng", "Gifts"),
    "part_unit_ids": ("Các đơn vị sau chia tách", "Parts"),
    "predecessor_ids": ("Đơn vị trước sắp xếp", "Predecessors"),
    "predecessor_relation": ("Hình thức sắp xếp", "Formed by"),
    "source_closed": ("Đơn vị cũ chấm dứt", "Source closed"),
    "source_unit_ids": ("Các đơn vị được sáp nhập", "Merged units"),
    "successor_ids": ("Đơn vị kế thừa", "Successors"),
    "target_created": ("Đơn vị mới được thành lập", "New unit formed"),
    "upper_campaign_id": ("Đợt cấp trên", "Upper campaign"),
    "accepted_on": ("Ngày chấp nhận", "Accepted on"),
    "accepted_by": ("Đơn vị chấp nhận", "Accepted by"),
    "returned_by": ("Đơn vị trả lại", "Returned by"),
    "delegates": ("Đại biểu", "Delegates"),
    "level": ("Cấp", "Level"),
    "recognised_on": ("Ngày công nhận", "Recognised on"),
    "recognised_by": ("Đơn vị ghi nhận", "Recorded by"),
    "retired_on": ("Ngày dừng", "Retired on"),
    "designated_by": ("Đơn vị chỉ đạo điểm", "Designated by"),
    "nominee_unit_name": ("Tập thể được khen", "Collective commended"),
    "successor_unit_ids": ("Đơn vị kế thừa", "Successor units"),
}


def short_type(event_type: str) -> str:
    """`vn.antq.registry.festival.held.v1` → `registry.festival.held`."""
    return event_type.removeprefix("vn.antq.").rsplit(".v", 1)[0]


def title(event_type: str, language: str) -> str:
    pair = TITLES.get(short_type(event_type))
    if pair is None:
        return short_type(event_type)
    return pair[0] if language == "vi" else pair[1]


def label(field: str, language: str) -> str:
    pair = LABELS.get(field)
    if pair is None:
        return field
    return pair[0] if language == "vi" else pair[1]
