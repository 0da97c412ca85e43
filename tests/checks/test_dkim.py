"""The dkim check end to end against the loopback DNS server: keys, flags, providers, probing, failures."""

from dataclasses import replace

import pytest

from checks.dkim import DEFAULT_SELECTORS, WILDCARD_PROBE, parse_key, provider_of
from checks.model import Finding, Status
from checks.runner import run_checks
from checks.target import Target
from knowledge.base import load
from tests.conftest import run_cli_json

# Public halves of RSA keys made once with `openssl genpkey` for these tests (SubjectPublicKeyInfo, base64).
RSA_512 = (
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKUNFxsT+RE5i7fJGKsHhUckWszg0GRWo9dJ7x7x8KCNILpcC74dPb2QUiHYwMU7"
    "RMm4suTbcbzdQi3nTkypVpsCAwEAAQ=="
)
RSA_1024 = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC+DIc+2PrKXmb5TF2Zt++TUo5Ro/hzaqe8vPLwODufdAg60rkC96CvdrLr"
    "rOV/nw43A3lb1HRizy0pFD6bBpOnXGsKM8Ao5f5EWfC/AXrwOtjjZ9+17ub8zUicAQmYCe2ODSDRCIIvCA/mgyYyQVPiivq8"
    "vK8OemobWZG0g+VgowIDAQAB"
)
RSA_2048 = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs7Cjq5cq8dNFqcv4s7+v9/pijnfRq7RWET4t7visA2dqTlRuldLu"
    "1qo5C5gpaVy3jXMDKpqi6KDHo7xeQAgrM/+xudIsqe2pm8x8EW+OiIIS1o3FV7AbijYHM9hzt46W2ETL4XOZgO+BQR6phuFt"
    "/fP71gL29SKhKIafd2t5oB8P9JJZ059nv7DvhEM5APsEmhZ6XxDeRJd9/40kJI7PbD41FxlUonAWC6LVlxAkVETNFSmjT/Pn"
    "N8RA4iCCCcTyQJeAYlDwvDF5sybyynB3m+LRmYVLbnv8StQhzsjwjKxihAH3iSQKBReER4jJr2Jj4psEQ4hPfzbmXoXUXrQQ"
    "+QIDAQAB"
)
# The same 1024-bit key as a bare PKCS#1 RSAPublicKey, which older generators published.
RSA_1024_PKCS1 = (
    "MIGJAoGBAL4Mhz7Y+speZvlMXZm375NSjlGj+HNqp7y88vA4O590CDrSuQL3oK92suus5X+fDjcDeVvUdGLPLSkUPpsGk6dc"
    "awozwCjl/kRZ8L8BevA62ONn37Xu5vzNSJwBCZgJ7Y4NINEIgi8ID+aDJjJBU+KK+ry8rw56ahtZkbSD5WCjAgMBAAE="
)
ED25519 = "flSSo/Jwy1zhfR5ZXr6t80yyOrdBRhkjWcznu6hc88M="  # RFC 8463: the raw 32-byte public key


async def dkim(settings, *selectors: str, domain: str = "example.com") -> list[Finding]:
    report = await run_checks(Target("domain", domain), settings, selectors=selectors, only=("dkim",))
    kb = load()
    for finding in report.findings:
        assert finding.check == "dkim"
        assert finding.kb in kb, finding
    return report.findings


def one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


async def test_explicit_selector_with_a_2048_bit_key_passes(dns_server, settings):
    # The record is longer than one 255-byte string: the server splits it, the resolver joins it.
    dns_server.add("sel2048._domainkey.example.com", "TXT", f"v=DKIM1; k=rsa; p={RSA_2048}")
    f = one(await dkim(settings, "sel2048"))
    assert (f.status, f.kb) == (Status.PASS, "dkim-ok")
    assert f.about == "sel2048._domainkey.example.com"
    assert f.evidence["key_bits"] == 2048 and f.evidence["key_type"] == "rsa"
    assert "2048-bit RSA" in f.summary


