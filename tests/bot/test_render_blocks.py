import json
from datetime import UTC, datetime

from bot import render_blocks as rb
from bot.ids import ActionId
from bot.slash import HelpAnswer, ProblemAnswer, ReportAnswer, parse
from checks.model import Finding, Report, Status
from incidents.model import Incident, Observation
from knowledge.base import load
from tests.slack_standin import block_errors


def payload_errors(message: rb.Message, limit: int = 50) -> list[str]:
    return block_errors(message.payload()["blocks"], limit)


def report(n: int, summary: str = "x") -> Report:
    findings = [
        Finding(
            "spf" if i % 2 else "blocklist",
            Status.FAIL if i % 3 == 0 else Status.PASS,
            f"h{i}",
            f"{summary} {i}",
        )
        for i in range(n)
    ]
    return Report("example.com", "domain", findings, 42, queries=7)


def test_a_report_renders_grouped_with_buttons():
    message = rb.render(ReportAnswer(parse("check example.com"), report(4)), load(), incidents_enabled=True)
    assert payload_errors(message) == []
    assert not message.shortened
    blocks = message.payload()["blocks"]
    assert blocks[0]["type"] == "header" and "example.com" in blocks[0]["text"]["text"]
    text = json.dumps(blocks)
    assert "*SPF*" in text and "*BLOCKLIST*" in text
    actions = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == [ActionId.RERUN, ActionId.LOG_INCIDENT]
    assert actions[0]["value"] == "check example.com"
    assert message.text.startswith("example.com: 2 fail")


def test_user_and_dns_text_is_escaped():
    bad = Report("example.com", "domain", [Finding("spf", Status.FAIL, "x", "v=spf1 <@U1> & <!here> >")], 1)
    message = rb.render(ReportAnswer(parse("spf example.com"), bad), load())
    text = json.dumps(message.payload())
    assert "<@U1>" not in text and "<!here>" not in text
    assert "&lt;@U1&gt; &amp; &lt;!here&gt; &gt;" in text


def test_a_huge_report_is_shortened_with_the_rest_kept():
    kept = {}

    def keep(title, text):
        kept["k"] = (title, text)
        return "k"

    big = report(400, summary="a long finding summary " * 10)
    message = rb.render(ReportAnswer(parse("check example.com"), big), load(), keep=keep)
    blocks = message.payload()["blocks"]
    assert payload_errors(message) == []
    assert len(blocks) <= 50
    assert rb.text_size(blocks) <= rb.MAX_MESSAGE_TEXT
    assert message.shortened
    assert "Shortened to fit" in json.dumps(blocks)
    show = [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ActionId.SHOW_ALL
    ]
    assert show and show[0]["value"] == "k"
    # Every finding is in the kept text, the last one included.
    assert "a long finding summary" in kept["k"][1] and " 399" in kept["k"][1]
    assert message.full_text == kept["k"][1]


def test_one_enormous_finding_is_clipped_not_refused():
    huge = Report("example.com", "domain", [Finding("spf", Status.FAIL, "x", "&" * 9000)], 1)
    message = rb.render(ReportAnswer(parse("spf example.com"), huge), load())
    assert payload_errors(message) == []
    for block in message.payload()["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert not block["text"]["text"].rstrip("…").endswith("&amp")


def test_clip_never_splits_an_entity():
    assert rb.clip("ab&amp;cd", 5) == "ab…"
    assert rb.clip("short", 10) == "short"


def test_pack_keeps_lines_whole_and_each_text_within_the_limit():
    lines = ["a" * 4, "b" * 4, "c\nc", "d" * 30]
    assert rb.pack(lines, 10) == ["aaaa\nbbbb", "c\nc", "ddddddddd…"]
    assert all(len(chunk) <= 10 for chunk in rb.pack(lines, 10))
    assert rb.pack([], 10) == []


def test_help_lists_every_subcommand_with_an_example():
    message = rb.render(HelpAnswer(parse("zzz"), "`zzz` is not a sub-command"), load())
    text = json.dumps(message.payload())
    for name in ("check", "ip", "spf", "dkim", "dmarc", "diagnose", "incidents", "help"):
        assert f"/deliverability {name}" in text
    assert "is not a sub-command" in text
    assert payload_errors(message) == []


def test_problem_message_shows_usage():
    message = rb.render(ProblemAnswer(parse("dkim example.com"), "missing selector"), load())
    assert "/deliverability dkim &lt;domain&gt; &lt;selector&gt;" in json.dumps(message.payload())


def incident(i: int, status: str = "open") -> Incident:
    now = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    return Incident(
        i,
        "T1",
        "C1",
        "1.2",
        None,
        "U1",
        "81.2.69.160",
        "ip",
        "microsoft",
        "blocked",
        "550",
        "5.7.1",
        [],
        status,
        None,
        3,
        now,
        now,
        None,
        None,
        "diagnose",
    )


def test_incidents_list_and_home_stay_inside_limits():
    many = [incident(i) for i in range(1, 80)]
    message = rb.incidents_message(many)
    assert payload_errors(message) == []
    ids = [b["block_id"] for b in message.payload()["blocks"] if b["type"] == "actions"]
    assert ids[0] == "incident_actions:1"
    home = rb.home_view(many).to_dict()
    assert home["type"] == "home" and len(home["blocks"]) <= 100
    assert block_errors(home["blocks"], 100) == []
    assert "Open incidents (79)" in json.dumps(home)
    assert "No open incidents" in json.dumps(rb.home_view([]).to_dict())
    assert "Open incidents" not in json.dumps(rb.home_view(None).to_dict())


def test_resolved_incident_has_no_resolve_button():
    blocks = [b.to_dict() for b in rb.incident_blocks(incident(1, "resolved"))]
    actions = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions == [ActionId.ADD_NOTE]


def test_observation_survives_a_button_round_trip():
    obs = Observation(
        subject="81.2.69.160",
        receiver="microsoft",
        reason="blocked",
        enhanced_code="5.7.1",
        kb_ids=["spamhaus-zen"],
        raw_text="x" * 5000,
        subject_kind="ip",
    )
    value = rb.encode_observation(obs)
    assert len(value) <= 2000
    back = rb.decode_observation(value, channel="C1", reporter="U1")
    assert (back.subject, back.receiver, back.reason, back.enhanced_code, back.kb_ids) == (
        "81.2.69.160",
        "microsoft",
        "blocked",
        "5.7.1",
        ["spamhaus-zen"],
    )
    assert back.channel == "C1" and back.reporter == "U1" and back.raw_text.startswith("xxx")


def test_full_text_view_splits_and_marks_expired():
    view = rb.full_text_view("deliverability example.com", "line\n" * 3000).to_dict()
    assert view["type"] == "modal" and len(view["title"]["text"]) <= 24
    assert block_errors(view["blocks"], 100) == []
    expired = json.dumps(rb.full_text_view("t", None).to_dict())
    assert "no longer kept" in expired
