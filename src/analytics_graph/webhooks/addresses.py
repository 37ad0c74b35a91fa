"""Where a webhook may point: the guard against server-side request forgery.

By default only ``https`` URLs whose host resolves to public addresses only are
accepted and sent to: loopback, private, link-local (cloud metadata services
live there), shared, reserved and multicast addresses are refused *after* DNS
resolution, and the request then goes to the very address that was checked (a
second lookup could answer differently). ``allow_private`` (the
``ANALYTICS_GRAPH_WEBHOOKS_ALLOW_PRIVATE`` setting, for development and tests)
also allows plain ``http`` and any address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2_000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Metadata services that are not caught by "not global" on every platform.
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


class UnsafeUrl(ValueError):
    """A URL that webhooks may not use; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (``address``) and what to ask for there."""

    url: str
    scheme: str
    host: str
    port: int
    address: str

    @property
    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{host}:{self.port}"
        path = parts.path or "/"
        return f"{self.scheme}://{netloc}{path}" + (f"?{parts.query}" if parts.query else "")

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address (and no metadata service)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast and address not in METADATA


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """What webhook URLs are allowed; see the module docstring."""

    allow_private: bool = False

    def check_syntax(self, url: str) -> tuple[str, str, int]:
        """``(scheme, host, port)`` of a well-formed allowed URL; raises :class:`UnsafeUrl`."""
        if len(url) > MAX_URL_LENGTH:
            raise UnsafeUrl(f"a URL has at most {MAX_URL_LENGTH} characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise UnsafeUrl(f"not a valid URL: {error}") from None
        schemes = ("https", "http") if self.allow_private else ("https",)
        if parts.scheme not in schemes:
            raise UnsafeUrl(f"the scheme must be {' or '.join(schemes)}, not {parts.scheme!r}")
        if not parts.hostname:
            raise UnsafeUrl("the URL names no host")
        if parts.username is not None or parts.password is not None:
            raise UnsafeUrl("credentials in the URL are not allowed")
        if parts.fragment:
            raise UnsafeUrl("a fragment is not allowed")
        return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)

    async def resolve(self, url: str) -> Target:
        """The URL checked and resolved; raises :class:`UnsafeUrl` when it is not
        allowed, its host does not resolve, or it resolves to a refused address."""
        scheme, host, port = self.check_syntax(url)
        addresses = await _lookup(host, port)
        if not self.allow_private:
            refused = [a for a in addresses if not public(a)]
            if refused:
                raise UnsafeUrl(
                    f"{host} resolves to a non-public address ({refused[0]}): only public"
                    " addresses are allowed"
                )
        return Target(url, scheme, host, port, str(addresses[0]))


async def _lookup(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrl(f"{host} does not resolve: {error}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise UnsafeUrl(f"{host} does not resolve")
    return addresses
