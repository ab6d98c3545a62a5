"""The indexes each service creates, on the real store: none that another index of its collection
already serves. Every index is written on every insert and update of its collection (a projection's
bulk upserts pay for each), so one whose keys begin another's is cost with no query to show for it."""

from __future__ import annotations

import uuid

import pytest

from services.awards.app import AwardsSettings
from services.awards.app import create as awards
from services.notifications.app import NotificationsSettings
from services.notifications.app import create as notifications
from services.registry.app import RegistrySettings
from services.registry.app import create as registry
from services.reporting.app import ReportingSettings
from services.reporting.app import create as reporting
from shared.runtime.host import ServiceHost
from tests import clock

SERVICES = {
    "registry": (registry, RegistrySettings),
    "awards": (awards, AwardsSettings),
    "notifications": (notifications, NotificationsSettings),
    "reporting": (reporting, ReportingSettings),
}
PLAIN = {"v", "key", "name", "ns"}  # an index with nothing else (no unique, sparse, partial, TTL)


def redundant(indexes: list[dict]) -> list[tuple[str, str]]:
    """(index, the longer index that serves it): a plain index whose keys begin another's."""
    keys = {ix["name"]: list(ix["key"].items()) for ix in indexes}
    out = []
    for ix in indexes:
        if set(ix) - PLAIN or ix["name"] == "_id_":
            continue
        mine = keys[ix["name"]]
        for other, theirs in keys.items():
            if other != ix["name"] and len(theirs) > len(mine) and theirs[: len(mine)] == mine:
                out.append((ix["name"], other))
    return out


def built(service: str, servers) -> ServiceHost:  # type: ignore[no-untyped-def]
    """The service, wired on a database of its own (nothing started)."""
    create, settings = SERVICES[service]
    host = create(
        settings(
            nats_url=servers.nats_url,
            mongodb_url=servers.mongodb_url,
            mongodb_db=f"antq_ix_{service}_{uuid.uuid4().hex[:8]}",
            http_port=0,
            **clock.settings(),
        )
    )
    host.build()
    return host


def test_an_index_whose_keys_begin_another_is_found():
    plain = [{"v": 2, "key": {"year": 1}, "name": "year_1"}, {"v": 2, "key": {"year": 1, "_f": 1}, "name": "y_f"}]
    assert redundant(plain) == [("year_1", "y_f")]
    assert redundant([{**plain[0], "unique": True}, plain[1]]) == []


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_no_service_creates_an_index_another_of_its_indexes_serves(servers, service):
    host = built(service, servers)
    try:
        await host._ensure_indexes()
        found = {}
        for name in await host.db.list_collection_names():
            indexes = await (await host.db[name].list_indexes()).to_list()
            if redundant(indexes):
                found[name] = redundant(indexes)
        assert found == {}
    finally:
        await host.mongo.drop_database(host.db.name)
        await host.mongo.close()


async def test_reporting_drops_the_year_indexes_earlier_versions_created(servers):
    host = built("reporting", servers)
    try:
        for collection in ("unit_year", "unit_awards"):  # a database as the version before left it
            await host.db[collection].create_index([("year", 1)])
        await host._ensure_indexes()
        for collection in ("unit_year", "unit_awards"):
            names = {ix["name"] async for ix in await host.db[collection].list_indexes()}
            assert "year_1" not in names
        assert "year_1__f_1" in {ix["name"] async for ix in await host.db.unit_year.list_indexes()}
    finally:
        await host.mongo.drop_database(host.db.name)
        await host.mongo.close()
