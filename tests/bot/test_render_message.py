"""Block Kit for message analyses: grouped worst first, escaped, kb links, and inside Slack's limits."""

from __future__ import annotations

import json

from bot import render_message as rm
from bot.ids import ActionId
from bot.message_answers import AnalysisAnswer
from bot.render_blocks import Message, mrkdwn
from bot.slash import Request
from checks.message import MessageAnalysis
from checks.model import Finding, Status
from knowledge.base import load
from tests.slack_standin import block_errors


def answer(findings: list[Finding], *, pasted: bool = False, compare: str | None = None) -> AnalysisAnswer:
    analysis = MessageAnalysis("shop.example", "81.2.69.160", "mail.shop.example", "", findings, pasted)
    return AnalysisAnswer(Request("analyze"), analysis, "offer.eml", compare_value=compare)


def texts(message: Message) -> str:
    return json.dumps(message.payload()["blocks"], ensure_ascii=False)


def test_grouped_worst_group_first_with_steps_and_links():
    kb = load()
    findings = [
        Finding("spf", Status.PASS, "81.2.69.160", "SPF pass"),
        Finding("bulk-requirements", Status.PASS, "SPF passes", "SPF pass", kb="bulk-spf-dkim"),
        Finding("dkim-signature", Status.FAIL, "d=shop.example s=s1", "the body was <changed> & more"),
    ]
    message = rm.analysis_message(answer(findings), kb)
    assert block_errors(message.payload()["blocks"]) == []
    blocks = message.payload()["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"].startswith(
        ":x: Message from shop.example"
    )
    path = blocks[1]["elements"][0]["text"]
    assert "sent from 81.2.69.160 (HELO mail.shop.example)" in path and "<> (null sender)" not in path
    assert "&lt;&gt; (null sender)" in path  # the null sender, escaped
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[0].startswith("*DKIM*") and "&lt;changed&gt; &amp; more" in sections[0]
    checklist = next(s for s in sections if s.startswith("*Bulk-sender"))
    entry = kb.get("bulk-spf-dkim")
    assert f"<{entry.sources[0]}|" in checklist and "*SPF passes*" in checklist
    assert "Pasted text" not in texts(message)


def test_pasted_note_and_buttons():
    message = rm.analysis_message(answer([], pasted=True, compare='{"a":"1","b":"2"}'), load())
    assert "Pasted text" in texts(message)
    actions = [e for b in message.payload()["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == [
        ActionId.COMPARE_MESSAGES,
        ActionId.CHECK_IP,
        ActionId.CHECK_DOMAIN,
    ]


def test_a_huge_analysis_is_shortened_with_the_whole_text_kept():
    findings = [
        Finding(f"check-{i % 60}", Status.WARN, f"thing {i}", "a long summary " * 40) for i in range(300)
    ]
    kept: dict[str, tuple[str, str]] = {}

    def keep(title: str, text: str) -> str:
        kept["k1"] = (title, text)
        return "k1"

    message = rm.analysis_message(answer(findings), load(), keep=keep)
    assert block_errors(message.payload()["blocks"]) == []
    assert message.shortened and "thing 299" in (message.full_text or "")
    assert kept["k1"][1] == message.full_text
    assert ActionId.SHOW_ALL in texts(message)


def test_buttons_added_to_a_full_message_join_its_last_actions_block():
    full = Message("t", [mrkdwn(f"b{i}") for i in range(49)])
    rm.add_buttons(full, [rm.button("Show everything", ActionId.SHOW_ALL, "k")])
    assert len(full.blocks) == 50
    rm.offer_analysis(full, '{"k":"x"}')
    assert len(full.blocks) == 50 and block_errors(full.payload()["blocks"]) == []
    ids = [e["action_id"] for e in full.payload()["blocks"][-1]["elements"]]
    assert ids == [ActionId.SHOW_ALL, ActionId.ANALYZE_AS_MESSAGE]
