"""Organisational domains from the shipped Public Suffix List (no download at run time)."""

import pytest

from checks.psl import organizational_domain, same_org


@pytest.mark.parametrize(
    ("name", "org"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("Mail.Example.COM.", "example.com"),
        ("x.y.example.com", "example.com"),
        ("foo.github.io", "foo.github.io"),  # private-section suffixes count, as DMARC receivers use them
        ("co.uk", "co.uk"),  # a public suffix is its own organisational domain
        ("bücher.example.de", "example.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
    ],
)
def test_organizational_domain(name, org):
    assert organizational_domain(name) == org


def test_same_org():
    assert same_org("mail.example.com", "bounces.example.com")
    assert not same_org("example.com", "example.net")
    assert not same_org("a.example.co.uk", "b.other.co.uk")
