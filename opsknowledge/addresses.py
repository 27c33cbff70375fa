"""The address a request comes from, as throttling and the audit log count it.

`REMOTE_ADDR` is the peer that connected. Behind a reverse proxy that peer is the proxy, so
when `TRUSTED_PROXIES` names it, the client is the right-most `X-Forwarded-For` entry that is
not itself a trusted proxy: entries to its left were written by the client and prove nothing.
"""

from functools import lru_cache
from ipaddress import ip_address, ip_network

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]):
    return tuple(ip_network(proxy, strict=False) for proxy in proxies)


def _within(address: str, networks) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def address_in(address: str, entries) -> bool:
    """Whether `address` is one of `entries` (addresses or networks, as settings list them)."""
    return _within(address, _networks(tuple(entries)))


def client_address(request) -> str:
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _within(peer, networks):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, networks):
            return hop
    return hops[0] if hops else peer
