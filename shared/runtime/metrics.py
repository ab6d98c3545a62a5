"""Domain metrics every service exposes on /metrics, in one registry per process.

FastStream's Prometheus middleware adds per-subject message metrics beside them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.commands = Counter(
            "antq_commands_total",
            "Commands handled, by outcome (accepted, rejected, duplicate, error) and code",
            ["service", "command", "transport", "outcome", "code"],
            registry=r,
        )
        self.command_seconds = Histogram(
            "antq_command_seconds",
            "Command handling time (request → persisted → reply)",
            ["service", "command"],
            registry=r,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.command_round_trips = Histogram(
            "antq_command_db_round_trips",
            "Database commands sent to handle one command (PyMongo command monitoring)",
            ["service", "command"],
            registry=r,
            buckets=(1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 32, 64),
        )
        self.command_groups = Histogram(
            "antq_command_group_size",
            "Commands committed in one transaction: 1 alone, more when commands waited for a running "
            "transaction and then went together (group commit)",
            ["service"],
            registry=r,
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )
        self.queries = Counter(
            "antq_queries_total", "Queries answered, by outcome", ["service", "query", "outcome"], registry=r
        )
        self.published = Counter(
            "antq_events_published_total", "Events relayed from the outbox", ["service"], registry=r
        )
        self.relay_errors = Counter("antq_relay_errors_total", "Outbox relay failures", ["service"], registry=r)
        self.undeliverable = Counter(
            "antq_outbox_undeliverable_total",
            "Events the broker kept refusing, set aside in the outbox",
            ["service"],
            registry=r,
        )
        self.outbox_pending = Gauge("antq_outbox_pending", "Events waiting in the outbox", ["service"], registry=r)
        self.dead_letters = Counter(
            "antq_dead_letters_total",
            "Messages sent to the dead-letter stream",
            ["service", "consumer", "reason"],
            registry=r,
        )
        self.redeliveries = Counter(
            "antq_nacks_total",
            "Messages nacked for a delayed redelivery",
            ["service", "consumer"],
            registry=r,
        )
        self.consumer_events = Counter(
            "antq_consumer_events_total",
            "Events a consumer handled, by outcome: processed, ignored (no handler), skipped_stale, "
            "skipped_duplicate, parked (held in memory for a missing predecessor), retried, dead_lettered",
            ["service", "consumer", "outcome"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "antq_consumer_lag",
            "The stream's last sequence minus the consumer's ack floor",
            ["service", "consumer"],
            registry=r,
        )
        self.consumer_pending = Gauge(
            "antq_consumer_pending",
            "Messages of the consumer's subjects not yet acknowledged (pending + in flight)",
            ["service", "consumer"],
            registry=r,
        )
        self.consumer_batch_seconds = Histogram(
            "antq_consumer_batch_seconds",
            "Time to apply one batch (or one event) in its transaction",
            ["service", "consumer"],
            registry=r,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.service_ready = Gauge(
            "antq_ready", "1 while the service answers /readyz with 200 (read at each scrape)", ["service"], registry=r
        )
        self.ready = Gauge(
            "antq_dependency_up", "1 when the dependency is reachable", ["service", "dependency"], registry=r
        )
        self.gc_frozen = Gauge(
            "antq_gc_frozen_objects",
            "Objects alive after start-up, left out of the cycle collector's full passes (gc.freeze)",
            ["service"],
            registry=r,
        )
