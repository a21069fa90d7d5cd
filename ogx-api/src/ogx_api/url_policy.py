"""Which URLs the server may call on a client's behalf (outbound request safety).

A client can name a URL the server then connects to (an MCP `server_url` in a Responses
request, a connector, a file URL). Without a policy that is a server-side request forgery
hole: `http://169.254.169.254/` reaches the cloud metadata service, `http://localhost:5432/`
the database. `UrlPolicy` decides, from the URL and **every** address its host resolves to,
whether the URL may be called, and refuses with an `InvalidRequest` naming the rule::

    policy = UrlPolicy(allow_loopback=True)
    await policy.check("http://127.0.0.1:8000/mcp")          # passes
    UrlPolicy().check_resolved("http://10.0.0.5/mcp", [ip_address("10.0.0.5")])
    # InvalidRequest: ... 10.0.0.5 is a private address (rule `allow_private_networks`) ...

The core can check a URL before handing it to a provider; a provider checks it again before
connecting and checks every connection it makes (redirect hops, addresses it connects to), so
DNS answers that change between the two checks are caught.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator

from ogx_api.errors import InvalidRequest, ProviderUnavailable
from ogx_api.redaction import redact_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""`resolver(host, port)` returns every address `host` resolves to."""

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

URL_REFUSED = "url_refused"
"""The `code` of the `InvalidRequest` raised for a refused URL."""


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (A and AAAA), through the event loop's resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The scope id of a link-local IPv6 address ("fe80::1%eth0") is not part of the address.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))


