"""DKIM verification of whole messages signed here with dkimpy, keys served by the loopback DNS server."""

from __future__ import annotations

import re
from dataclasses import replace

import dkim
import pytest

from checks.message.dkim_verify import signatures
from checks.message.parse import load
from checks.model import Status
from tests.checks.message.conftest import (
    DOMAIN,
    HEADERS,
    IP,
    item,
    message,
    one,
    only,
    publish,
    run,
    sign,
    signature,
)


@pytest.mark.parametrize("name", ["rsa1024", "rsa2048", "ed25519"])
async def test_a_signed_message_verifies(dns_server, settings, keys, name):
    key = keys[name]
    publish(dns_server, key)
    result = await run(sign(message(), key), settings)
    f = signature(result)
    assert f.status is Status.PASS, f.summary
    assert f.kb == "dkim-signature-ok"
    assert f.evidence["a"] == key.algorithm.decode()
    assert f.evidence["key"]["key_bits"] == key.bits
    assert f.evidence["from_signed"] is True
    assert f"{key.bits}-bit" in f.summary
    weak = [x for x in only(result, "dkim-signature") if x.kb == "dkim-weak-key"]
    assert bool(weak) == (name == "rsa1024")
    assert item(result, "DKIM passes").status is Status.PASS
    assert one(result, "dmarc").status is Status.PASS
    assert result.ok  # a 1024-bit key is only a warning
    assert not [x for x in result.findings if x.status in (Status.FAIL, Status.ERROR)]


