"""SPF and DMARC for whole messages, against the loopback DNS server."""

from __future__ import annotations

from checks.model import Status
from tests.checks.message.conftest import (
    DOMAIN,
    IP,
    OTHER_IP,
    item,
    message,
    one,
    publish,
    run,
    sign,
    signature,
)

# -- SPF ---------------------------------------------------------------------------------------------------


async def test_spf_fail_for_an_ip_the_domain_does_not_list(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"], ip=OTHER_IP)  # SPF and PTR name another address
    raw = sign(message(), keys["rsa2048"])
    result = await run(raw, settings)
    spf = one(result, "spf")
    assert (spf.status, spf.kb) == (Status.FAIL, "spf-ip-not-authorised")
    assert spf.about == IP and spf.evidence["result"] == "fail"
    assert item(result, "SPF passes").status is Status.FAIL
    assert one(result, "dmarc").status is Status.PASS  # DKIM still aligns


async def test_null_sender_is_evaluated_for_the_helo_name(dns_server, settings):
    dns_server.add(f"mail.{DOMAIN}", "TXT", f"v=spf1 ip4:{IP} -all")
    result = await run(message(return_path="<>"), settings)
    spf = one(result, "spf")
    assert spf.status is Status.PASS and spf.evidence["identity"] == "helo"
    assert "envelope sender is empty" in spf.summary
    assert result.envelope_sender == ""


async def test_spf_lookup_failure_is_an_error(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    dns_server.fault(DOMAIN, "servfail", rdtype="TXT")
    result = await run(sign(message(), keys["rsa2048"]), settings)
    spf = one(result, "spf")
    assert (spf.status, spf.kb) == (Status.ERROR, "dns-lookup-failed")
    assert item(result, "SPF passes").status is Status.ERROR


async def test_no_received_headers_means_no_spf_and_says_why(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    result = await run(sign(message(received=[]), keys["rsa2048"]), settings)
    path = one(result, "path")
    assert path.status is Status.WARN and "no Received headers" in path.summary
    assert one(result, "spf").status is Status.INFO
    assert item(result, "TLS on the sending hop").status is Status.INFO
    assert result.sending_ip is None
    assert signature(result).status is Status.PASS


# -- DMARC -------------------------------------------------------------------------------------------------


async def test_no_dmarc_record_fails(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    dns_server.remove(f"_dmarc.{DOMAIN}")
    result = await run(sign(message(), keys["rsa2048"]), settings)
    dmarc = one(result, "dmarc")
    assert (dmarc.status, dmarc.kb) == (Status.FAIL, "dmarc-missing")
    assert item(result, "DMARC published and aligned").status is Status.FAIL


async def test_dmarc_lookup_timeout_is_an_error(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    dns_server.fault(f"_dmarc.{DOMAIN}", "timeout")
    result = await run(sign(message(), keys["rsa2048"]), settings)
    dmarc = one(result, "dmarc")
    assert (dmarc.status, dmarc.kb) == (Status.ERROR, "dns-lookup-failed")
    assert item(result, "DMARC published and aligned").status is Status.ERROR


async def test_subdomain_uses_the_org_record_and_strict_alignment_fails(dns_server, settings, keys):
    key = keys["ed25519"]
    publish(dns_server, key)
    dns_server.set(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s")
    raw = sign(message(from_addr=f"news@news.{DOMAIN}"), key)
    result = await run(raw, settings)
    dmarc = one(result, "dmarc")
    assert dmarc.status is Status.FAIL, dmarc.summary
    assert dmarc.evidence["applies_from"] == f"_dmarc.{DOMAIN}"
    assert dmarc.evidence["disposition"] == "quarantine" and "sp=quarantine" in dmarc.summary
    assert "adkim=s" in dmarc.summary and "aspf=s" in dmarc.summary


async def test_relaxed_alignment_accepts_a_subdomain_signature(dns_server, settings, keys):
    key = keys["ed25519"]
    publish(dns_server, key, domain=f"mail.{DOMAIN}", selector="k1")
    publish(dns_server)
    raw = sign(message(return_path="<b@esp.example>"), key, domain=f"mail.{DOMAIN}", selector="k1")
    result = await run(raw, settings)
    dmarc = one(result, "dmarc")
    assert dmarc.status is Status.PASS and dmarc.evidence["dkim_aligned"] == [f"mail.{DOMAIN}"]


async def test_without_return_path_spf_alignment_is_unknown_not_failed(dns_server, settings):
    publish(dns_server)  # no DKIM key, so DMARC could pass only through SPF, which this copy can't show
    result = await run(message(return_path=None), settings)
    assert result.envelope_sender is None
    spf = one(result, "spf")
    # Only the HELO name could be evaluated, and it has no SPF record: a warning, not a failure.
    assert spf.status is Status.WARN and spf.evidence["identity"] == "helo" and "unknown" in spf.summary
    dmarc = one(result, "dmarc")
    assert (dmarc.status, dmarc.kb) == (Status.INFO, "message-path") and "Return-Path" in dmarc.summary
    assert item(result, "DMARC published and aligned").status is Status.INFO


async def test_exim_envelope_from_stands_in_for_a_missing_return_path(dns_server, settings):
    publish(dns_server)
    received = [
        f"from [{IP}] (helo=mail.{DOMAIN}) by mx.receiver.example with esmtps (TLS1.3) tls "
        f"TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <bounce@{DOMAIN}>) id 1rr; Tue, 02 Apr 2024"
    ]
    result = await run(message(return_path=None, received=received), settings)
    assert result.envelope_sender == f"bounce@{DOMAIN}"
    assert one(result, "spf").status is Status.PASS
    assert one(result, "dmarc").status is Status.PASS


async def test_an_esp_signature_beside_an_aligned_one_whose_key_timed_out_gives_no_signing_advice(
    dns_server, settings, keys
):
    publish(dns_server, keys["rsa2048"])
    dns_server.add("esp._domainkey.esp.example", "TXT", keys["ed25519"].record())
    dns_server.fault(f"s1._domainkey.{DOMAIN}", "timeout")
    raw = sign(sign(message(), keys["rsa2048"]), keys["ed25519"], domain="esp.example", selector="esp")
    result = await run(raw, settings)
    assert signature(result).status is Status.ERROR
    note = [f for f in result.findings if f.check == "dkim-signature" and f.kb == "dkim-not-aligned"]
    assert len(note) == 1 and note[0].status is Status.INFO, [(f.status, f.summary) for f in note]
    assert "could not be checked" in note[0].summary and "sign with" not in note[0].summary
    assert one(result, "dmarc").status is Status.PASS  # SPF aligns