@pytest.mark.parametrize(
    ("key", "status", "bits"),
    [(RSA_1024, Status.WARN, 1024), (RSA_1024_PKCS1, Status.WARN, 1024), (RSA_512, Status.FAIL, 512)],
)
async def test_short_rsa_keys(dns_server, settings, key, status, bits):
    dns_server.add("mail._domainkey.example.com", "TXT", f"v=DKIM1; p={key}")
    f = one(await dkim(settings, "mail"))
    assert (f.status, f.kb) == (status, "dkim-weak-key")
    assert f.evidence["key_bits"] == bits
    assert f"{bits} bits" in f.summary


async def test_ed25519_key_passes(dns_server, settings):
    dns_server.add("ed._domainkey.example.com", "TXT", f"v=DKIM1; k=ed25519; p={ED25519}")
    f = one(await dkim(settings, "ed"))
    assert (f.status, f.kb) == (Status.PASS, "dkim-ok")
    assert f.evidence["key_type"] == "ed25519" and f.evidence["key_bits"] == 256
    assert "Ed25519" in f.summary


async def test_revoked_key_fails_when_named_and_warns_when_probed(dns_server, settings):
    dns_server.add("google._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=")
    named = one(await dkim(settings, "google"))
    assert (named.status, named.kb) == (Status.FAIL, "dkim-revoked")
    assert "revoked" in named.summary
    probed = one(await dkim(settings))
    assert (probed.status, probed.kb) == (Status.WARN, "dkim-revoked")


async def test_testing_flag_warns(dns_server, settings):
    dns_server.add("s1._domainkey.example.com", "TXT", f"v=DKIM1; t=y; p={RSA_2048}")
    f = one(await dkim(settings, "s1"))
    assert (f.status, f.kb) == (Status.WARN, "dkim-testing")
    assert "t=y" in f.summary


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ("v=DKIM1; k=rsa; p=MIIB!!notbase64", "not valid base64"),
        (f"v=DKIM1; k=dsa; p={RSA_2048}", "unknown key type"),
        ("v=DKIM1; k=rsa", "no p= tag"),
        (f"v=DKIM2; p={RSA_2048}", "must be DKIM1"),
        (f"v=DKIM1; p={RSA_2048}; p={RSA_1024}", "appears twice"),
        ("v=DKIM1; p=aGVsbG8gd29ybGQ=", "not hold a readable RSA public key"),
        ("v=DKIM1; k=ed25519; p=aGVsbG8gd29ybGQ=", "32 bytes"),
        (f"v=DKIM1; h=sha1; p={RSA_2048}", "sha256"),
        (f"v=DKIM1; s=tlsrpt; p={RSA_2048}", "not for email"),
    ],
)
async def test_unusable_records_fail(dns_server, settings, record, words):
    dns_server.add("bad._domainkey.example.com", "TXT", record)
    f = one(await dkim(settings, "bad"))
    assert (f.status, f.kb) == (Status.FAIL, "dkim-syntax")
    assert words in f.summary
    assert f.evidence["record"] == record


async def test_provider_is_named_by_the_cname_target_not_the_selector(dns_server, settings):
    sendgrid = "s1.domainkey.u1234.wl001.sendgrid.net"
    dns_server.add("s1._domainkey.example.com", "CNAME", sendgrid)
    dns_server.add(sendgrid, "TXT", f"k=rsa; p={RSA_2048}")
    dns_server.add("s1._domainkey.example.org", "CNAME", "s1.domainkey.tutanota.de")
    dns_server.add("s1.domainkey.tutanota.de", "TXT", f"v=DKIM1; p={RSA_2048}")
    dns_server.add("s2._domainkey.example.org", "TXT", f"v=DKIM1; p={RSA_2048}")
    f = one(await dkim(settings, "s1"))
    assert f.status is Status.PASS
    assert f.evidence["provider"] == "Twilio SendGrid" and f.evidence["cnames"] == [sendgrid]
    assert "Twilio SendGrid" in f.summary and sendgrid in f.summary
    tuta, plain = await dkim(settings, "s1", "s2", domain="example.org")
    assert tuta.evidence["provider"] == "Tuta"
    assert "provider" not in plain.evidence  # no CNAME, no attribution from the name `s2`


