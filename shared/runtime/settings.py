"""Settings base: one pydantic-settings class per service, `ANTQ_` environment prefix.

Development defaults point at the embedded servers; production refuses them."""

from __future__ import annotations

import datetime as dt
import ssl
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_MONGODB_URL = "mongodb://127.0.0.1:27017/?retryWrites=false&directConnection=true"
DEV_NATS_URL = "nats://127.0.0.1:4222"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANTQ_", extra="ignore", env_file=None)

    env: Literal["development", "production"] = "development"
    nats_url: str = DEV_NATS_URL
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_creds_file: str | None = Field(default=None, description="NATS .creds file (mounted secret)")
    nats_tls_ca_file: str | None = Field(
        default=None, description="CA that signed the NATS server's certificate (turns TLS on)"
    )
    nats_tls_cert_file: str | None = Field(default=None, description="Client certificate, if NATS asks for one")
    nats_tls_key_file: str | None = Field(default=None, description="Its key")
    mongodb_url: str = DEV_MONGODB_URL
    mongodb_db: str | None = Field(default=None, description="Database name; default antq_<service>")
    http_host: str = "127.0.0.1"
    http_port: int = 0
    declare_streams: bool = Field(default=True, description="Create/update streams at start-up")
    stream_replicas: int = 1
    duplicate_window_seconds: float = 3600.0
    upload_ttl_seconds: float = Field(
        default=86_400.0, gt=0, description="How long a file put in the antq-uploads object store is kept unattached"
    )
    uploads_max_bytes: int = Field(default=2 * 1024**3, gt=0, description="The antq-uploads object store's size")
    max_payload_bytes: int = 256 * 1024
    max_reply_bytes: int = Field(default=900_000, description="Largest query answer (NATS max_payload is 1 MB)")
    max_deliver: int = 5
    max_concurrency: int = Field(default=16, ge=1, le=60, description="Commands and queries handled at once")
    command_group_limit: int = Field(
        default=32, ge=1, le=256, description="Most commands committed in one transaction under load; 1: none grouped"
    )
    command_transactions: int = Field(default=2, ge=1, le=16, description="Command transactions at once when grouping")
    nack_delay_seconds: float = 2.0
    shutdown_grace_seconds: float = 10.0
    relay_batch: int = 256
    relay_poll_seconds: float = 1.0
    consumer_gap_deliveries: int = Field(
        default=12,
        ge=1,
        description="Deliveries an event waits for a missing earlier version of its aggregate before it is "
        "dead-lettered as `gap` (the delay doubles from nack_delay_seconds up to 30 s)",
    )
    consumer_stall_seconds: float = Field(
        default=120.0, description="/readyz turns red when a consumer with pending messages makes no progress this long"
    )
    consumer_status_seconds: float = Field(default=5.0, description="How often consumer lag and pending are read")
    consumer_transactions: int = Field(
        default=1,
        ge=1,
        le=16,
        description="A service's consumer batch transactions open at once (each pins the store's snapshot: "
        "on the embedded store, several kept open together slow every writer)",
    )
    consumer_ack_wait_seconds: float = Field(
        default=30.0,
        ge=1.0,
        description="How long the broker waits for a consumer's ack before redelivering (after a crash, "
        "unacknowledged events come back after this long)",
    )
    auth_issuer: str | None = Field(
        default=None, description="The identity provider's `iss`: commands and queries carry its JWTs"
    )
    auth_audience: str = Field(default="antq", description="The `aud` tokens must name")
    auth_jwks_file: str | None = Field(default=None, description="The issuer's public keys (JWKS JSON file)")
    auth_jwks_url: str | None = Field(default=None, description="The issuer's public keys (JWKS URL, cached)")
    auth_allow_unsigned: bool | None = Field(
        default=None,
        description="Accept commands without a token, taking the envelope's actor at its word (development "
        "only; default: yes in development, never in production)",
    )
    auth_leeway_seconds: float = Field(default=30.0, ge=0, le=300, description="Clock skew allowed on exp")
    auth_max_token_seconds: float = Field(
        default=86_400.0, gt=0, description="Longest token lifetime accepted (exp − iat)"
    )
    clock_start: dt.datetime | None = Field(
        default=None,
        description="Development and tests only: the service's clock starts at this instant (UTC) and runs from "
        "there, so a season can be replayed on its own calendar (refused in production)",
        json_schema_extra={"development_only": True},
    )
    clock_set_at: dt.datetime | None = Field(
        default=None,
        description="Development and tests only: the wall-clock instant at which the clock read ANTQ_CLOCK_START "
        "(default: the service's start), so processes started or restarted at different moments share one clock",
        json_schema_extra={"development_only": True},
    )
    otel_endpoint: str | None = Field(
        default=None,
        description="OpenTelemetry: the OTLP/HTTP traces endpoint spans are exported to (e.g. "
        "http://jaeger:4318/v1/traces); tracing is off unless this or ANTQ_OTEL_FILE is set",
    )
    otel_file: str | None = Field(
        default=None,
        description="OpenTelemetry: also write spans as JSON lines to this file ('{service}' is replaced by the "
        "service's name; `make up` writes .antq-data/traces/<service>.jsonl)",
    )
    otel_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="OpenTelemetry: the share of new traces sampled (parents decide)"
    )
    otel_memory: bool = Field(
        default=False,
        description="Tests only: keep spans in memory, readable in the process",
        json_schema_extra={"development_only": True},
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timezone: str = Field(default="Asia/Ho_Chi_Minh", description="The calendar that decides what 'today' is")

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Self:
        if self.env != "production":
            return self
        problems = []
        if self.mongodb_url == DEV_MONGODB_URL:
            problems.append("ANTQ_MONGODB_URL must be set explicitly")
        if not self.nats_creds_file and (not self.nats_user or self.nats_password is None):
            problems.append("NATS credentials (ANTQ_NATS_CREDS_FILE or ANTQ_NATS_USER/ANTQ_NATS_PASSWORD) are required")
        if not self.auth_issuer or not (self.auth_jwks_file or self.auth_jwks_url):
            problems.append("an identity provider is required: ANTQ_AUTH_ISSUER and ANTQ_AUTH_JWKS_FILE or _URL")
        if self.auth_allow_unsigned:
            problems.append("ANTQ_AUTH_ALLOW_UNSIGNED is for development only")
        if self.clock_start is not None or self.clock_set_at is not None:
            problems.append("ANTQ_CLOCK_START and ANTQ_CLOCK_SET_AT are for development and tests only")
        if self.nats_password is not None and self.nats_password.get_secret_value() in (
            "",
            "changeme",
            "antq",
        ):
            problems.append("ANTQ_NATS_PASSWORD is a default; set a real secret")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    def nats_tls(self) -> ssl.SSLContext | None:
        """The TLS context for NATS (certificates mounted as files), or None for plain connections.
        MongoDB's TLS is set in its URL (`tls=true&tlsCAFile=…`)."""
        if not self.nats_tls_ca_file and not self.nats_tls_cert_file:  # unset, or set empty (compose)
            return None
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.nats_tls_ca_file or None)
        if self.nats_tls_cert_file:
            ctx.load_cert_chain(self.nats_tls_cert_file, self.nats_tls_key_file)
        return ctx

    @property
    def unsigned_accepted(self) -> bool:
        return self.env != "production" and self.auth_allow_unsigned is not False

    def database_name(self, service: str) -> str:
        return self.mongodb_db or f"antq_{service}"
