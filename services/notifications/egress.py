"""Where a webhook may be sent (no server-side request forgery): a recipient's URL must lead to a public
address. Loopback, private, link-local, shared, multicast and reserved addresses are refused unless an
operator allow-lists their network (`ANTQ_WEBHOOK_ALLOWED_NETWORKS`; development allows loopback, for
the local receiver), and production requires https. The name is resolved and every address checked
when the recipient is added and again at each send, so a name that later resolves inside is still
caught; the send then goes to the address that was checked, not to a second lookup."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from shared.contract.errors import RuleViolation, ValidationFailed

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class Policy:
    allowed: tuple[Network, ...] = ()  # networks allowed although not public
    https_only: bool = True

    @classmethod
    def of(cls, networks: Sequence[str], production: bool) -> Policy:
        allowed = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        return cls(allowed if production else (*allowed, *LOOPBACK), https_only=production)


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: where it goes, and the addresses its host resolved to."""

    scheme: str
    host: str
    port: int


def target_of(url: str) -> Target:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:  # a port that is not a number from 0 to 65535
        raise ValidationFailed(
            f"the webhook URL's port is not a port number: {url[:200]}", [{"field": "address", "rule": "url"}]
        ) from None
    return Target(scheme, (parts.hostname or "").lower(), port)


def _inside(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def refusal(url: str, addresses: Sequence[str], policy: Policy) -> str | None:
    """Why `url` (whose host resolved to `addresses`) may not receive webhooks, or None."""
    target = target_of(url)
    if policy.https_only and target.scheme != "https":
        return "a webhook address must be an https:// URL"
    if not addresses:
        return f"the webhook host {target.host} does not resolve"
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in policy.allowed):
            continue
        # an IPv6 address that carries an IPv4 one (6to4, Teredo's client) leads where that one does
        embedded = [ip.sixtofour, ip.teredo[1] if ip.teredo else None] if isinstance(ip, ipaddress.IPv6Address) else []
        if _inside(ip) or any(v4 is not None and _inside(v4) for v4 in embedded):
            return (
                f"the webhook host {target.host} resolves to {ip}, which is not a public address (loopback, "
                "private, link-local, shared, multicast or reserved); an operator may allow its network with "
                "ANTQ_WEBHOOK_ALLOWED_NETWORKS"
            )
    return None


def check(url: str, addresses: Sequence[str], policy: Policy) -> None:
    """The refusal of `add-recipient` for a URL that may not receive webhooks."""
    reason = refusal(url, addresses, policy)
    if reason is not None:
        raise RuleViolation(reason, [{"field": "address", "rule": "webhook_target"}])


def pinned(url: str, address: str) -> tuple[str, str]:
    """`url` with its host replaced by the `address` that was checked, and the Host header naming the
    host: the send connects where the check looked, never to a second lookup. (For https, the TLS
    server name stays the host's: the sender passes it as httpx's `sni_hostname`.)"""
    parts = urlsplit(url)
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    port = f":{parts.port}" if parts.port else ""
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{literal}{port}" if userinfo else f"{literal}{port}"
    host = parts.hostname or ""
    host_header = (f"[{host}]" if ":" in host else host) + port
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), host_header


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses a name resolves to (an address literal resolves to itself); none when it does not."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})
