"""The daily digest in Block Kit: a seeded week of incidents, and a busy period shortened on purpose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.render_blocks import MAX_BLOCKS, MAX_FIELDS, MAX_SECTION, digest_blocks
from incidents.digest import build_digest
from incidents.model import Observation
from incidents.store import Store
from practices.warmup import parse_request, run_request
from tests.slack_standin import block_errors

PERMALINK = "https://example.slack.com/archives/C0INCIDNT/p1715158800000100"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=UTC)


NOW, SINCE = at(8, 9), at(7, 9)


@pytest.fixture
def seeded(tmp_path):
    """A store on a real file and a function recording an observation at a given moment."""
    moment = [at(1, 0)]
    store = Store.open(tmp_path / "digest.db", clock=lambda: moment[0], window=timedelta(days=3))

    def seen(when: datetime, **fields) -> int:
        moment[0] = when
        values = {"receiver": "microsoft", "reason": "blocked", "subject": "81.2.69.160", "reporter": "U1"}
        return store.record(Observation(**(values | fields)))[0].id

    def later(when: datetime) -> Store:
        moment[0] = when
        return store

    yield seen, later
    store.close()


@pytest.fixture
def week(seeded):
    """1 microsoft/blocked/81.2.69.160  May 2, 4, 7, 8: recurring, open, raised with a permalink
    2 microsoft/badreputation/89.160.20.112  May 4, resolved May 7 15:00 (3d 6h)
    3 google/authfailure/shop.example  May 7 12:00 and 13:00: new, investigating, assigned, in a channel
    4 yahoo/userunknown/example.net  May 8 06:00, resolved 08:00 (2h)
    and a warm-up plan for 81.2.69.160 starting on the digest's day."""
    seen, later = seeded
    for when in (at(2, 10), at(4, 10), at(7, 10), at(8, 8)):
        seen(when, channel="C0INCIDNT", permalink=PERMALINK)
    seen(at(4, 9), reason="badreputation", subject="89.160.20.112")
    auth = {"receiver": "google", "reason": "authfailure", "subject": "shop.example", "channel": "C0THREAD"}
    seen(at(7, 12), **auth)
    seen(at(7, 13), **auth)
    later(at(5, 9)).set_status(2, "investigating", actor="U1")
    later(at(7, 15)).set_status(2, "resolved", actor="U1", note="delisted")
    later(at(7, 16)).set_status(3, "investigating", actor="U1")
    later(at(7, 16)).assign(3, "U0ASSIGNEE", actor="U1")
    seen(at(8, 6), receiver="yahoo", reason="userunknown", subject="example.net")
    later(at(8, 8)).set_status(4, "resolved", actor="U1")
    store = later(NOW)
    run_request(store, parse_request(["81.2.69.160", "100k", "days=20"]), today=NOW.date())
    return store


def sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_a_seeded_week_in_blocks(week):
    digest = build_digest(week, now=NOW, since=SINCE)
    blocks = [b.to_dict() for b in digest_blocks(digest)]
    assert block_errors(blocks) == []
    types = [b["type"] for b in blocks]
    # header, summary; new, recurring, open, resolved; MTTR; receivers, reasons; subjects; trend;
    # the warm-up section practices adds.
    assert types == ["header", "context"] + ["section"] * 10
    assert blocks[0]["text"]["text"] == "Deliverability digest for 2024-05-08"
    assert blocks[1]["elements"][0]["text"] == (
        "2 new · 1 recurring · 2 open · 2 resolved · 5 occurrences since Tue 07 May 09:00 (UTC)"
    )
    new, recurring, open_, resolved, mttr, receivers, reasons, subjects, trend, warmup = sections(blocks)
    assert new.startswith(":new: *New* (2)\n")
    # The id links to where the incident was raised: its permalink, else its channel.
    assert (
        "• #3 in <#C0THREAD> *authfailure* at google for `shop.example` · investigating, <@U0ASSIGNEE> · ×2"
        in new
    )
    assert "• #4 *userunknown* at yahoo for `example.net` · resolved · ×1" in new
    assert f"• <{PERMALINK}|#1> *blocked* at microsoft for `81.2.69.160` · open · +2 (×4 since 02 May)" in (
        recurring
    )
    assert "×4, last seen 08 May 08:00" in open_ and "#3" in open_ and "#2" not in open_
    assert "#2 *badreputation* at microsoft for `89.160.20.112` · resolved · in 3d 6h" in resolved
    assert "#4 *userunknown*" in resolved and "in 2h" in resolved
    assert mttr == ":stopwatch: Mean time to resolve: *1d 16h* (2 resolved)"
    fields = {b["text"]["text"]: [f["text"] for f in b["fields"]] for b in blocks if b.get("fields")}
    assert fields == {
        "*By receiver*": [
            "*google*\n1 incident, 2 occurrences",
            "*microsoft*\n1 incident, 2 occurrences",
            "*yahoo*\n1 incident, 1 occurrence",
        ],
        "*By reason*": [
            "*authfailure*\n1 incident, 2 occurrences",
            "*blocked*\n1 incident, 2 occurrences",
            "*userunknown*\n1 incident, 1 occurrence",
        ],
    }
    assert (receivers, reasons) == tuple(fields)
    assert subjects == "*Top subjects:* `81.2.69.160` (2) · `shop.example` (2) · `example.net` (1)"
    assert trend.startswith("*Last 7 days* (05-02 → 05-08), occurrences per day\n```\n")
    assert "blocked        █▁█▁▁██  1 0 1 0 0 1 1" in trend
    assert "authfailure    ▁▁▁▁▁█▁  0 0 0 0 0 2 0" in trend
    assert warmup.startswith("*IPs in warm-up (1)*\n")
    assert "81.2.69.160: day 1 of 20, today's plan" in warmup