async def test_a_changed_body_fails_and_says_the_headers_are_intact(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    raw = sign(message(), keys["rsa2048"]).replace(b"offers are inside", b"offers are outside")
    f = signature(await run(raw, settings))
    assert (f.status, f.kb) == (Status.FAIL, "dkim-signature-fail")
    assert "body was changed" in f.summary
    assert f.evidence["body"] == "changed" and f.evidence["headers_verified"] is True


async def test_a_changed_header_fails(dns_server, settings, keys):
    publish(dns_server, keys["ed25519"])
    raw = sign(message(), keys["ed25519"]).replace(b"Subject: Offers", b"Subject: Offers!")
    result = await run(raw, settings)
    f = signature(result)
    assert (f.status, f.kb) == (Status.FAIL, "dkim-signature-fail")
    assert "signed headers don't match" in f.summary
    assert f.evidence["body"] == "ok" and f.evidence["headers_verified"] is False
    assert item(result, "DKIM passes").status is Status.FAIL


async def test_a_revoked_key_fails(dns_server, settings, keys):
    publish(dns_server)
    dns_server.add(f"s1._domainkey.{DOMAIN}", "TXT", "v=DKIM1; k=rsa; p=")
    f = signature(await run(sign(message(), keys["rsa2048"]), settings))
    assert (f.status, f.kb) == (Status.FAIL, "dkim-revoked")
    assert "revoked" in f.summary


async def test_a_missing_key_fails(dns_server, settings, keys):
    publish(dns_server)  # everything but the key
    f = signature(await run(sign(message(), keys["rsa2048"]), settings))
    assert (f.status, f.kb) == (Status.FAIL, "dkim-key-not-found")
    assert f"no key is published at s1._domainkey.{DOMAIN}" in f.summary
    assert f.evidence["key_lookup"]["outcome"] == "nxdomain"


@pytest.mark.parametrize("fault", ["timeout", "servfail"])
async def test_a_key_lookup_that_fails_is_an_error_never_a_fail(dns_server, settings, keys, fault):
    key = keys["rsa2048"]
    publish(dns_server, key)
    dns_server.fault(f"s1._domainkey.{DOMAIN}", fault)
    result = await run(sign(message(), key), settings)
    f = signature(result)
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed"), f.summary
    assert f.summary.startswith("could not check")
    assert f.evidence["result"] == "temperror"
    assert item(result, "DKIM passes").status is Status.ERROR
    assert not [x for x in result.findings if x.check == "dkim-signature" and x.status is Status.FAIL]
    # SPF still aligns, so DMARC passes regardless of the unknown DKIM verdict.
    assert one(result, "dmarc").status is Status.PASS


async def test_dkimpy_asks_through_our_dnsfunc_which_raises_on_failure(dns_server, settings, keys):
    # The key fetched first is cached; dkimpy's own lookups must land in the same cache, not the system's.
    key = keys["ed25519"]
    publish(dns_server, key)
    await run(sign(message(), key), settings)
    assert len(dns_server.queries_for(f"s1._domainkey.{DOMAIN}")) == 1


async def test_several_signatures_are_each_verified(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    dns_server.add("esp._domainkey.esp.example", "TXT", keys["ed25519"].record())
    raw = sign(sign(message(), keys["rsa2048"]), keys["ed25519"], domain="esp.example", selector="esp")
    result = await run(raw, settings)
    own = signature(result)
    esp = [f for f in only(result, "dkim-signature", "d=esp.example s=esp") if f.kb == "dkim-signature-ok"]
    assert own.status is Status.PASS and len(esp) == 1 and esp[0].status is Status.PASS
    note = [f for f in only(result, "dkim-signature", "d=esp.example s=esp") if f.kb == "dkim-not-aligned"]
    assert len(note) == 1 and note[0].status is Status.INFO  # another signature aligns


async def test_one_good_and_one_broken_signature(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])  # the esp key is not published
    raw = sign(sign(message(), keys["rsa2048"]), keys["ed25519"], domain="esp.example", selector="esp")
    result = await run(raw, settings)
    assert signature(result).status is Status.PASS
    assert signature(result, "d=esp.example s=esp").kb == "dkim-key-not-found"
    assert item(result, "DKIM passes").status is Status.PASS


async def test_a_signature_that_only_an_esp_domain_makes_is_not_aligned(dns_server, settings, keys):
    publish(dns_server)
    dns_server.add("esp._domainkey.esp.example", "TXT", keys["rsa2048"].record())
    dns_server.add("esp.example", "TXT", f"v=spf1 ip4:{IP} -all")
    raw = sign(
        message(return_path="<bounce@esp.example>"), keys["rsa2048"], domain="esp.example", selector="esp"
    )
    result = await run(raw, settings)
    note = [f for f in only(result, "dkim-signature") if f.kb == "dkim-not-aligned"]
    assert len(note) == 1 and note[0].status is Status.WARN
    dmarc = one(result, "dmarc")
    assert (dmarc.status, dmarc.kb) == (Status.FAIL, "dmarc-not-aligned")
    assert "not aligned" in dmarc.summary and "p=reject" in dmarc.summary
    assert dmarc.evidence["disposition"] == "reject"


async def test_body_length_tag_is_a_warning(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    raw = sign(message(), keys["rsa2048"], length=True)
    raw += b"Appended by someone else.\r\n"
    result = await run(raw, settings)
    assert signature(result).evidence["l"]
    length = [f for f in only(result, "dkim-signature") if f.kb == "dkim-body-length"]
    assert len(length) == 1 and length[0].status is Status.WARN
    sig = [f for f in only(result, "dkim-signature") if f.kb == "dkim-signature-ok"]
    assert sig and sig[0].status is Status.PASS  # the appended text is outside l=, so it still verifies


async def test_rsa_sha1_and_unsigned_from_are_refused():
    sha1 = "v=1; a=rsa-sha1; d=shop.example; s=s1; h=from:to; bh=AAAA; b=AAAA"
    no_from = "v=1; a=rsa-sha256; d=shop.example; s=s1; h=to:subject; bh=AAAA; b=AAAA"
    broken = "v=1; a=rsa-sha256; s=s1; h=from; bh=AAAA; b=AAAA"
    raw = (
        "".join(f"DKIM-Signature: {v}\r\n" for v in (sha1, no_from, broken))
        + "From: a@shop.example\r\n\r\nhi\r\n"
    )
    found = signatures(load(raw))
    assert [s.result for s in found] == ["permerror"] * 3
    assert "RFC 8301" in found[0].reason
    assert "From is not in h=" in found[1].reason
    assert "missing or empty d=" in found[2].reason


async def test_an_rsa_sha1_signature_fails_even_though_it_is_valid(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    header = dkim.sign(
        message(), b"s1", DOMAIN.encode(), keys["rsa2048"].private, signature_algorithm=b"rsa-sha1"
    )
    f = signature(await run(header + message(), settings))
    assert f.status is Status.FAIL and "rsa-sha1" in f.summary


async def test_a_message_with_no_signature(dns_server, settings):
    publish(dns_server)
    result = await run(message(), settings)
    f = one(result, "dkim-signature")
    assert (f.status, f.kb) == (Status.FAIL, "dkim-unsigned")
    assert item(result, "DKIM passes").status is Status.FAIL


# -- damaged input ----------------------------------------------------------------------------------------


async def test_pasted_with_a_changed_body_never_fails_dkim(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    dns_server.add("esp.example", "TXT", "v=spf1 -all")  # SPF can't rescue DMARC here
    raw = sign(message(return_path="<b@esp.example>"), keys["rsa2048"]).decode()
    pasted = raw.replace("\r\n", "\n").replace("offers are inside.", "offers are\ninside.")
    result = await run(pasted, settings, pasted=True)
    f = signature(result)
    assert (f.status, f.kb) == (Status.INFO, "paste-body-unverifiable")
    assert "can't verify the body from a paste" in f.summary and "upload the .eml" in f.summary
    assert f.evidence["headers_verified"] is True
    dmarc = one(result, "dmarc")
    assert dmarc.status is Status.INFO and "would pass if the body is intact" in dmarc.summary
    assert not [
        x for x in result.findings if x.check in ("dkim-signature", "dmarc") and x.status is Status.FAIL
    ]
    assert item(result, "DKIM passes").status is Status.INFO


async def test_the_same_change_in_a_file_fails(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    raw = sign(message(), keys["rsa2048"]).replace(b"offers are inside.", b"offers are\r\ninside.")
    assert signature(await run(raw, settings)).status is Status.FAIL


def _wrap(raw: bytes) -> str:
    """What a narrow viewer does to a copied message: folded lines lose their leading whitespace."""
    head, _, body = raw.decode().partition("\r\n\r\n")
    head = re.sub(r"\r\n[ \t]+", "\n", head)
    return head + "\n\n" + body.replace("\r\n", "\n")


@pytest.mark.parametrize("name", ["rsa2048", "ed25519"])
async def test_wrapped_header_lines_in_a_paste_are_rejoined(dns_server, settings, keys, name):
    key = keys[name]
    publish(dns_server, key)
    raw = sign(message(), key, headers=[*HEADERS, "list-unsubscribe", "list-unsubscribe-post"])
    text = "```" + _wrap(raw) + "```"
    result = await run(text, settings, pasted=True)
    f = signature(result)
    assert f.status is Status.PASS, f.summary
    notes = [x.summary for x in only(result, "input")]
    assert any("rejoined" in s for s in notes) and any("code fence" in s for s in notes)


async def test_headers_only_says_the_body_cant_be_checked(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    head = sign(message(), keys["rsa2048"]).split(b"\r\n\r\n")[0] + b"\r\n"
    result = await run(head, settings)
    f = signature(result)
    assert (f.status, f.kb) == (Status.INFO, "message-input")
    assert "no body" in f.summary and "signed headers verify" in f.summary
    assert any("headers only" in x.summary for x in only(result, "input"))


async def test_a_message_over_the_size_limit_is_verified_on_its_headers(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    raw = sign(message(body="x" * 20_000 + "\r\n"), keys["rsa2048"])
    small = replace(settings, max_input_bytes=len(raw) - 5_000)
    result = await run(raw, small)
    f = signature(result)
    assert f.status is Status.INFO and "limit" in f.summary and f.evidence["headers_verified"] is True
    cut = one(result, "input")
    assert cut.status is Status.WARN and f"{len(raw):,} bytes" in cut.summary


async def test_non_utf8_headers_and_body_are_read(dns_server, settings, keys):
    key = keys["rsa2048"]
    publish(dns_server, key)
    raw = sign(message(subject="Caf\xe9", body="Prix: 5 \u20ac\r\n").replace("é".encode(), b"\xe9"), key)
    result = await run(raw, settings)
    assert signature(result).status is Status.PASS
    assert any("not UTF-8" in x.summary for x in only(result, "input"))


async def test_a_line_wrapped_mid_word_is_rejoined_without_a_space(dns_server, settings, keys):
    key = keys["rsa2048"]
    publish(dns_server, key)
    subject = "Spring offers for our most loyal customers"
    raw = sign(message(subject=subject), key).decode()
    pasted = raw.replace(subject, "Spring offers for our most loy\nal customers")
    f = signature(await run(pasted, settings, pasted=True))
    assert f.status is Status.PASS, f.summary
    assert "without a space" in f.evidence["note"]
