"""Production refuses development defaults; log lines are JSON with the message's ids."""

from __future__ import annotations

import json
import logging

import pytest

from shared.runtime import logs
from shared.runtime.settings import ServiceSettings


@pytest.fixture(autouse=True)
def no_antq_environment(monkeypatch):
    """These tests are about the defaults: servers named in the environment (to run the suites
    against real ones) must not stand in for them."""
    for name in ("ANTQ_MONGODB_URL", "ANTQ_NATS_URL", "ANTQ_ENV", "ANTQ_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)


def test_production_refuses_the_development_database_and_missing_credentials():
    with pytest.raises(ValueError, match="ANTQ_MONGODB_URL must be set"):
        ServiceSettings(env="production")
    with pytest.raises(ValueError, match="default"):
        ServiceSettings(
            env="production",
            mongodb_url="mongodb://db:27017/?replicaSet=rs0",
            nats_user="registry",
            nats_password="changeme",
        )
    with pytest.raises(ValueError, match="an identity provider is required"):
        ServiceSettings(
            env="production",
            mongodb_url="mongodb://db:27017/?replicaSet=rs0",
            nats_user="registry",
            nats_password="s3cret-from-a-vault",
        )
    idp = {"auth_issuer": "https://id.hue.gov.vn", "auth_jwks_url": "https://id.hue.gov.vn/jwks"}
    with pytest.raises(ValueError, match="development only"):
        ServiceSettings(
            env="production",
            mongodb_url="mongodb://db:27017/?replicaSet=rs0",
            nats_user="registry",
            nats_password="s3cret-from-a-vault",
            auth_allow_unsigned=True,
            **idp,
        )
    ok = ServiceSettings(
        env="production",
        mongodb_url="mongodb://db:27017/?replicaSet=rs0",
        nats_user="registry",
        nats_password="s3cret-from-a-vault",
        **idp,
    )
    assert ok.database_name("registry") == "antq_registry"
    assert not ok.unsigned_accepted
    assert ServiceSettings().unsigned_accepted  # development: unsigned commands accepted (and said at start)


def test_development_defaults_point_at_the_embedded_servers():
    s = ServiceSettings()
    assert "retryWrites=false" in s.mongodb_url
    assert s.nats_url == "nats://127.0.0.1:4222"


def test_log_lines_are_json_with_correlation_and_event_ids():
    formatter = logs.JsonFormatter("registry")
    record = logging.LogRecord("antq.commands", logging.INFO, __file__, 1, "command refused", None, None)
    record.code = "forbidden"
    token_c, token_e = logs.correlation_id.set("corr-1"), logs.event_id.set("evt-1")
    try:
        line = json.loads(formatter.format(record))
    finally:
        logs.correlation_id.reset(token_c)
        logs.event_id.reset(token_e)
    assert line["service"] == "registry"
    assert line["msg"] == "command refused"
    assert (line["correlation_id"], line["event_id"], line["code"]) == ("corr-1", "evt-1", "forbidden")


def test_faststream_supervisor_noise_is_dropped_and_real_failures_kept():
    import logging

    from shared.runtime.logs import SupervisorNoise

    def record(msg: str, exc: BaseException | None = None) -> logging.LogRecord:
        return logging.LogRecord(
            "faststream.access.nats", logging.ERROR, __file__, 1, msg, None, (type(exc), exc, None) if exc else None
        )

    noise = SupervisorNoise()
    assert not noise.filter(record("callback for Task-74 is being executed..."))
    assert not noise.filter(record("Task-74 raised an exception, retrying...\nIf this…", TimeoutError()))
    assert noise.filter(record("Task-74 raised an exception, retrying...\nIf this…", RuntimeError("bug")))
    assert noise.filter(record("something else"))
