"""The webhook parts that need no server: signatures, the URL guard, the retry schedule."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from analytics_graph.webhooks import UnsafeUrl, UrlPolicy
from analytics_graph.webhooks.addresses import public
from analytics_graph.webhooks.sender import SendOptions, backoff
from analytics_graph.webhooks.signing import headers, new_secret


def test_signatures_verify_with_the_standardwebhooks_library() -> None:
    secret = new_secret()
    body = b'{"type":"metrics.changed","data":{"n":1}}'
    stamp = int(datetime.now(UTC).timestamp())
    sent = headers(secret, "msg_1", stamp, body)
    assert Webhook(secret).verify(body, sent) == {"type": "metrics.changed", "data": {"n": 1}}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", sent)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, sent)


def test_secrets_are_fresh_and_prefixed() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "::1", "fe80::1", "fd00:ec2::254", "::ffff:10.0.0.1", "224.0.0.1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not public(ipaddress.ip_address(address))


def test_public_addresses_are_allowed() -> None:
    assert public(ipaddress.ip_address("93.184.216.34"))
    assert public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


async def test_the_policy_checks_after_resolution() -> None:
    safe = UrlPolicy()
    with pytest.raises(UnsafeUrl, match="non-public"):
        await safe.resolve("https://localhost:8443/x")
    with pytest.raises(UnsafeUrl, match="https"):
        await safe.resolve("http://93.184.216.34/")
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        await safe.resolve("https://no-such-host.invalid/")
    target = await safe.resolve("https://93.184.216.34:8443/path?q=1")
    assert target.pinned_url == "https://93.184.216.34:8443/path?q=1"
    loose = await UrlPolicy(allow_private=True).resolve("http://localhost:8080/hook")
    assert loose.address in ("127.0.0.1", "::1") and loose.host_header == "localhost:8080"


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    options = SendOptions(retry_base=5.0, retry_cap=3600.0)
    for attempts, base in [(1, 5.0), (2, 10.0), (5, 80.0), (20, 3600.0)]:
        delays = {backoff(attempts, options) for _ in range(20)}
        assert all(0.75 * base <= d <= 1.25 * base for d in delays)
        assert len(delays) > 1  # jittered
