"""`UrlPolicy` refuses what it should, names the rule, checks every resolved address, and never
puts credentials from the URL into its messages (offline: resolvers are injected)."""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

import pytest

from ogx_api.errors import InvalidRequest, ProviderUnavailable
from ogx_api.url_policy import URL_REFUSED, UrlPolicy, redact_url


def resolver(*addresses: str):
    async def resolve(host: str, port: int):
        return [ip_address(address) for address in addresses]

    return resolve


async def refusal(policy: UrlPolicy, url: str, *addresses: str) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        await policy.check(url, resolver=resolver(*addresses), param="tools[0].server_url")
    assert caught.value.code == URL_REFUSED
    assert caught.value.param == "tools[0].server_url"
    return caught.value


async def test_public_https_url_passes_the_default_policy() -> None:
    addresses = await UrlPolicy().check("https://mcp.example.com/mcp", resolver=resolver("93.184.216.34"))
    assert addresses == [ip_address("93.184.216.34")]


@pytest.mark.parametrize(
    ("url", "addresses", "rule"),
    [
        ("ftp://mcp.example.com/", ["93.184.216.34"], "allowed_schemes"),
        ("file:///etc/passwd", [], "allowed_schemes"),
        ("http:///mcp", [], "syntax"),
        ("http://localhost:8000/mcp", ["127.0.0.1"], "allow_loopback"),
        ("http://127.0.0.1:8000/mcp", [], "allow_loopback"),
        ("http://[::1]:8000/mcp", [], "allow_loopback"),
        ("http://0.0.0.0:8000/mcp", [], "allow_loopback"),
        ("http://[::ffff:127.0.0.1]/mcp", [], "allow_loopback"),
        ("http://169.254.169.254/latest/meta-data/", [], "allow_private_networks"),
        ("http://db.internal/", ["10.1.2.3"], "allow_private_networks"),
        ("http://cgnat.example/", ["100.64.0.1"], "allow_private_networks"),
        ("http://[fd00::1]/", [], "allow_private_networks"),
        ("http://224.0.0.1/", [], "no_multicast"),
    ],
)
async def test_default_policy_refusals_name_the_rule(url: str, addresses: list[str], rule: str) -> None:
    error = await refusal(UrlPolicy(), url, *addresses)
    assert f"rule `{rule}`" in error.message


async def test_every_resolved_address_must_pass() -> None:
    """A name with one public and one private address is refused (DNS can pick either)."""
    error = await refusal(UrlPolicy(), "https://mixed.example.com/", "93.184.216.34", "192.168.1.10")
    assert "192.168.1.10" in error.message and "allow_private_networks" in error.message


async def test_loopback_and_private_can_be_allowed() -> None:
    policy = UrlPolicy(allow_loopback=True, allow_private_networks=True)
    await policy.check("http://localhost:8000/mcp", resolver=resolver("127.0.0.1", "::1"))
    await policy.check("http://10.0.0.5/mcp")
    await refusal(UrlPolicy(allow_loopback=True), "http://10.0.0.5/mcp")
    await refusal(UrlPolicy(allow_private_networks=True), "http://127.0.0.1/mcp")


async def test_allowed_hosts_with_wildcards() -> None:
    policy = UrlPolicy(allowed_hosts=("mcp.example.com", "*.tools.example.org"))
    for url in (
        "https://MCP.example.com./mcp",
        "https://a.tools.example.org/",
        "https://b.c.tools.example.org/",
    ):
        await policy.check(url, resolver=resolver("93.184.216.34"))
    for url in (
        "https://example.com/",
        "https://tools.example.org/",
        "https://evil-tools.example.org.evil.com/",
    ):
        error = await refusal(policy, url, "93.184.216.34")
        assert "allowed_hosts" in error.message


async def test_allowed_networks_are_an_allow_list_that_overrides_private() -> None:
    policy = UrlPolicy.model_validate({"allowed_networks": ["10.20.0.0/16", "2001:db8::/32"]})
    await policy.check("http://mcp.corp/", resolver=resolver("10.20.3.4"))
    await policy.check("http://[2001:db8::5]/")
    error = await refusal(policy, "http://mcp.corp/", "10.21.0.1")
    assert "allowed_networks" in error.message
    await refusal(policy, "https://mcp.example.com/", "93.184.216.34")


async def test_unresolvable_host_is_unavailable_not_refused() -> None:
    async def nxdomain(host: str, port: int):
        raise OSError("Name or service not known")

    with pytest.raises(ProviderUnavailable, match="cannot resolve"):
        await UrlPolicy().check("https://nope.invalid/", resolver=nxdomain)


async def test_slow_resolution_is_bounded() -> None:
    async def hang(host: str, port: int):
        await asyncio.sleep(30)
        return []

    with pytest.raises(ProviderUnavailable):
        await UrlPolicy(resolve_timeout=0.05).check("https://slow.example/", resolver=hang)


async def test_real_resolution_of_localhost() -> None:
    """The default resolver (the event loop's getaddrinfo) is used when none is given."""
    addresses = await UrlPolicy(allow_loopback=True).check("http://localhost:1/")
    assert addresses and all(address.is_loopback for address in addresses)
    with pytest.raises(InvalidRequest, match="allow_loopback"):
        await UrlPolicy().check("http://localhost:1/")


async def test_messages_never_carry_credentials_or_query() -> None:
    url = "http://user:hunter2@169.254.169.254/path?token=s3cret#frag"
    error = await refusal(UrlPolicy(), url)
    assert "hunter2" not in error.message and "s3cret" not in error.message and "user" not in error.message
    assert redact_url(url) == "http://********@169.254.169.254/path?token=********"


def test_check_address_checks_a_reached_peer_without_io() -> None:
    policy = UrlPolicy()
    policy.check_address("https://mcp.example.com/", "93.184.216.34")
    with pytest.raises(InvalidRequest, match="allow_private_networks"):
        policy.check_address("https://mcp.example.com/", "10.0.0.1")
    assert policy.allows("https://mcp.example.com/", [ip_address("93.184.216.34")])
    assert not policy.allows("https://mcp.example.com/", [ip_address("127.0.0.1")])


def test_policy_is_a_config_model() -> None:
    policy = UrlPolicy.model_validate(
        {"allowed_schemes": ["HTTPS"], "allowed_hosts": ["Example.COM."], "allow_loopback": True}
    )
    assert policy.allowed_schemes == ("https",)
    assert policy.allowed_hosts == ("example.com",)
    with pytest.raises(ValueError, match="extra"):
        UrlPolicy.model_validate({"allow_everything": True})