async def test_probing_finds_keys_at_common_selectors(dns_server, settings):
    dns_server.add(
        "selector1._domainkey.example.com",
        "CNAME",
        "selector1-example-com._domainkey.contoso.onmicrosoft.com",
    )
    dns_server.add(
        "selector1-example-com._domainkey.contoso.onmicrosoft.com", "TXT", f"v=DKIM1; p={RSA_2048}"
    )
    dns_server.add("k1._domainkey.example.com", "TXT", f"v=DKIM1; p={RSA_1024}")
    findings = await dkim(settings)
    by_about = {f.about: f for f in findings}
    assert set(by_about) == {"selector1._domainkey.example.com", "k1._domainkey.example.com"}
    m365 = by_about["selector1._domainkey.example.com"]
    assert m365.status is Status.PASS and m365.evidence["provider"] == "Microsoft 365"
    assert by_about["k1._domainkey.example.com"].status is Status.WARN
    assert m365.evidence["probe"]["probed"] == len(DEFAULT_SELECTORS)
    asked = {
        name
        for name, rdtype, _ in dns_server.log
        if rdtype == "TXT" and name.endswith("._domainkey.example.com")
    }
    probes = {*DEFAULT_SELECTORS, WILDCARD_PROBE}  # plus one selector nobody publishes, to spot a wildcard
    assert asked == {f"{s}._domainkey.example.com" for s in probes}


async def test_probing_that_finds_nothing_is_only_a_warning(dns_server, settings):
    dns_server.add("example.com", "TXT", "v=spf1 -all")
    f = one(await dkim(settings))
    assert (f.status, f.kb) == (Status.WARN, "dkim-missing")
    assert "give yours with --selector" in f.summary
    assert "exists" not in f.summary
    # A key under an unknown selector makes _domainkey an empty non-terminal: say so.
    dns_server.add("corp2024._domainkey.example.com", "TXT", f"v=DKIM1; p={RSA_2048}")
    f = one(await dkim(settings))
    assert f.status is Status.WARN and "_domainkey.example.com exists" in f.summary


async def test_probing_ignores_wildcard_text_that_is_not_a_key(dns_server, settings):
    dns_server.add("*.example.com", "TXT", "v=spf1 include:_spf.example.net -all")
    f = one(await dkim(settings))
    assert (f.status, f.kb) == (Status.WARN, "dkim-missing")
    assert f.evidence["non_key_txt"]
    assert "exists" not in f.summary  # the wildcard answers for _domainkey too: no hint from it


async def test_explicit_selector_without_a_key_fails(dns_server, settings):
    dns_server.add("example.com", "MX", "10 mx.example.com")
    f = one(await dkim(settings, "nothere"))
    assert (f.status, f.kb) == (Status.FAIL, "dkim-key-not-found")
    assert f.summary == "no DKIM key at nothere._domainkey.example.com"


async def test_explicit_selector_with_a_dangling_cname_names_the_target(dns_server, settings):
    dns_server.add("k2._domainkey.example.com", "CNAME", "dkim2.mcsv.net")
    f = one(await dkim(settings, "k2"))
    assert (f.status, f.kb) == (Status.FAIL, "dkim-key-not-found")
    assert "dkim2.mcsv.net (Mailchimp), which has no key" in f.summary


async def test_selector_input_is_normalised_and_bad_ones_are_refused(dns_server, settings):
    dns_server.add("s1._domainkey.example.com", "TXT", f"v=DKIM1; p={RSA_2048}")
    findings = await dkim(settings, "S1._domainkey.example.com.", "s1", "bad selector")
    assert [f.status for f in findings] == [Status.ERROR, Status.PASS]
    assert "not a valid DKIM selector" in findings[0].summary
    assert len(dns_server.queries_for("s1._domainkey.example.com")) == 1


async def test_several_keys_at_one_selector_warn(dns_server, settings):
    dns_server.add("two._domainkey.example.com", "TXT", f"v=DKIM1; p={RSA_2048}", f"v=DKIM1; p={RSA_1024}")
    findings = await dkim(settings, "two")
    assert sorted(f.status for f in findings) == sorted([Status.PASS, Status.WARN, Status.WARN])
    assert any("2 DKIM key records" in f.summary for f in findings)


@pytest.mark.parametrize("fault", ["servfail", "refused", "timeout"])
async def test_failed_lookup_of_a_named_selector_is_an_error(dns_server, settings, fault):
    dns_server.fault("s1._domainkey.example.com", fault)
    f = one(await dkim(replace(settings, dns_timeout=0.3), "s1"))
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed")
    assert f.summary.startswith("could not check: the lookup of s1._domainkey.example.com failed")
    assert f.evidence["outcome"] == fault


