"""Keys made for the session, messages signed with them in the tests, and the zone data that makes them pass.

RSA keys come from `openssl genrsa` (PKCS#1, which dkimpy signs with); the Ed25519 key from PyNaCl.
Every message is signed here with dkimpy, so what the analysis verifies is real cryptography, and
every key, SPF, DMARC and PTR record is served by the loopback DNS server.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from dataclasses import dataclass

import dkim
import nacl.signing
import pytest

from checks.message import MessageAnalysis, analyze
from checks.model import Finding
from checks.runner import make_resolver
from knowledge.base import load

IP = "81.2.69.160"
OTHER_IP = "89.160.20.112"
DOMAIN = "shop.example"


@dataclass(frozen=True)
class Key:
    private: bytes  # what dkim.sign takes: PEM (RSA) or the base64 seed (Ed25519)
    public: str  # the p= value
    kind: str  # rsa | ed25519
    bits: int

    @property
    def algorithm(self) -> bytes:
        return b"ed25519-sha256" if self.kind == "ed25519" else b"rsa-sha256"

    def record(self) -> str:
        return f"v=DKIM1; k={self.kind}; p={self.public}"


def _rsa(bits: int) -> Key:
    pem = subprocess.run(
        ["openssl", "genrsa", "-traditional", str(bits)], capture_output=True, check=True, timeout=120
    ).stdout
    der = subprocess.run(
        ["openssl", "rsa", "-pubout", "-outform", "DER"],
        input=pem,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return Key(pem, base64.b64encode(der).decode(), "rsa", bits)


@pytest.fixture(scope="session")
def keys() -> dict[str, Key]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the RSA test keys are made with `openssl genrsa`")
    seed = nacl.signing.SigningKey.generate()
    ed = Key(base64.b64encode(bytes(seed)), base64.b64encode(bytes(seed.verify_key)).decode(), "ed25519", 256)
    return {"rsa1024": _rsa(1024), "rsa2048": _rsa(2048), "ed25519": ed}


def message(
    *,
    from_addr: str = f"News <news@{DOMAIN}>",
    return_path: str | None = f"<bounce@{DOMAIN}>",
    received: list[str] | None = None,
    extra: list[str] = (),
    body: str = "Hello,\r\n\r\nThis month's offers are inside.\r\n",
    subject: str = "Offers",
) -> bytes:
    """An unsigned message with the usual headers; Received headers top (newest) first."""
    if received is None:
        received = [
            f"from mail.{DOMAIN} (mail.{DOMAIN} [{IP}]) by mx.receiver.example (Postfix) with ESMTPS "
            "id 4AbC1; Tue, 2 Apr 2024 10:00:01 +0000",
            f"from app1.{DOMAIN} (app1.{DOMAIN} [10.0.0.5]) by mail.{DOMAIN} with ESMTP id 77; "
            "Tue, 2 Apr 2024 10:00:00 +0000",
        ]
    lines = []
    if return_path is not None:
        lines.append(f"Return-Path: {return_path}")
    lines += [f"Received: {r}" for r in received]
    lines += [
        f"From: {from_addr}",
        "To: someone@receiver.example",
        f"Subject: {subject}",
        "Date: Tue, 2 Apr 2024 10:00:00 +0000",
        f"Message-ID: <20240402100000.1@{DOMAIN}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


HEADERS = ["from", "to", "subject", "date", "message-id"]


def sign(
    raw: bytes,
    key: Key,
    *,
    domain: str = DOMAIN,
    selector: str = "s1",
    headers: list[str] | None = None,
    length: bool = False,
) -> bytes:
    """The message with a DKIM-Signature added on top, signed with dkimpy."""
    include = [h.encode() for h in (headers or HEADERS)]
    header = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        key.private,
        signature_algorithm=key.algorithm,
        include_headers=include,
        length=length,
    )
    return header + raw


def publish(
    server, key: Key | None = None, *, domain: str = DOMAIN, selector: str = "s1", ip: str = IP
) -> None:
    """A sending domain in good order: key, SPF for the IP, DMARC p=reject, forward-confirmed PTR."""
    if key is not None:
        server.add(f"{selector}._domainkey.{domain}", "TXT", key.record())
    server.add(domain, "TXT", f"v=spf1 ip4:{ip} -all")
    server.add(f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=reject; rua=mailto:dmarc@{domain}")
    reverse = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
    server.add(reverse, "PTR", f"mail.{domain}")
    server.add(f"mail.{domain}", "A", ip)


async def run(raw: bytes | str, settings, *, pasted: bool = False) -> MessageAnalysis:
    resolver = make_resolver(settings)
    result = await analyze(raw, dns=resolver, settings=settings, pasted=pasted)
    kb = load()
    for finding in result.findings:
        assert finding.kb is None or finding.kb in kb, f"{finding.kb} is not a knowledge-base entry"
    return result


def only(result: MessageAnalysis, check: str, about: str | None = None) -> list[Finding]:
    return [f for f in result.findings if f.check == check and (about is None or f.about == about)]


def one(result: MessageAnalysis, check: str, about: str | None = None) -> Finding:
    found = only(result, check, about)
    assert len(found) == 1, [(f.check, f.about, f.status, f.summary) for f in result.findings]
    return found[0]


def item(result: MessageAnalysis, about: str) -> Finding:
    return one(result, "bulk-requirements", about)


EXTRAS = ("dkim-weak-key", "dkim-body-length", "dkim-not-aligned")


def signature(result: MessageAnalysis, label: str = f"d={DOMAIN} s=s1") -> Finding:
    """The verdict on one signature (not the extra notes about its key size, l= or alignment)."""
    found = [f for f in only(result, "dkim-signature", label) if f.kb not in EXTRAS]
    assert len(found) == 1, [(f.about, f.status, f.summary) for f in only(result, "dkim-signature")]
    return found[0]
