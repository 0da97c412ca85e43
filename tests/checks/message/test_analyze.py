"""The entry point: its contract, its deadline, bad input, and the knowledge-base ids its modules use."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from checks.message import MessageError
from checks.model import Status
from knowledge.base import load
from tests.checks.message.conftest import DOMAIN, IP, item, message, one, only, publish, run, sign
from tests.knowledge.test_base import kb_literals

PACKAGE = Path(__file__).resolve().parents[3] / "checks" / "message"


def test_every_kb_id_the_package_references_exists():
    referenced = set()
    for path in PACKAGE.glob("*.py"):
        referenced |= kb_literals(path.read_text(encoding="utf-8"))
    missing = sorted(r for r in referenced if r not in load())
    assert len(referenced) > 25 and not missing, missing


async def test_the_json_contract(dns_server, settings, keys):
    publish(dns_server, keys["ed25519"])
    result = await run(sign(message(), keys["ed25519"]), settings)
    data = result.to_dict()
    assert data["from_domain"] == DOMAIN and data["sending_ip"] == IP
    assert data["helo"] == f"mail.{DOMAIN}" and data["envelope_sender"] == f"bounce@{DOMAIN}"
    ranks = [f["status"] for f in data["findings"]]
    order = ["fail", "error", "warn", "info", "pass"]
    assert [order.index(r) for r in ranks] == sorted(order.index(r) for r in ranks)
    report = result.as_report()
    assert (report.target, report.kind, len(report.findings)) == (DOMAIN, "message", len(result.findings))
    assert one(result, "path").evidence["chosen"]["ip"] == IP


async def test_parts_that_miss_the_deadline_report_errors(dns_server, settings, keys):
    publish(dns_server, keys["ed25519"])
    dns_server.fault(f"_dmarc.{DOMAIN}", "delay", seconds=3)
    quick = replace(settings, check_deadline=0.5)
    result = await run(sign(message(), keys["ed25519"]), quick)
    late = [f for f in result.findings if f.check == "dmarc"]
    assert len(late) == 1 and late[0].status is Status.ERROR and "timed out" in late[0].summary
    assert item(result, "DMARC published and aligned").status is Status.ERROR
    assert not [f for f in result.findings if f.status is Status.FAIL]


@pytest.mark.parametrize(
    "raw",
    [
        b"Received: from\r\nReceived: (((\r\nFrom: \r\nFrom: <>\r\nDate: yesterday\r\n\r\n",
        b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=; h=from; bh=!!; b=??\r\nFrom: x@shop.example\r\n\r\nx",
        b"DKIM-Signature: garbage without tags\r\nFrom: a@[81.2.69.160]\r\n\r\n\xff\xfe\x00\x01",
        b"From: a@shop.example\r\nAuthentication-Results: ;;; dkim=\r\nARC-Seal: i=x\r\n\r\n",
        b"From: a@shop.example\r\nList-Unsubscribe: https://no-brackets.example\r\n\r\n",
        "From: caf\u00e9@exa\u00e9mple.com\nReceived: from x (x [2a02:cf40::1]) by mx.example\n\nbody",
    ],
)
async def test_malformed_messages_get_an_answer_not_a_traceback(dns_server, settings, raw):
    result = await run(raw, settings)
    assert result.findings
    assert all(f.summary for f in result.findings)
    checks = {f.check for f in result.findings}
    assert {"path", "bulk-requirements"} <= checks


async def test_not_a_message_raises_message_error(settings):
    with pytest.raises(MessageError):
        await run("hi there", settings)


async def test_a_pasted_message_says_once_that_bodies_prove_nothing(dns_server, settings, keys):
    publish(dns_server, keys["ed25519"])
    result = await run(sign(message(), keys["ed25519"]).decode(), settings, pasted=True)
    assert result.pasted and any("upload the" in f.summary for f in only(result, "input"))


async def test_a_paste_hard_wrapped_through_the_sending_ip_still_finds_it(dns_server, settings, keys):
    # A viewer that cuts lines at a fixed column splits "[81.2.69.160]"; the rejoin with a space hides it.
    publish(dns_server, keys["rsa2048"])
    raw = sign(message(), keys["rsa2048"]).decode()
    cut = raw.index(IP) + 4
    wrapped = raw[:cut] + "\n" + raw[cut:]
    result = await run(wrapped, settings, pasted=True)
    assert result.sending_ip == IP
    assert one(result, "spf").status is Status.PASS