class UrlPolicy(BaseModel):
    """The rules an outbound URL must pass. The defaults suit URLs chosen by clients: `http` and
    `https` to any host on the public internet; nothing on loopback or private networks.

    Every resolved address of the host must pass, so a name with one public and one private
    address is refused. An address inside `allowed_networks` passes even when it is loopback or
    private: listing a network is the decision to allow it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_schemes: tuple[str, ...] = Field(
        default=("http", "https"), description="URL schemes that may be called (lower case)."
    )
    allowed_hosts: tuple[str, ...] | None = Field(
        default=None,
        description="Host names (or IP literals) that may be called; `*.example.com` matches any "
        "subdomain of example.com. None allows any host.",
    )
    allowed_networks: tuple[IPvAnyNetwork, ...] | None = Field(
        default=None,
        description="CIDRs every resolved address must be in, e.g. `10.20.0.0/16`. None allows any "
        "address the other rules allow.",
    )
    allow_loopback: bool = Field(
        default=False, description="Allow 127.0.0.0/8, ::1 and the unspecified address 0.0.0.0 / ::."
    )
    allow_private_networks: bool = Field(
        default=False,
        description="Allow addresses that are not globally routable: RFC 1918, link-local "
        "(169.254.0.0/16, including cloud metadata services), carrier-grade NAT, fc00::/7, …",
    )
    resolve_timeout: Annotated[float, Field(gt=0)] = Field(
        default=5.0, description="Seconds allowed for resolving a host name."
    )
    trusted_urls: tuple[str, ...] = Field(
        default=(),
        description="URLs the deployment itself configured (the server adds its connectors' and "
        "declared tool groups'): a URL with the same scheme, host and port passes every rule.",
    )

    @cached_property
    def _trusted_origins(self) -> frozenset[tuple[str, str, int | None]]:
        return frozenset(origin for url in self.trusted_urls if (origin := _origin(url)) is not None)

    def is_trusted(self, url: str) -> bool:
        """Whether `url` has the origin of one of `trusted_urls`."""
        return bool(self.trusted_urls) and _origin(url) in self._trusted_origins

    @field_validator("allowed_schemes")
    @classmethod
    def _lower_schemes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(scheme.lower() for scheme in value)

    @field_validator("allowed_hosts")
    @classmethod
    def _normalise_hosts(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(host.lower().rstrip(".") for host in value)

    # -- checks ------------------------------------------------------------------------------

    async def check(
        self, url: str, *, resolver: Resolver | None = None, param: str | None = None
    ) -> list[IPAddress]:
        """Check `url` and every address its host resolves to; return those addresses.

        Raises `InvalidRequest` (code `url_refused`, `param` as given) naming the rule that
        refused the URL, or `ProviderUnavailable` when the host cannot be resolved in time.
        """
        host, port = self._check_syntax(url, param)
        if self.is_trusted(url):
            return []
        literal = _ip_literal(host)
        if literal is not None:
            addresses: Sequence[IPAddress] = [literal]
        else:
            try:
                async with asyncio.timeout(self.resolve_timeout):
                    addresses = await (resolver or resolve_host)(host, port)
            except (OSError, TimeoutError) as exc:
                raise ProviderUnavailable(
                    f"cannot resolve the host of {redact_url(url)}: {exc or 'timed out'}"
                ) from None
            if not addresses:
                raise ProviderUnavailable(f"the host of {redact_url(url)} resolves to no address")
        for address in addresses:
            self._check_address(url, address, param)
        return list(addresses)

    def check_resolved(self, url: str, addresses: Sequence[IPAddress], *, param: str | None = None) -> None:
        """Check `url` given the addresses its host resolved to (no I/O)."""
        self._check_syntax(url, param)
        if self.is_trusted(url):
            return
        for address in addresses:
            self._check_address(url, address, param)

    def check_address(self, url: str, address: IPAddress | str, *, param: str | None = None) -> None:
        """Check one address a connection for `url` actually reached (no I/O, no URL rules)."""
        if self.is_trusted(url):
            return
        self._check_address(
            url, ipaddress.ip_address(address) if isinstance(address, str) else address, param
        )

    def allows(self, url: str, addresses: Sequence[IPAddress]) -> bool:
        try:
            self.check_resolved(url, addresses)
        except InvalidRequest:
            return False
        return True

    # -- rules -------------------------------------------------------------------------------

    def _check_syntax(self, url: str, param: str | None) -> tuple[str, int]:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise _refused(url, f"it is not a valid URL ({exc})", "syntax", param) from None
        scheme = parts.scheme.lower()
        if scheme not in self.allowed_schemes:
            raise _refused(
                url,
                f"scheme {scheme or '(none)'!r} is not in {list(self.allowed_schemes)}",
                "allowed_schemes",
                param,
            )
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise _refused(url, "it has no host", "syntax", param)
        if self.allowed_hosts is not None and not any(
            _host_matches(host, rule) for rule in self.allowed_hosts
        ):
            raise _refused(url, f"host {host!r} is not in {list(self.allowed_hosts)}", "allowed_hosts", param)
        return host, port if port is not None else _DEFAULT_PORTS.get(scheme, 0)

    def _check_address(self, url: str, address: IPAddress, param: str | None) -> None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if self.allowed_networks is not None:
            if any(address.version == net.version and address in net for net in self.allowed_networks):
                return
            networks = [str(net) for net in self.allowed_networks]
            raise _refused(url, f"address {address} is not in {networks}", "allowed_networks", param)
        if address.is_loopback or address.is_unspecified:
            if not self.allow_loopback:
                raise _refused(url, f"address {address} is a loopback address", "allow_loopback", param)
            return
        if address.is_multicast:
            raise _refused(url, f"address {address} is a multicast address", "no_multicast", param)
        if not address.is_global and not self.allow_private_networks:
            raise _refused(url, f"address {address} is a private address", "allow_private_networks", param)


def _refused(url: str, reason: str, rule: str, param: str | None) -> InvalidRequest:
    return InvalidRequest(
        f"URL {redact_url(url)} refused: {reason} (rule `{rule}` of the outbound URL policy)",
        param=param,
        code=URL_REFUSED,
    )


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if not scheme or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme)


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _host_matches(host: str, rule: str) -> bool:
    host = host.lower()
    if rule.startswith("*."):
        return host.endswith(rule[1:]) and len(host) > len(rule) - 1
    literal = _ip_literal(host)
    if literal is not None:
        rule_literal = _ip_literal(rule.strip("[]"))
        return rule_literal == literal
    return host == rule
