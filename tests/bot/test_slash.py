import pytest

from bot import slash
from bot.services import Services
from bot.slash import HelpAnswer, ProblemAnswer, ReportAnswer, parse


def test_check_with_ip_and_selectors():
    r = parse("check example.com ip=81.2.69.160 selector=s1 selector=google")
    assert (r.sub, r.target, r.ip, r.selectors, r.problem) == (
        "check",
        "example.com",
        "81.2.69.160",
        ("s1", "google"),
        "",
    )
    assert r.command_text() == "check example.com ip=81.2.69.160 selector=s1 selector=google"


def test_narrow_subcommands():
    assert parse("spf example.com 81.2.69.160").ip == "81.2.69.160"
    assert parse("dkim example.com s1").selectors == ("s1",)
    assert parse("dkim example.com").problem.startswith("usage: `dkim")
    assert parse("dmarc example.com extra").problem
    assert parse("ip").problem


def test_private_and_public_flags():
    assert parse("private check example.com").private is True
    assert parse("check example.com public").private is False
    assert parse("check example.com").private is None
    assert parse("check example.com").is_private(True) is True
    assert parse("private diagnose 550 5.7.1 blocked private").text == "550 5.7.1 blocked private"


def test_diagnose_keeps_the_paste_verbatim():
    r = parse("diagnose Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.org")
    assert r.sub == "diagnose"
    assert r.text == "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.org"
    assert parse("diagnose").problem


@pytest.mark.parametrize("text", ["", "   ", "frobnicate", "help", "HELP me"])
def test_anything_else_is_help(text):
    assert parse(text).sub == "help"


def test_a_bare_target_gets_a_hint():
    r = parse("example.com")
    assert r.sub == "help"
    assert "check example.com" in r.problem


async def test_execute_turns_bad_input_into_answers(settings):
    services = Services.create(settings, with_store=False)
    assert isinstance(await slash.execute(parse("help"), services), HelpAnswer)
    answer = await slash.execute(parse("check 10.0.0.1"), services)
    assert isinstance(answer, ProblemAnswer) and "not a public address" in answer.problem
    answer = await slash.execute(parse("ip example.com"), services)
    assert isinstance(answer, ProblemAnswer) and "IP address" in answer.problem
    answer = await slash.execute(parse("dmarc 81.2.69.160"), services)
    assert isinstance(answer, ProblemAnswer)
    answer = await slash.execute(parse("incidents"), services)
    assert isinstance(answer, ProblemAnswer) and "not available" in answer.problem


async def test_execute_runs_only_the_narrow_check(settings, dns_server):
    dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject; rua=mailto:d@example.com")
    services = Services.create(settings, with_store=False)
    answer = await slash.execute(parse("dmarc example.com"), services)
    assert isinstance(answer, ReportAnswer)
    assert {f.check for f in answer.report.findings} == {"dmarc"}


def test_analyze_keeps_the_pasted_message_whole():
    # Folded lines, blank lines and trailing spaces inside the message are its own: they stay.
    text = "Received: from a ([81.2.69.160])\n by b; Tue, 2 Apr 2024\nFrom: x@shop.example\n\nbody  \n\nend"
    request = parse(f"private analyze {text}")
    assert (request.sub, request.private, request.problem) == ("analyze", True, "")
    assert request.text == text
    assert parse("analyze").problem == "paste the raw message after `analyze`"
