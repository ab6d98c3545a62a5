"""Where a webhook may go: public addresses only, unless an operator allow-lists a network; https in
production; loopback in development (the local receiver). Addresses here are strings: nothing is sent."""

from __future__ import annotations

import pytest

from services.notifications import egress
from shared.contract.errors import RuleViolation, ValidationFailed

PROD = egress.Policy.of([], production=True)
DEV = egress.Policy.of([], production=False)
GLOBAL = "1.1.1.1"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "::1",
        "10.1.2.3",  # private
        "172.16.0.9",
        "192.168.1.20",
        "fc00::5",
        "169.254.169.254",  # link-local (a cloud's metadata service)
        "fe80::1%eth0",
        "100.64.0.1",  # shared (carrier-grade NAT)
        "224.0.0.1",  # multicast
        "ff02::1",
        "240.0.0.1",  # reserved
        "0.0.0.0",
        "::ffff:10.0.0.1",  # an IPv4-mapped private address
        "2002:a00:5::",  # 6to4 of 10.0.0.5
        "2001:0:4136:e378:8000:63bf:f5ff:fffa",  # Teredo whose client is 10.0.0.5 (stored inverted)
    ],
)
def test_production_refuses_every_address_that_is_not_public(address):
    reason = egress.refusal("https://hooks.example.test/x", [address], PROD)
    assert reason is not None and "not a public address" in reason and "ANTQ_WEBHOOK_ALLOWED_NETWORKS" in reason


def test_production_takes_a_public_https_address_and_refuses_http():
    assert egress.refusal("https://hooks.example.test/x", [GLOBAL, "2606:4700:4700::1111"], PROD) is None
    assert "https://" in (egress.refusal("http://hooks.example.test/x", [GLOBAL], PROD) or "")


def test_one_inside_address_among_the_answers_is_enough_to_refuse():
    assert egress.refusal("https://hooks.example.test/x", [GLOBAL, "10.0.0.1"], PROD) is not None


def test_a_name_that_does_not_resolve_is_refused():
    assert "does not resolve" in (egress.refusal("https://nowhere.example.test/x", [], PROD) or "")


def test_an_operator_allow_lists_a_network_and_only_that_network():
    policy = egress.Policy.of(["10.20.0.0/16"], production=True)
    assert egress.refusal("https://hooks.internal/x", ["10.20.3.4"], policy) is None
    assert egress.refusal("https://hooks.internal/x", ["10.21.3.4"], policy) is not None
    assert egress.refusal("https://hooks.internal/x", ["127.0.0.1"], policy) is not None


def test_development_allows_loopback_and_http_but_not_the_rest_of_the_network():
    assert egress.refusal("http://localhost:8080/x", ["127.0.0.1", "::1"], DEV) is None
    assert egress.refusal("http://hooks.example.test/x", ["10.0.0.5"], DEV) is not None
    assert egress.refusal("http://hooks.example.test/x", ["169.254.169.254"], DEV) is not None


def test_add_recipient_refuses_with_the_rule_named():
    with pytest.raises(RuleViolation) as e:
        egress.check("https://hooks.example.test/x", ["10.0.0.5"], PROD)
    assert e.value.details == [{"field": "address", "rule": "webhook_target"}]
    egress.check("https://hooks.example.test/x", [GLOBAL], PROD)


def test_the_target_defaults_its_port_by_scheme():
    assert egress.target_of("https://Hooks.Example.test/x") == egress.Target("https", "hooks.example.test", 443)
    assert egress.target_of("http://h.test:8080/x") == egress.Target("http", "h.test", 8080)


@pytest.mark.parametrize(
    ("url", "address", "pinned", "host"),
    [
        ("https://hooks.example.test/a?b=1", GLOBAL, "https://1.1.1.1/a?b=1", "hooks.example.test"),
        ("http://hooks.example.test:8080/a", "127.0.0.1", "http://127.0.0.1:8080/a", "hooks.example.test:8080"),
        ("https://u:p@hooks.example.test/a", GLOBAL, "https://u:p@1.1.1.1/a", "hooks.example.test"),
        ("https://hooks.example.test/a", "2606:4700::1", "https://[2606:4700::1]/a", "hooks.example.test"),
        ("http://[::1]:81/a", "::1", "http://[::1]:81/a", "[::1]:81"),
    ],
)
def test_a_send_is_pinned_to_the_checked_address_under_its_own_host_name(url, address, pinned, host):
    assert egress.pinned(url, address) == (pinned, host)


async def test_the_system_resolver_answers_an_address_literal_without_asking_anyone():
    assert await egress.system_resolver("127.0.0.1", 80) == ["127.0.0.1"]
    assert await egress.system_resolver("nowhere.invalid", 80) == []


def test_a_port_out_of_range_is_a_validation_error_not_a_crash():
    with pytest.raises(ValidationFailed) as e:
        egress.target_of("http://10.0.0.5:99999/")
    assert e.value.details == [{"field": "address", "rule": "url"}]
