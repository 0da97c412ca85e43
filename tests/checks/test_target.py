"""Target parsing: domains, addresses, URLs, IDNs, and a one-line reason for everything refused."""

import pytest

from checks.target import Target, TargetError, parse_target


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("example.com", Target("domain", "example.com")),
        ("Example.COM.", Target("domain", "example.com")),
        ("postmaster@example.com", Target("domain", "example.com")),
        ("<mailto:a@example.com|a@example.com>", Target("domain", "example.com")),
        ("https://www.example.com/path?q=1", Target("domain", "www.example.com")),
        ("<http://example.com|example.com>", Target("domain", "example.com")),
        ("bücher.example", Target("domain", "xn--bcher-kva.example")),
        ("81.2.69.160", Target("ip", "81.2.69.160")),
        ("2a00:1450:4001:81b::200e", Target("ip", "2a00:1450:4001:81b::200e")),
        ("::ffff:81.2.69.160", Target("ip", "81.2.69.160")),
    ],
)
def test_accepted(text, target):
    assert parse_target(text) == target


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "nothing to check"),
        ("   ", "nothing to check"),
        ("10.1.2.3", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("192.0.2.10", "documentation"),
        ("fe80::1", "link-local"),
        ("localhost", "at least two labels"),
        ("exa mple.com", "not a single"),
        ("-bad-.com", "bad label"),
        ("a..b.com", "bad label"),
        ("x" * 64 + ".com", "bad label"),
        ("example.123", "all digits"),
        ("user@", "no domain"),
    ],
)
def test_refused_with_reason(text, why):
    with pytest.raises(TargetError) as err:
        parse_target(text)
    assert why in str(err.value)
    assert "\n" not in str(err.value)
