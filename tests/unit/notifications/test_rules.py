"""Notifications' pure rules: patterns, scope, digest hours, the retry schedule, Standard Webhooks
signatures (checked against the `standardwebhooks` library), templates."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook

from services.notifications import channels, rules
from shared.contract import notifications as c

UTC = dt.UTC


def test_patterns_match_types_with_star_for_any_run():
    assert rules.matches(["vn.antq.registry.festival.*"], "vn.antq.registry.festival.held.v1")
    assert not rules.matches(["vn.antq.registry.festival.*"], "vn.antq.registry.unit.moved.v1")
    assert rules.matches(["vn.antq.*.nomination.approved.v1"], "vn.antq.awards.nomination.approved.v1")
    assert not rules.matches(["vn.antq.awards.nomination.approved.v1"], "vn.antq.awards.nomination.approved.v2")
    assert not rules.matches([], "vn.antq.registry.festival.held.v1")


@pytest.mark.parametrize("bad", ["*", "vn.antq..x", "registry.festival.*", "vn.antq.Festival", "vn.antq.a b"])
def test_a_pattern_is_one_of_our_types(bad):
    with pytest.raises(ValidationError):
        c.AddRecipient(scope_unit_id="u", events=[bad], channel="email", address="a@b.vn")


def test_addresses_are_checked_per_channel():
    c.AddRecipient(scope_unit_id="u", events=["vn.antq.*"], channel="email", address="can.bo@congan.hue.gov.vn")
    c.AddRecipient(scope_unit_id="u", events=["vn.antq.*"], channel="webhook", address="https://x.vn/hook?a=1")
    for channel, address in (
        ("email", "not-an-address"),
        ("email", "a@b"),
        ("webhook", "ftp://x.vn"),
        ("webhook", "x.vn"),
    ):
        with pytest.raises(ValidationError):
            c.AddRecipient(scope_unit_id="u", events=["vn.antq.*"], channel=channel, address=address)
    with pytest.raises(ValidationError, match="only a webhook"):
        c.AddRecipient(
            scope_unit_id="u", events=["vn.antq.*"], channel="email", address="a@b.vn", secret=rules.new_secret()
        )


def test_units_of_an_event_include_the_nominating_unit():
    assert rules.units_of({"unit_id": "g1", "festival_id": "f"}) == {"g1"}
    assert rules.units_of({"unit_id": "g1", "from_parent_id": "w1", "to_parent_id": "w2"}) == {"g1", "w1", "w2"}
    assert rules.units_of({"nominee": {"unit_id": "g1"}}, actor_unit="w") == {"g1", "w"}
    assert rules.units_of({"nomination_id": "n"}, {"nominee_unit_id": "g1", "nominating_unit_id": "w"}) == {"g1", "w"}
    # an overdue dossier reminds the granting authority's recipients too; a decision names every nominee's unit
    overdue = {"nomination_id": "n", "nominee": {"unit_id": "g1"}, "approver_unit_id": "p"}
    assert rules.units_of(overdue) == {"g1", "p"}
    decision = {
        "decided_by": {"unit_id": "w"},
        "nominations": [{"nominee": {"unit_id": "g1"}}, {"nominee": {"unit_id": "g2"}}],
    }
    assert rules.units_of(decision) == {"w", "g1", "g2"}


def test_scope_holds_an_event_when_it_is_in_an_ancestry():
    assert rules.in_scope("w", [["g1", "w", "p"]])
    assert rules.in_scope("g1", [["g1", "w", "p"]])
    assert not rules.in_scope("v", [["g1", "w", "p"], ["w", "p"]])


def test_digest_is_due_at_the_next_hour_in_hue():
    tz = "Asia/Ho_Chi_Minh"
    before = dt.datetime(2026, 8, 1, 23, 30, tzinfo=UTC)  # 06:30 on 2 Aug in Huế
    assert rules.digest_due(before, 7, tz) == dt.datetime(2026, 8, 2, 0, 0, tzinfo=UTC)
    after = dt.datetime(2026, 8, 2, 0, 0, tzinfo=UTC)  # 07:00 exactly: the next day's
    assert rules.digest_due(after, 7, tz) == dt.datetime(2026, 8, 3, 0, 0, tzinfo=UTC)


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter():
    for attempt, centre in ((1, 30), (2, 60), (3, 120), (10, 3600)):
        for _ in range(50):
            d = rules.backoff(attempt, 30, 3600)
            assert centre * 0.75 <= d <= centre * 1.25
    assert {round(rules.backoff(1, 30, 3600), 6) for _ in range(20)} != {30.0}  # jittered


def test_signatures_verify_with_the_standardwebhooks_library():
    secret = rules.new_secret()
    body = b'{"specversion":"1.0","type":"vn.antq.registry.festival.held.v1","data":{"venue":"S\xc3\xa2n"}}'
    ts = int(dt.datetime.now(UTC).timestamp())
    header = rules.sign(secret, "msg_1", ts, body)
    Webhook(secret).verify(body, {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": header})
    # and the library's own signature is ours, byte for byte
    assert Webhook(secret).sign("msg_1", dt.datetime.fromtimestamp(ts, UTC), body.decode()) == header


def test_while_rotating_both_secrets_sign():
    old, new = rules.new_secret(), rules.new_secret()
    ts = int(dt.datetime.now(UTC).timestamp())
    header = rules.signature_header([new, old], "msg_2", ts, b"{}")
    assert len(header.split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(
            b"{}", {"webhook-id": "msg_2", "webhook-timestamp": str(ts), "webhook-signature": header}
        )


def test_the_webhook_id_is_stable_per_notification():
    assert rules.webhook_id("e|r|webhook") == rules.webhook_id("e|r|webhook")
    assert rules.webhook_id("e|r|webhook") != rules.webhook_id("e|r2|webhook")


def test_email_templates_escape_html_and_keep_diacritics():
    delivery = {
        "_id": "e|r|email",
        "kind": "event",
        "event_type": "vn.antq.registry.festival.planned.v1",
        "items": [
            {
                "type": "vn.antq.registry.festival.planned.v1",
                "time": "2026-07-20T01:00:00Z",
                "data": {
                    "unit_id": "g1",
                    "venue": "<script>alert(1)</script>",
                    "date": "2026-08-10",
                    "cost_vnd": 5000000,
                },
            }
        ],
    }
    subject, text, html = channels.render(delivery, "vi", "cán bộ")
    assert subject == "Đăng ký kế hoạch tổ chức Ngày hội"
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "Ngày tổ chức: 10/08/2026" in text and "Kinh phí (đồng): 5.000.000" in text
    subject_en, text_en, _ = channels.render(delivery, "en", "officer")
    assert subject_en == "Festival planned" and "Cost (VND): 5,000,000" in text_en


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_" + "A" * 33,  # not base64 (33 characters)
        "whsec_" + "=" * 32,  # an empty key: anyone could sign
        "whsec_AAAA====AAAA" + "A" * 20,  # padding inside
        "whsec_" + base64.b64encode(b"\0" * 32).decode(),  # all zero bytes
        "whsec_" + base64.b64encode(b"k" * 16).decode(),  # 16 bytes: too short
        "whsec_" + base64.b64encode(b"k" * 66).decode(),  # 66 bytes: too long
    ],
)
def test_a_secret_is_base64_of_24_to_64_bytes(secret):
    with pytest.raises(ValidationError):
        c.AddRecipient(
            scope_unit_id="u", events=["vn.antq.*"], channel="webhook", address="https://x.vn", secret=secret
        )
    with pytest.raises(ValidationError):
        c.RotateSecret(recipient_id="r", secret=secret)


def test_a_generated_secret_is_accepted_back():
    c.RotateSecret(recipient_id="r", secret=rules.new_secret())


@pytest.mark.parametrize(
    "pattern", ["vn.antq.nosuch.thing.*", "vn.antq.registry.festivl.*", "vn.antq.registry.festival.", "vn.antq.x"]
)
def test_a_pattern_that_matches_no_type_is_refused(pattern):
    with pytest.raises(ValidationError, match="matches no event type"):
        c.AddRecipient(scope_unit_id="u", events=[pattern], channel="email", address="a@b.vn")


def test_refusals_name_the_field_at_fault():
    with pytest.raises(ValidationError) as exc:
        c.AddRecipient(scope_unit_id="u", events=["vn.antq.*"], channel="webhook", address="http://u:p@x.vn/h")
    assert [e["loc"] for e in exc.value.errors()] == [("address",)]
    with pytest.raises(ValidationError) as exc:
        c.AddRecipient(
            scope_unit_id="u", events=["vn.antq.*"], channel="email", address="a@b.vn", secret=rules.new_secret()
        )
    assert [e["loc"] for e in exc.value.errors()] == [("secret",)]


def test_emails_show_units_by_name_years_plainly_and_plans_as_lists():
    delivery = {
        "_id": "e|r|email",
        "kind": "event",
        "event_type": "vn.antq.registry.festival.planned.v1",
        "names": {"g1": "Tổ dân phố 1"},
        "items": [
            {
                "type": "vn.antq.registry.festival.planned.v1",
                "time": "2026-07-20T01:30:00Z",
                "data": {"unit_id": "g1", "year": 2026, "ceremony": {"planned": True, "items": ["chào cờ", "báo cáo"]}},
            }
        ],
    }
    _, text, _ = channels.render(delivery, "vi", "cán bộ")
    assert "Đơn vị: Tổ dân phố 1 (g1)" in text
    assert "Năm: 2026" in text
    assert "Phần lễ: Có kế hoạch: có; Nội dung: chào cờ, báo cáo" in text
    assert "Thời điểm: 20/07/2026 08:30" in text  # in Huế's time


def test_a_recipient_gets_what_happens_once_it_is_there_never_the_past():
    added = dt.datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    held = "vn.antq.registry.festival.held.v1"
    assert rules.addressed(["vn.antq.registry.festival.*"], added, held, added)  # the same instant counts
    assert rules.addressed(["vn.antq.registry.festival.*"], added, held, added + dt.timedelta(seconds=1))
    assert not rules.addressed(["vn.antq.registry.festival.*"], added, held, added - dt.timedelta(seconds=1))
    assert not rules.addressed(["vn.antq.awards.*"], added, held, added + dt.timedelta(days=1))


def test_reminders_are_scheduled_unless_their_moment_is_over_and_a_passed_day_is_due_at_once():
    start, end, deadline = dt.date(2026, 7, 1), dt.date(2026, 8, 19), dt.date(2026, 8, 25)
    assert rules.reminder_jobs(start, end, deadline, dt.date(2026, 6, 1), 3, 3) == [
        ("window_opened", start),
        ("window_closing", dt.date(2026, 8, 16)),
        ("report_due", dt.date(2026, 8, 22)),
    ]
    # opened on the window's last day: its closing reminder is due that very day, the opening one too
    assert rules.reminder_jobs(start, end, deadline, end, 3, 3) == [
        ("window_opened", end),
        ("window_closing", end),
        ("report_due", dt.date(2026, 8, 22)),
    ]
    # opened after the window: only the report reminder is left
    assert rules.reminder_jobs(start, end, deadline, dt.date(2026, 8, 20), 3, 3) == [
        ("report_due", dt.date(2026, 8, 22))
    ]
    assert rules.reminder_jobs(start, end, deadline, dt.date(2026, 8, 26), 3, 3) == []


def test_reminders_chase_what_is_missing():
    statuses = {
        "a": {"planned"},
        "b": {"held"},
        "c": {"cancelled"},
        "d": {"cancelled", "planned"},
        "f": {"returned"},
        "g": {"accepted"},
    }
    units = ["a", "b", "c", "d", "e", "f", "g"]
    # nothing planned: no festival, or only a cancelled one
    assert rules.to_chase("window_closing", units, statuses) == ["c", "e"]
    # planned and not reported held, or reported and returned by the level above
    assert rules.to_chase("report_due", units, statuses) == ["a", "d", "f"]


@pytest.mark.parametrize(
    "key",
    ["unit_id", "scope_unit_id", "parent_id", "from_parent_id", "to_parent_id", "target_unit_id", "source_unit_id"],
)
def test_every_field_that_names_a_unit_puts_the_event_in_its_scope(key):
    assert rules.units_of({key: "u1", "other": "u2"}) == {"u1"}
    assert rules.units_of({key: ""}) == set()
    assert rules.units_of({"nominee": {"unit_id": "h"}}, None, "w") == {"h", "w"}
    nomination = {"nominee_unit_id": "h", "nominating_unit_id": "w"}
    assert rules.units_of({key: "u1"}, nomination) == {"u1", "h", "w"}


def test_the_webhook_id_of_a_notification_never_changes_across_releases():
    # receivers deduplicate on it: a release that derived it differently would deliver old retries twice
    assert rules.webhook_id("evt-1") == "msg_ac9bbaa841e35a57b3c48d0bfee3bd1b"


def test_a_new_secret_is_whsec_and_32_random_bytes():
    one, two = rules.new_secret(), rules.new_secret()
    assert one.startswith("whsec_") and one != two
    assert len(base64.b64decode(one.removeprefix("whsec_"))) == 32


def test_backoff_without_jitter_is_base_doubling_from_the_first_retry_up_to_the_cap():
    assert [rules.backoff(a, 2.0, 20.0, jitter=0) for a in (0, 1, 2, 3, 4, 5)] == [2.0, 2.0, 4.0, 8.0, 16.0, 20.0]
    assert rules.backoff(1, 0.1, 20.0, jitter=0) == 0.1  # never rounded up to a floor
    spread = [rules.backoff(1, 2.0, 20.0) for _ in range(200)]
    assert all(1.5 <= d <= 2.5 for d in spread)
    assert min(spread) < 2.0 < max(spread)  # jitter both ways: retries of many sends do not line up


def test_the_local_day_and_hour_are_the_provinces_not_the_hosts():
    late = dt.datetime(2026, 11, 29, 20, 0, tzinfo=dt.UTC)  # 03:00 on 30 Nov in Huế
    assert rules.local_day(late, "Asia/Ho_Chi_Minh") == dt.date(2026, 11, 30)
    assert rules.at_hour(dt.date(2026, 11, 30), 8, "Asia/Ho_Chi_Minh") == dt.datetime(2026, 11, 30, 1, tzinfo=dt.UTC)


def test_every_event_a_recipient_may_get_has_a_title_in_both_languages():
    from services.notifications.titles import TITLES
    from shared.contract import awards as a
    from shared.contract import notifications as n
    from shared.contract import registry as r

    types = [
        f"{svc}.{agg}.{name}" for svc, events in (("registry", r.EVENTS), ("awards", a.EVENTS)) for agg, name in events
    ]
    types += [t.removeprefix("vn.antq.").rsplit(".v", 1)[0] for t in n.REMINDER_TYPES.values()]
    missing = [t for t in types if t not in TITLES]
    assert missing == []
    assert all(vi and en and vi != en for vi, en in TITLES.values())


def test_every_field_an_email_may_show_has_a_label_in_both_languages():
    from services.notifications.titles import LABELS
    from shared.contract import awards as a
    from shared.contract import registry as r

    events = [*r.EVENTS.values(), *r.NEWER_EVENTS.values(), *a.EVENTS.values()]
    missing = sorted({f for e in events for f in e.model_fields if f not in LABELS})
    assert missing == []


def test_emails_name_lineage_units_campaigns_and_festivals_and_list_bare_ids_last():
    delivery = {
        "_id": "e|r|email",
        "kind": "event",
        "event_type": "vn.antq.awards.award.conferred.v1",
        "names": {"c1": "Xã A", "n1": "Phường B", "camp": "Huế · 2025", "f1": "Phường B · 2025"},
        "items": [
            {
                "type": "vn.antq.awards.award.conferred.v1",
                "time": "2025-08-10T01:30:00Z",
                "data": {
                    "award_id": "0199-award",
                    "nomination_id": "0199-nomination",
                    "unit_id": "c1",
                    "successor_unit_ids": ["n1"],
                    "campaign_id": "camp",
                    "festival_id": "f1",
                    "conferred_on": "2025-08-10",
                },
            }
        ],
    }
    _, text, _ = channels.render(delivery, "vi", "cán bộ")
    lines = [line for line in text.splitlines() if ": " in line]
    assert "Đơn vị kế thừa: Phường B (n1)" in lines
    assert "Đợt: Huế · 2025 (camp)" in lines and "Ngày hội: Phường B · 2025 (f1)" in lines
    bare = [i for i, line in enumerate(lines) if "0199-" in line]
    named = [i for i, line in enumerate(lines) if "(" in line and "0199-" not in line]
    assert bare and named and min(bare) > max(named)  # ids with no name come after what reads as words
    assert rules.mentioned({"successor_unit_ids": ["n1"], "unit_id": "c1", "festival_id": "f1"}) == {
        "units": {"c1", "n1"},
        "campaigns": set(),
        "festivals": {"f1"},
    }
