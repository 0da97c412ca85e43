"""`/deliverability warmup …` and `/deliverability suppressions`: the same core through bot.slash, as
Block Kit for Slack and as text for the console."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot import console, slash
from bot.render_blocks import MAX_BLOCKS, render
from bot.services import KeptAnswers, Services
from bot.settings import Settings
from incidents.store import Store
from knowledge.base import load
from practices.suppressions import from_csv, record_diagnoses
from tests.practices.conftest import WARM_IP, user_unknown


@pytest.fixture
def services(tmp_path, clock):
    settings = replace(Settings.from_env({}), database_path=str(tmp_path / "deliverability.db"))
    with Store.open(settings.database_path, clock=clock) as store:
        yield Services(settings, load(), store, KeptAnswers())


async def ask(services, text: str):
    return await slash.execute(slash.parse(text), services)


async def test_warmup_plan_then_status_in_slack_blocks(services):
    answer = await ask(services, f"warmup {WARM_IP} 200k days=30")
    message = render(answer, services.kb, keep=services.kept.put)
    payload = message.payload()
    assert payload["blocks"][0]["type"] == "header" and WARM_IP in payload["blocks"][0]["text"]["text"]
    body = " ".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    assert "50 → 200,000 a day over 30 days" in body and "Outlook.com" in body
    assert len(payload["blocks"]) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= 3000 for b in payload["blocks"] if b["type"] == "section")

    answer = await ask(services, f"warmup status {WARM_IP}")
    assert console.render(answer).startswith(f"{WARM_IP}: warm-up day 1 of 30")


async def test_warmup_bad_input_is_a_problem_with_the_usage(services):
    answer = await ask(services, f"warmup {WARM_IP} -5")
    assert isinstance(answer, slash.ProblemAnswer) and "cannot be negative" in answer.problem
    blocks = render(answer, services.kb).payload()["blocks"]
    assert "warmup &lt;ip&gt; &lt;target per day&gt;" in blocks[-1]["elements"][0]["text"]
    assert services.store.warmup_plans() == []
    answer = await ask(services, "warmup 10.1.2.3 5000")
    assert isinstance(answer, slash.ProblemAnswer) and "not a public address" in answer.problem


async def test_suppressions_give_the_count_and_the_list_as_a_file(services):
    record_diagnoses(services.store, user_unknown("alice@shop.example"))
    record_diagnoses(services.store, user_unknown("bob@shop.example", message_id="m2@x"))
    answer = await ask(services, "private suppressions")
    assert answer.request.private is True
    message = render(answer, services.kb, keep=services.kept.put)
    assert message.text.startswith("2 suppressed addresses: userunknown 2")
    assert message.filename == "suppressions.csv" and message.shortened  # Slack uploads full_text
    assert [r["address"] for r in from_csv(message.full_text)] == ["alice@shop.example", "bob@shop.example"]
    shown = " ".join(str(b) for b in message.payload()["blocks"])
    assert "alice@" not in shown  # the addresses go in the file, not the message
    assert any(b["type"] == "actions" for b in message.payload()["blocks"])

    answer = await ask(services, "suppressions since=2099-01-01")
    assert console.render(answer).startswith("0 suppressed addresses since 2099-01-01")
    answer = await ask(services, "suppressions everything")
    assert isinstance(answer, slash.ProblemAnswer) and "usage" in answer.problem


async def test_help_lists_the_new_subcommands(services):
    text = console.render(await ask(services, "help"))
    assert "warmup 81.2.69.160 200k days=30" in text and "suppressions" in text


async def test_the_console_opens_the_database_when_it_has_none(tmp_path):
    settings = replace(Settings.from_env({}), database_path=str(tmp_path / "fresh.db"))
    services = Services(settings, load(), None, KeptAnswers())
    answer = await ask(services, f"warmup {WARM_IP} 5000 days=10")
    assert "stored as plan #1" in console.render(answer)
    with Store.open(settings.database_path) as store:
        assert [p["ip"] for p in store.warmup_plans()] == [WARM_IP]
