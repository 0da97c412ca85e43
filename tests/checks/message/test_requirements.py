"""The bulk-sender checklist: one-click unsubscribe, TLS, PTR and the RFC 5322 basics."""

from __future__ import annotations

import pytest

from checks.model import Status
from tests.checks.message.conftest import DOMAIN, HEADERS, IP, item, message, publish, run, sign

UNSUB = ["list-unsubscribe", "list-unsubscribe-post"]
HTTPS = f"List-Unsubscribe: <https://{DOMAIN}/u/123>, <mailto:unsub@{DOMAIN}?subject=u123>"
POST = "List-Unsubscribe-Post: List-Unsubscribe=One-Click"


async def one_click(dns_server, settings, keys, extra, signed=UNSUB, *, pasted=False):
    publish(dns_server, keys["rsa2048"])
    raw = sign(message(extra=extra), keys["rsa2048"], headers=HEADERS + signed)
    if pasted:
        raw = raw.replace(b"offers are inside", b"offers\nare inside").decode()
    return item(await run(raw, settings, pasted=pasted), "one-click unsubscribe")


async def test_one_click_present_and_signed(dns_server, settings, keys):
    f = await one_click(dns_server, settings, keys, [HTTPS, POST])
    assert (f.status, f.kb) == (Status.PASS, "bulk-one-click-unsubscribe")
    assert f.evidence["covered_by"] == [f"d={DOMAIN} s=s1"]


async def test_one_click_signed_in_a_paste_counts_on_its_verified_headers(dns_server, settings, keys):
    f = await one_click(dns_server, settings, keys, [HTTPS, POST], pasted=True)
    assert f.status is Status.PASS


async def test_one_click_absent(dns_server, settings, keys):
    f = await one_click(dns_server, settings, keys, [], signed=[])
    assert f.status is Status.WARN and "no List-Unsubscribe header" in f.summary


async def test_one_click_present_but_not_signed(dns_server, settings, keys):
    f = await one_click(dns_server, settings, keys, [HTTPS, POST], signed=[])
    assert f.status is Status.FAIL and "no DKIM signature covers both" in f.summary


async def test_one_click_signed_by_a_failing_signature(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    raw = sign(message(extra=[HTTPS, POST]), keys["rsa2048"], headers=HEADERS + UNSUB)
    raw = raw.replace(b"/u/123", b"/u/999")
    f = item(await run(raw, settings), "one-click unsubscribe")
    assert f.status is Status.FAIL and "does not verify" in f.summary


@pytest.mark.parametrize(
    ("extra", "status", "words"),
    [
        ([f"List-Unsubscribe: <mailto:unsub@{DOMAIN}>"], Status.WARN, "only mailto URIs"),
        ([f"List-Unsubscribe: <mailto:unsub@{DOMAIN}>", POST], Status.FAIL, "no https URI"),
        ([HTTPS], Status.WARN, "no 'List-Unsubscribe-Post"),
        ([HTTPS, "List-Unsubscribe-Post: yes"], Status.FAIL, "must read exactly"),
        ([POST], Status.FAIL, "without a List-Unsubscribe"),
    ],
)
async def test_one_click_done_wrong(dns_server, settings, keys, extra, status, words):
    f = await one_click(dns_server, settings, keys, extra)
    assert f.status is status and words in f.summary, f.summary


def _received(protocol: str) -> list[str]:
    return [
        f"from mail.{DOMAIN} (mail.{DOMAIN} [{IP}]) by mx.receiver.example with {protocol} id 1; 2 Apr 2024"
    ]


@pytest.mark.parametrize(("protocol", "status"), [("ESMTPS", Status.PASS), ("ESMTP", Status.FAIL)])
async def test_tls_on_the_sending_hop(dns_server, settings, keys, protocol, status):
    publish(dns_server, keys["rsa2048"])
    result = await run(sign(message(received=_received(protocol)), keys["rsa2048"]), settings)
    f = item(result, "TLS on the sending hop")
    assert f.status is status and protocol in f.summary


async def test_ptr_missing_not_confirmed_and_unreachable(dns_server, settings, keys):
    publish(dns_server, keys["rsa2048"])
    raw = sign(message(), keys["rsa2048"])
    dns_server.set(f"mail.{DOMAIN}", "A", "89.160.20.112")
    f = item(await run(raw, settings), "PTR forward-confirmed")
    assert f.status is Status.FAIL and "does not resolve back" in f.summary
    dns_server.remove("160.69.2.81.in-addr.arpa")
    f = item(await run(raw, settings), "PTR forward-confirmed")
    assert f.status is Status.FAIL and "no PTR" in f.summary
    dns_server.fault("160.69.2.81.in-addr.arpa", "timeout")
    f = item(await run(raw, settings), "PTR forward-confirmed")
    assert f.status is Status.ERROR and f.summary.startswith("could not check")


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            lambda raw: raw.replace(f"Message-ID: <20240402100000.1@{DOMAIN}>\r\n".encode(), b""),
            "no Message-ID",
        ),
        (lambda raw: b"From: other@shop.example\r\n" + raw, "2 From headers"),
        (lambda raw: b"Subject: again\r\n" + raw, "2 subject headers"),
    ],
)
async def test_rfc5322_basics(dns_server, settings, edit, words):
    publish(dns_server)
    f = item(await run(edit(message()), settings), "one From, a Date and a Message-ID")
    assert (f.status, f.kb) == (Status.FAIL, "bulk-from-date-msgid")
    assert words in f.summary


async def test_a_well_formed_message_passes_rfc5322(dns_server, settings):
    publish(dns_server)
    f = item(await run(message(), settings), "one From, a Date and a Message-ID")
    assert f.status is Status.PASS
