"""The envelope and ids: UUIDv7 order, parse errors with stable codes."""

from __future__ import annotations

import json

import pytest

from shared.contract.envelope import parse_envelope
from shared.contract.errors import MalformedMessage, PayloadTooLarge, ValidationFailed
from shared.contract.ids import stable_id, uuid7


def test_uuid7_is_version_7_and_strictly_increasing():
    ids = [uuid7() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i[14] == "7" for i in ids)


def test_stable_ids_are_deterministic():
    assert stable_id("x", "a", "b") == stable_id("x", "a", "b") != stable_id("x", "ab")


@pytest.mark.parametrize(
    ("raw", "exc"),
    [
        (b"nope", MalformedMessage),
        (b"42", MalformedMessage),
        (b"{}", ValidationFailed),
        (b"x" * 300_000, PayloadTooLarge),
    ],
)
def test_bad_envelopes_raise_validation_errors(raw, exc):
    with pytest.raises(exc):
        parse_envelope(raw)


def test_time_must_carry_a_timezone():
    doc = {
        "specversion": "1.0",
        "id": "1",
        "source": "s",
        "type": "vn.antq.registry.register-unit.v1",
        "time": "2025-07-01T00:00:00",
    }
    with pytest.raises(ValidationFailed):
        parse_envelope(json.dumps(doc).encode())


def test_a_huge_number_is_malformed_with_a_message_for_the_sender():

    from shared.contract.envelope import read_json
    from shared.contract.errors import MalformedMessage

    with pytest.raises(MalformedMessage, match="more than 4300 digits") as e:
        read_json(b'{"a": ' + b"9" * 5000 + b"}", 10**6)
    assert "set_int_max_str_digits" not in e.value.message


@pytest.mark.parametrize("attr", ["actorid", "actorunit", "correlationid", "causationid", "subject"])
@pytest.mark.parametrize("control", ["\t", "\n", "\r", "\x00", "\x1b", "\x7f"])
def test_an_attribute_with_a_control_character_is_refused(attr, control):
    """A tab or a newline in an actor id would split log lines and audit rows: refused (a compatible
    tightening: no valid id ever held one)."""
    doc = {"specversion": "1.0", "id": "1", "source": "s", "type": "vn.antq.registry.register-unit.v1"}
    with pytest.raises(ValidationFailed) as e:
        parse_envelope(json.dumps({**doc, attr: f"officer{control}7"}).encode())
    assert attr in json.dumps(e.value.details)
    assert parse_envelope(json.dumps({**doc, attr: "Cán bộ Nguyễn Văn A"}).encode())
