"""ARC chains verified and recorded Authentication-Results compared, against the loopback DNS server."""

from __future__ import annotations

import base64
import hashlib
import time

import dkim
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import parse_pem_private_key

from checks.message.recorded import parse_auth_results
from checks.model import Status
from tests.checks.message.conftest import DOMAIN, IP, OTHER_IP, Key, message, one, publish, run, sign


def test_authentication_results_are_parsed_tolerantly():
    gmail = parse_auth_results(
        "mx.google.com;\r\n dkim=pass header.i=@shop.example header.s=s1 header.b=AbCd;\r\n spf=pass "
        "(google.com: domain of b@shop.example designates 81.2.69.160 as permitted sender) "
        "smtp.mailfrom=b@shop.example;\r\n dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=shop.example"
    )
    assert gmail.authserv_id == "mx.google.com"
    assert [(r.method, r.result) for r in gmail.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert gmail.results[0].props["header.s"] == "s1"
    assert "designates 81.2.69.160" in gmail.results[1].comment
    microsoft = parse_auth_results(
        "spf=pass (sender IP is 81.2.69.160) smtp.mailfrom=shop.example; dkim=pass (signature was verified) "
        "header.d=shop.example;dmarc=pass action=none header.from=shop.example;compauth=pass reason=100"
    )
    assert microsoft.authserv_id == "" and [r.method for r in microsoft.results][:3] == [
        "spf",
        "dkim",
        "dmarc",
    ]
    assert parse_auth_results("mx.example; none").results == []
    assert parse_auth_results(";;;(unclosed").results == []


def _with_ar(raw: bytes, text: str) -> bytes:
    return f"Authentication-Results: {text}\r\n".encode() + raw


async def test_recorded_verdicts_that_agree(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    raw = _with_ar(
        sign(message(), keys["rsa2048"]),
        f"mx.receiver.example; dkim=pass header.d={DOMAIN} header.s=s1; spf=pass smtp.mailfrom={DOMAIN}; "
        f"dmarc=pass header.from={DOMAIN}",
    )
    f = one(await run(raw, settings), "auth-results")
    assert f.status is Status.PASS and f.about == "mx.receiver.example"
    assert "agree" in f.summary


async def test_recorded_verdicts_that_differ(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    raw = _with_ar(
        sign(message(), keys["rsa2048"]),
        f"mx.receiver.example; dkim=pass header.d={DOMAIN} header.s=s1; spf=pass smtp.mailfrom={DOMAIN}",
    ).replace(b"offers are inside", b"offers were changed")
    f = one(await run(raw, settings), "auth-results")
    assert (f.status, f.kb) == (Status.WARN, "auth-results-mismatch")
    assert "they said dkim=pass, we find fail" in f.summary


def arc_seal(
    raw: bytes, key: Key, *, domain: bytes = b"forwarder.example", selector: bytes = b"arc"
) -> bytes:
    """An i=1 ARC set, made the way dkimpy's ARC.sign makes it (which needs the authres package)."""
    arc = dkim.ARC(raw)
    arc.hasher = hashlib.sha256
    pk = parse_pem_private_key(key.private)
    canon = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    stamp = str(int(time.time())).encode()
    aar = b"i=1; forwarder.example; spf=pass smtp.mailfrom=shop.example; dkim=pass header.d=shop.example\r\n"
    sets = [(b"ARC-Authentication-Results", aar)]
    arc.headers = canon.canonicalize_headers(sets[:1]) + arc.headers
    bh = base64.b64encode(hashlib.sha256(canon.canonicalize_body(arc.body)).digest())
    include = [b"from", b"to", b"subject", b"date", b"message-id"]
    ams_fields = [
        (b"i", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/relaxed"), (b"d", domain), (b"s", selector),
        (b"t", stamp), (b"h", b" : ".join(include)), (b"bh", bh), (b"b", b"0" * 60),
    ]  # fmt: skip
    ams = arc.gen_header(ams_fields, include, canon, b"ARC-Message-Signature", pk)
    sets.insert(0, (b"ARC-Message-Signature", ams))
    arc.headers = canon.canonicalize_headers(sets[:1]) + arc.headers
    as_fields = [
        (b"i", b"1"), (b"cv", b"none"), (b"a", b"rsa-sha256"), (b"d", domain), (b"s", selector),
        (b"t", stamp), (b"b", b"0" * 60),
    ]  # fmt: skip
    seal = arc.gen_header(as_fields, [name.lower() for name, _ in reversed(sets)], canon, b"ARC-Seal", pk)
    return (
        b"ARC-Seal: " + seal + b"ARC-Message-Signature: " + ams + b"ARC-Authentication-Results: " + aar + raw
    )


async def test_an_arc_chain_validates(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    dns_server.add("arc._domainkey.forwarder.example", "TXT", keys["rsa1024"].record())
    raw = arc_seal(sign(message(), keys["rsa2048"]), keys["rsa1024"])
    f = one(await run(raw, settings), "arc")
    assert (f.status, f.kb) == (Status.PASS, "arc"), f.summary
    assert f.evidence["sealers"] == ["forwarder.example"]
    assert "spf=pass dkim=pass" in f.summary


async def test_a_broken_arc_chain_warns_and_a_failed_key_lookup_is_an_error(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    dns_server.add("arc._domainkey.forwarder.example", "TXT", keys["rsa1024"].record())
    raw = arc_seal(sign(message(), keys["rsa2048"]), keys["rsa1024"])
    changed = await run(raw.replace(b"offers are inside", b"offers are changed"), settings)
    f = one(changed, "arc")
    assert f.status is Status.WARN and "does not validate" in f.summary
    dns_server.fault("arc._domainkey.forwarder.example", "servfail")
    f = one(await run(raw, settings), "arc")
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed")


async def test_the_receivers_recorded_ip_is_used_and_compared(dns_server, settings, keys):
    # A filtering gateway of another organisation sits in front of the mailbox: the walk alone would take
    # the gateway for the sender, but the receiver's Received-SPF on top names the address it judged.
    publish(dns_server, keys["ed25519"])
    received = [
        f"from gw.filter.example (gw.filter.example [{OTHER_IP}]) by mx.receiver.example with ESMTPS id 2",
        f"from mail.{DOMAIN} (mail.{DOMAIN} [{IP}]) by gw.filter.example with ESMTPS id 1",
    ]
    raw = sign(message(received=received), keys["ed25519"])
    plain = await run(raw, settings)
    assert plain.sending_ip == OTHER_IP
    top = f"Received-SPF: pass (receiver: {DOMAIN} designates {IP} as permitted sender) client-ip={IP};\r\n"
    result = await run(top.encode() + raw, settings)
    assert result.sending_ip == IP
    path = one(result, "path")
    assert "Received-SPF header records" in path.summary and "walk alone would pick #1" in path.summary
    assert one(result, "spf").status is Status.PASS
    assert one(result, "auth-results").status is Status.PASS


async def test_a_recorded_verdict_naming_a_subdomain_in_header_i_matches_its_signature(
    dns_server, settings, keys
):
    # Gmail writes header.i (no header.d); i= may be a subdomain of d= (RFC 6376 §3.5).
    publish(dns_server, keys["rsa2048"])
    signed = sign(message(), keys["rsa2048"])
    b = signed.split(b" b=", 1)[1][:8].decode()
    raw = _with_ar(signed, f"mx.google.com; dkim=pass header.i=@news.{DOMAIN} header.s=s1 header.b={b}")
    f = one(await run(raw, settings), "auth-results")
    assert f.status is Status.PASS, f.summary