async def test_probes_that_all_fail_are_an_error(dns_server, settings):
    for selector in DEFAULT_SELECTORS:
        dns_server.fault(f"{selector}._domainkey.example.com", "servfail")
    f = one(await dkim(settings))
    assert (f.status, f.kb) == (Status.ERROR, "dns-lookup-failed")
    assert f.summary.startswith(f"could not check: all {len(DEFAULT_SELECTORS)} selector lookups failed")


async def test_some_failed_probes_are_counted_not_reported_as_missing_keys(dns_server, settings):
    dns_server.fault("google._domainkey.example.com", "servfail")
    dns_server.fault("s1._domainkey.example.com", "timeout")
    f = one(await dkim(replace(settings, dns_timeout=0.3)))
    assert (f.status, f.kb) == (Status.WARN, "dkim-missing")
    assert f.evidence["probe"]["failed"] == 2
    assert set(f.evidence["probe"]["failed_lookups"]) == {
        "google._domainkey.example.com",
        "s1._domainkey.example.com",
    }
    assert "2 lookups failed" in f.summary


def test_parse_key_reads_tags_with_folding_whitespace():
    record = parse_key(f"v = DKIM1 ;\tk=rsa; p={RSA_2048[:60]} {RSA_2048[60:]} ;")
    assert record.bits == 2048 and not record.issues
    assert record.tags["k"] == "rsa"


def test_provider_needs_a_label_boundary():
    assert provider_of(["x.dkim.amazonses.com"]) == "Amazon SES"
    assert provider_of(["notsendgrid.net"]) is None


def test_cli_passes_selectors_through(dns_server):
    dns_server.add("s1._domainkey.example.com", "TXT", f"v=DKIM1; p={RSA_2048}")
    proc, data = run_cli_json("check", "example.com", "--selector", "s1", server=dns_server)
    assert data is not None, proc.stderr
    dkim_findings = [f for f in data["findings"] if f["check"] == "dkim"]
    assert [(f["status"], f["about"]) for f in dkim_findings] == [("pass", "s1._domainkey.example.com")]


async def test_selector_left_dangling_by_an_authoritative_server_is_error(dns_server, settings):
    # nsd answers a CNAME into the ESP's zone with the CNAME alone: the key was never seen, not missing.
    dns_server.serve_zones("example.com")
    dns_server.add("s1._domainkey.example.com", "CNAME", "s1.domainkey.u1234.wl.sendgrid.net")
    [finding] = await dkim(settings, "s1")
    assert finding.status is Status.ERROR and finding.kb == "dns-lookup-failed"
    assert "s1.domainkey.u1234.wl.sendgrid.net" in finding.summary
    assert finding.evidence["provider"] == "Twilio SendGrid"


async def test_upper_case_tags_are_not_a_key_and_say_why(dns_server, settings):
    dns_server.add("s1._domainkey.example.com", "TXT", f"V=DKIM1; K=rsa; P={RSA_2048}")
    [finding] = await dkim(settings, "s1")
    assert finding.status is Status.FAIL and "write p=, not P=" in finding.summary


async def test_a_revoking_wildcard_is_one_information_not_a_warning_per_selector(dns_server, settings):
    # The parked-domain setup: *._domainkey revokes every selector.
    dns_server.add("*._domainkey.example.com", "TXT", "v=DKIM1; p=")
    f = one(await dkim(settings))
    assert (f.status, f.kb, f.about) == (Status.INFO, "dkim-revoked", "*._domainkey.example.com")


async def test_a_wildcard_key_is_reported_once_beside_real_selectors(dns_server, settings):
    dns_server.add("*._domainkey.example.com", "TXT", f"v=DKIM1; p={RSA_2048}")
    dns_server.add("k1._domainkey.example.com", "TXT", f"v=DKIM1; p={RSA_1024}")
    findings = await dkim(settings)
    by_about = {f.about: f for f in findings}
    assert set(by_about) == {"*._domainkey.example.com", "k1._domainkey.example.com"}
    assert by_about["*._domainkey.example.com"].status is Status.PASS
    assert "wildcard" in by_about["*._domainkey.example.com"].summary
    assert by_about["k1._domainkey.example.com"].status is Status.WARN
