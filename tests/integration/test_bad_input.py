"""Every class of bad input gets a clear error reply with a stable code, is counted, and the
service keeps answering. Sent with plain nats-py, as an outside producer would."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import uid

SUBJECT = "antq.cmd.registry.register-unit"


def envelope(data, **overrides):
    doc = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "tests/raw",
        "type": "vn.antq.registry.register-unit.v1",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
        "actorid": "admin-raw",
        "actorunit": "",
        "actorrole": "admin",
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


GOOD = {"name": "Thành phố Huế", "kind": "province", "valid_from": "2025-07-01"}


async def ask(admin, payload, subject=SUBJECT):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    msg = await admin.nc.request(subject, raw, timeout=5)
    return json.loads(msg.data)


@pytest.mark.parametrize(
    ("payload", "code", "phrase"),
    [
        (b"{not json", "malformed", "not valid JSON"),
        (b"\xff\xfe", "malformed", "not UTF-8"),
        (b"[1, 2, 3]", "malformed", "JSON object"),
        (envelope(GOOD, specversion="0.3"), "validation_failed", "CloudEvent"),
        (envelope(GOOD, id=None), "validation_failed", "CloudEvent"),
        (envelope(GOOD, id="x" * 129), "validation_failed", "CloudEvent"),
        (envelope(GOOD, type="vn.antq.registry.plan-festival.v1"), "validation_failed", "does not match"),
        (envelope(GOOD, actorid=None), "validation_failed", "actor"),
        (envelope(GOOD, actorrole="mayor"), "validation_failed", "actor"),
        (envelope(GOOD, actorrole="officer", actorunit=""), "validation_failed", "actor"),
        (envelope({**GOOD, "kind": "galaxy"}), "validation_failed", "data.kind"),
        (envelope({**GOOD, "valid_from": "2025-02-30"}), "validation_failed", "data.valid_from"),
        (envelope({**GOOD, "valid_from": 20250701}), "validation_failed", "data.valid_from"),
        (envelope({**GOOD, "name": "x" * 201}), "validation_failed", "data.name"),
        (envelope({**GOOD, "name": 42}), "validation_failed", "data.name"),
        (envelope({**GOOD, "colour": "red"}), "validation_failed", "data.colour"),
        (envelope({**GOOD, "flags": ["Not A Flag"]}), "validation_failed", "data.flags"),
        (
            envelope({"name": "Xã", "kind": "commune", "parent_id": "no-such-unit", "valid_from": "2025-07-01"}),
            "not_found",
            "no-such-unit",
        ),
        (envelope({"name": "Xã", "kind": "commune", "valid_from": "2025-07-01"}), "validation_failed", "parent_id"),
    ],
)
async def test_bad_input_gets_a_clear_error_reply(admin, payload, code, phrase):
    reply = await ask(admin, payload)
    assert reply["ok"] is False
    assert reply["error"]["code"] == code
    text = reply["error"]["message"] + json.dumps(reply["error"]["details"], ensure_ascii=False)
    assert phrase in text


async def test_oversize_payload_is_refused_and_the_service_keeps_answering(admin):
    reply = await ask(admin, envelope({**GOOD, "pad": "x" * 300_000}))
    assert reply["error"]["code"] == "payload_too_large"
    ok = await ask(admin, envelope({**GOOD, "unit_id": uid("p")}))
    assert ok["ok"] is True


async def test_bad_queries_get_error_replies(admin):
    assert (await ask(admin, b"{", "antq.query.registry.unit"))["error"]["code"] == "malformed"
    for empty in (b"", b"  \n"):  # no body at all is not an object with missing fields
        assert (await ask(admin, empty, "antq.query.registry.units"))["error"]["code"] == "malformed"
    assert (await ask(admin, {"unit_id": "nope"}, "antq.query.registry.unit"))["error"]["code"] == "not_found"
    assert (await ask(admin, {"limit": -1}, "antq.query.registry.units"))["error"]["code"] == "validation_failed"
    assert (await ask(admin, {"year": 2025}, "antq.query.registry.campaign"))["error"]["code"] == "validation_failed"


async def test_refusals_are_counted_in_metrics(admin, registry):
    labels = {
        "code": "malformed",
        "command": "register-unit",
        "outcome": "rejected",
        "service": "registry",
        "transport": "request",
    }

    async def count() -> float:  # read from /metrics, as Prometheus would
        url = f"http://127.0.0.1:{registry.http.port}/metrics"
        text = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "antq_commands_total" and sample.labels == labels:
                    return float(sample.value)
        return 0.0

    before = await count()
    await ask(admin, b"{broken")
    await ask(admin, b"{broken")
    assert await count() == before + 2


async def test_text_that_is_not_valid_unicode_is_bad_input_answered_with_the_command_id(admin):
    command_id = str(uuid.uuid4())
    escaped = json.dumps(envelope({"name": "\ud800", "kind": "province", "valid_from": "2025-01-01"}, id=command_id))
    reply = await ask(admin, escaped.encode())  # a lone surrogate, escaped in valid JSON
    assert reply["error"]["code"] == "validation_failed"
    assert reply["id"] == command_id
    assert reply["error"]["details"][0]["field"] == "data.name"
    raw = envelope({"name": "Tỉnh", "kind": "province", "valid_from": "2025-01-01"}, id=command_id)
    not_utf8 = json.dumps(raw, ensure_ascii=False).encode().replace("Tỉnh".encode(), b"T\xe1\xbb")
    reply = await ask(admin, not_utf8)
    assert reply["error"]["code"] == "malformed"
    assert reply["id"] == command_id
