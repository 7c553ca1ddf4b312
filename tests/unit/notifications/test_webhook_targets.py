"""SSRF at delivery time: the host is resolved again and every address checked, whatever it resolved to before."""

from __future__ import annotations

import aiohttp
import pytest

from services.notifications.domain.webhooks import TargetPolicy, UnsafeTarget
from services.notifications.webhooks import CheckedResolver, Resolver, checked_addresses

STRICT = TargetPolicy(allow_private=False)


def resolving_to(*addresses: str) -> Resolver:
    async def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolver


async def failing_resolver(host: str, port: int) -> list[str]:
    raise OSError("no such host")


async def test_a_public_name_resolving_to_public_addresses_is_called() -> None:
    host, addresses = await checked_addresses(STRICT, "https://ehr.example.com/hooks", resolving_to("93.184.216.34"))
    assert (host, addresses) == ("ehr.example.com", ["93.184.216.34"])


@pytest.mark.parametrize(
    "addresses",
    [("10.0.0.5",), ("93.184.216.34", "127.0.0.1"), ("169.254.169.254",), ("::1",), ("fe80::1%eth0",)],
)
async def test_a_name_resolving_to_any_private_address_is_refused(addresses: tuple[str, ...]) -> None:
    """DNS rebinding: a name that passed when the subscription was made and now points inside is refused."""
    with pytest.raises(UnsafeTarget):
        await checked_addresses(STRICT, "https://ehr.example.com/hooks", resolving_to(*addresses))


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UnsafeTarget, match="does not resolve"):
        await checked_addresses(STRICT, "https://ehr.example.com/hooks", failing_resolver)
    with pytest.raises(UnsafeTarget):
        await checked_addresses(STRICT, "https://ehr.example.com/hooks", resolving_to())


@pytest.mark.parametrize("url", ["https://[::1", "https://ehr.example.com:99999/", "https://", "not a url", ""])
async def test_malformed_urls_are_refused_not_crashed_on(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        await checked_addresses(STRICT, url, resolving_to("93.184.216.34"))


async def test_the_connection_pool_resolves_through_the_checks() -> None:
    """The sender's connections are made to addresses CheckedResolver returned; the name stays for Host and SNI."""
    resolved = await CheckedResolver(STRICT, resolving_to("93.184.216.34")).resolve("ehr.example.com", 443)
    assert [(r["hostname"], r["host"], r["port"]) for r in resolved] == [("ehr.example.com", "93.184.216.34", 443)]
    with pytest.raises(UnsafeTarget):
        await CheckedResolver(STRICT, resolving_to("93.184.216.34", "10.1.2.3")).resolve("ehr.example.com", 443)


async def test_a_post_to_a_name_that_now_points_inside_never_connects() -> None:
    """What the sender's HTTP client does with the resolver: the refusal surfaces before any connection is made."""
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(STRICT, resolving_to("127.0.0.1")))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(UnsafeTarget, match="loopback"):
            await session.post("https://ehr.example.com/hooks", data=b"{}")
