"""SSRF guard: no event webhook goes to a private, loopback, link-local or metadata address,
whatever way the address is spelt and whatever a host name resolves to."""

from __future__ import annotations

import pytest

from dialer.domain.destinations import UnsafeDestination, check_url, resolve_checked, system_resolver

REFUSED_URLS = [
    "http://example.com/hook",  # plain http on a deployed stage
    "https://127.0.0.1/hook",
    "https://2130706433/hook",  # decimal 127.0.0.1
    "https://0177.0.0.1/hook",  # octal
    "https://0x7f.0.0.1/hook",  # hex
    "https://127.1/hook",  # short form
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv6-mapped
    "https://[::ffff:a9fe:a9fe]/hook",  # IPv6-mapped metadata
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 metadata
    "https://[2002:a9fe:a9fe::]/hook",  # 6to4 metadata
    "https://169.254.169.254/latest/meta-data/",  # AWS/GCP/Azure metadata
    "https://[fd00:ec2::254]/",  # AWS IPv6 metadata
    "https://10.0.0.5/hook",
    "https://172.16.1.1/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://[fe80::1]/hook",
    "https://localhost/hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://user:pw@example.com/hook",
    "https://example.com/hook#frag",
    "ftp://example.com/hook",
    "https:///hook",
    "https://exa mple.com/",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_unsafe_urls_are_refused_when_saved(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        check_url(url)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "169.254.169.254", "::ffff:192.168.0.1"])
def test_a_public_name_resolving_to_a_private_address_is_refused_before_sending(address: str) -> None:
    # GIVEN a name that looks public (DNS decides where it goes)
    destination = check_url("https://hooks.example.com/in")
    # WHEN it resolves to a private address THEN nothing may be sent to it
    with pytest.raises(UnsafeDestination):
        resolve_checked(destination, lambda host, port: [address])


def test_one_private_address_among_public_ones_is_refused() -> None:
    destination = check_url("https://hooks.example.com/in")
    with pytest.raises(UnsafeDestination):
        resolve_checked(destination, lambda host, port: ["93.184.216.34", "127.0.0.1"])


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f000001", "127.1", "localhost"])
def test_the_system_resolver_reads_legacy_forms_and_they_are_refused(host: str) -> None:
    # resolve_checked on a Destination built by hand: the form check is skipped, the address check is not
    from dialer.domain.destinations import Destination

    with pytest.raises(UnsafeDestination):
        resolve_checked(Destination("https", host, 443, "/"), system_resolver)


def test_public_https_is_accepted() -> None:
    destination = check_url("https://crm.example.com:8443/hooks/dialer?x=1")
    assert (destination.host, destination.port, destination.target) == (
        "crm.example.com",
        8443,
        "/hooks/dialer?x=1",
    )
    assert str(resolve_checked(destination, lambda host, port: ["93.184.216.34"])) == "93.184.216.34"


def test_the_local_setting_allows_loopback_over_http_and_nothing_else_private() -> None:
    assert check_url("http://127.0.0.1:8080/x", allow_loopback=True).scheme == "http"
    check_url("http://localhost:8080/x", allow_loopback=True)
    with pytest.raises(UnsafeDestination):
        check_url("http://10.0.0.1/x", allow_loopback=True)
    with pytest.raises(UnsafeDestination):
        resolve_checked(
            check_url("http://h.example/x", allow_loopback=True),
            lambda h, p: ["169.254.169.254"],
            allow_loopback=True,
        )
