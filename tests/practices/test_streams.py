"""Stream separation: verdicts for pairs of messages built here, and clear answers for unusable pairs."""

from __future__ import annotations

import pytest

from checks.model import Status
from knowledge.base import load
from practices import PracticeError
from practices.streams import compare, read_facts


def message(
    *,
    ip: str | None = "81.2.69.160",
    return_path: str | None = "bounces@mail.example.com",
    dkim: tuple[str, ...] = ("mail.example.com",),
    marketing: bool = False,
    message_id: str = "receipt-1@mail.example.com",
    extra: tuple[str, ...] = (),
) -> bytes:
    headers = []
    if return_path is not None:
        headers.append(f"Return-Path: <{return_path}>")
    headers.append(
        "Received: by mx.google.com with SMTP id x1; Tue, 01 Dec 2026 10:00:01 -0800 (PST)"
    )  # an internal hop of the receiver, without an IP: skipped
    if ip is not None:
        headers.append(
            f"Received: from out1.example.com (out1.example.com [{ip}])\r\n"
            "        by mx.google.com with ESMTPS id y2si1; Tue, 01 Dec 2026 10:00:00 -0800 (PST)"
        )
    for domain in dkim:
        headers.append(
            f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s1;\r\n"
            "        h=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
            "        b=dGVzdA=="
        )
    headers += [
        "From: Example Shop <hello@example.com>",
        "To: alice@shop-customers.example",
        "Subject: " + ("Our December offers" if marketing else "Your receipt"),
        "Date: Tue, 01 Dec 2026 18:00:00 +0000",
        f"Message-ID: <{message_id}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if marketing:
        headers += [
            "List-Unsubscribe: <https://news.example.com/u/abc>, <mailto:unsub@news.example.com>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Precedence: bulk",
        ]
    headers += list(extra)
    return ("\r\n".join(headers) + "\r\n\r\nHello.\r\n").encode()


def marketing(**kw) -> bytes:
    values = {
        "return_path": "bounces@news.example.com",
        "dkim": ("news.example.com",),
        "marketing": True,
        "message_id": "offer-1@news.example.com",
        "ip": "89.160.20.112",
    }
    return message(**(values | kw))


def by_check(comparison) -> dict[str, Status]:
    return {f.check: f.status for f in comparison.findings}


def test_well_separated_streams_pass_and_the_marketing_one_is_named():
    result = compare(("offer.eml", marketing()), ("receipt.eml", message()))
    assert by_check(result) == {
        "stream-ip": Status.PASS,
        "stream-network": Status.PASS,
        "stream-return-path": Status.PASS,
        "stream-dkim": Status.PASS,
        "stream-marketing": Status.INFO,
    }
    assert result.marketing == "a"
    rp = next(f for f in result.findings if f.check == "stream-return-path")
    assert "separate sub-domains of example.com" in rp.summary
    signals = result.a.signals
    assert any("List-Unsubscribe-Post" in s for s in signals) and "Precedence: bulk" in signals
    assert result.b.signals == [] and result.report().ok


def test_a_shared_ip_and_signing_domain_fail_and_say_what_they_risk():
    result = compare(
        ("receipt.eml", message()),
        ("offer.eml", marketing(ip="81.2.69.160", dkim=("mail.example.com",))),
    )
    checks = by_check(result)
    assert checks["stream-ip"] == Status.FAIL and checks["stream-dkim"] == Status.FAIL
    assert "stream-network" not in checks  # the same IP says it all
    ip = next(f for f in result.findings if f.check == "stream-ip")
    assert ip.summary.startswith("offer.eml (marketing) and receipt.eml share the sending IP 81.2.69.160")
    assert "deferred or blocked" in ip.summary and ip.kb == "separate-mail-streams"
    assert result.marketing == "b" and not result.report().ok


def test_a_shared_network_and_return_path_domain_warn():
    result = compare(
        ("offer.eml", marketing(ip="81.2.69.161", return_path="bounces@mail.example.com")),
        ("receipt.eml", message(ip="81.2.69.160")),
    )
    checks = by_check(result)
    assert checks["stream-ip"] == Status.PASS
    assert checks["stream-network"] == Status.WARN
    assert checks["stream-return-path"] == Status.WARN
    net = next(f for f in result.findings if f.check == "stream-network")
    assert net.about == "81.2.69.0/24"


def test_ipv6_neighbours_are_compared_by_their_64():
    result = compare(("offer.eml", marketing(ip="2a02:cf40::1")), ("receipt.eml", message(ip="2a02:cf40::2")))
    assert by_check(result)["stream-network"] == Status.WARN
    assert next(f for f in result.findings if f.check == "stream-network").about == "2a02:cf40::/64"


def test_two_messages_of_the_same_kind_may_share():
    result = compare(("a.eml", message()), ("b.eml", message(message_id="receipt-2@mail.example.com")))
    checks = by_check(result)
    assert checks["stream-ip"] == Status.INFO and checks["stream-dkim"] == Status.INFO
    assert result.marketing == "neither"
    assert "compare a marketing message with a transactional one" in result.findings[-1].summary


def test_esp_headers_name_the_platform_without_making_mail_marketing():
    facts = read_facts("receipt.eml", message(extra=("X-SES-Outgoing: 2026.12.01-81.2.69.160",)))
    assert not facts.marketing and facts.platforms == ["sent through Amazon SES"]
    facts = read_facts("promo.eml", message(extra=("X-MC-User: 123abc",)))
    assert facts.marketing and facts.score >= 2


def test_no_received_headers_is_could_not_check_not_a_verdict():
    result = compare(("offer.eml", marketing(ip=None)), ("receipt.eml", message()))
    ip = next(f for f in result.findings if f.check == "stream-ip")
    assert ip.status == Status.ERROR and "offer.eml does not show it" in ip.summary
    assert ip.kb == "message-path" and ip.kb in load()
    assert "Received" in ip.summary
    assert "stream-network" not in by_check(result)
    assert by_check(result)["stream-dkim"] == Status.PASS  # what can be compared still is


def test_unsigned_mail_and_a_null_sender_cannot_be_compared_on_those_points():
    result = compare(("offer.eml", marketing(dkim=())), ("receipt.eml", message(return_path="")))
    checks = by_check(result)
    assert checks["stream-dkim"] == Status.ERROR and checks["stream-return-path"] == Status.ERROR


def test_the_same_message_twice_is_refused():
    with pytest.raises(PracticeError, match="same message"):
        compare(("a.eml", message()), ("b.eml", message()))
    # The same Message-ID with a different route is still one message (two copies of it).
    with pytest.raises(PracticeError, match=r"same message \(Message-ID <receipt-1@mail.example.com>\)"):
        compare(("a.eml", message()), ("b.eml", message(ip="89.160.20.112")))


@pytest.mark.parametrize("data", [b"", b"just some words, not a message"])
def test_input_that_is_not_a_message_says_so(data):
    with pytest.raises(PracticeError, match=r"bad\.eml"):
        compare(("bad.eml", data), ("receipt.eml", message()))


def test_a_sub_domain_beside_the_domain_itself_is_not_called_two_sub_domains():
    result = compare(
        ("offer.eml", marketing(return_path="bounces@news.example.com")),
        ("receipt.eml", message(return_path="bounces@example.com")),
    )
    rp = next(f for f in result.findings if f.check == "stream-return-path")
    assert rp.status is Status.PASS
    assert "a sub-domain of example.com and example.com itself" in rp.summary
    assert "separate sub-domains" not in rp.summary