def test_a_quiet_day_says_so(seeded):
    _, later = seeded
    digest = build_digest(later(NOW), now=NOW, since=SINCE)
    blocks = [b.to_dict() for b in digest_blocks(digest)]
    assert [b["type"] for b in blocks] == ["header", "context", "section"]
    assert blocks[1]["elements"][0]["text"] == "since Tue 07 May 09:00 (UTC)"
    assert sections(blocks) == [":white_check_mark: No incidents: nothing new, nothing open."]


def test_user_text_is_escaped(seeded):
    seen, later = seeded
    seen(at(8, 7), receiver="a&t", reason="blocked", subject="<b>.example")
    digest = build_digest(later(NOW), now=NOW, since=SINCE)
    digest.watch_changes = [_change(0, about="v=spf1 <include> & more")]
    text = "\n".join(sections([b.to_dict() for b in digest_blocks(digest)]))
    assert "at a&amp;t for `&lt;b&gt;.example`" in text
    assert "spf v=spf1 &lt;include&gt; &amp; more: pass → fail" in text
    assert "<b>" not in text and "<include>" not in text


def _change(n: int, **fields) -> dict:
    """One change as Store.watch_changes_between gives it."""
    return {
        "at": f"2024-05-08T0{n % 9}:{n % 60:02d}:00Z",
        "workspace": "T1",
        "target": f"watched{n}.example",
        "check": "spf",
        "about": "",
        "event": "change",
        "before": "pass",
        "after": "fail",
        "summary": "SPF now fails",
        "incident_id": None,
    } | fields


def test_a_busy_period_is_shortened_on_purpose_within_slacks_limits(seeded):
    """60 incidents over 14 receivers and 13 reasons, 30 watch changes, 12 IPs in warm-up: every list
    is cut with "and N more", counts stay at ten fields, and the message fits Slack's limits."""
    seen, later = seeded
    for n in range(60):
        seen(
            at(7, 10 + n % 12, n % 60),
            receiver=f"receiver-{n % 14:02d}.example",
            reason=f"reason{n % 13:02d}",
            subject=f"sender{n}.example",
        )
    store = later(NOW)
    for n in range(12):
        run_request(store, parse_request([f"81.2.69.{n + 1}", "100k", "days=20"]), today=NOW.date())
    digest = build_digest(store, now=NOW, since=SINCE)
    digest.watch_changes = [_change(n, incident_id=n) for n in range(30)]
    blocks = [b.to_dict() for b in digest_blocks(digest)]

    assert block_errors(blocks) == []
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(text) <= MAX_SECTION for text in sections(blocks))
    assert all(len(b.get("fields") or ()) <= MAX_FIELDS for b in blocks)
    text = "\n".join(sections(blocks))
    assert ":new: *New* (60)" in text and "…and 52 more" in text  # 8 shown
    assert ":red_circle: *Open* (60)" in text
    assert ":eyes: *Changes in watched targets* (30)" in text and "…and 22 more" in text
    assert "*IPs in warm-up (12)*" in text and "…and 4 more" in text
    assert "…and 5 more reasons" in text  # 13 reasons, 8 rows
    receivers = next(b for b in blocks if b.get("fields") and "receiver" in b["text"]["text"])
    assert len(receivers["fields"]) == MAX_FIELDS
    # 14 receivers: 9 shown, the tenth field counts the other 5 and their occurrences.
    shown = sum(int(f["text"].split(", ")[1].split()[0]) for f in receivers["fields"][:9])
    assert receivers["fields"][9]["text"] == f"…and 5 more\n{60 - shown} occurrences between them"
