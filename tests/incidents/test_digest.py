"""The digest over a seeded week, its text, and posting it once per day across processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from incidents.digest import build_digest, digest_due, digest_loop, format_duration, post_digest, render_text
from incidents.sparkline import sparkline
from incidents.store import Store
from tests.conftest import Clock
from tests.incidents.conftest import observation, python


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=UTC)


NOW = at(8, 9)
SINCE = at(7, 9)


@pytest.fixture
def week(db_path, clock):
    """A week of incidents, ids in creation order:
    1 google/authfailure/shop.example   May 1 → resolved May 2 (before the trend week)
    2 microsoft/blocked/81.2.69.160     May 2, 3, 5, 5, 7, 8: recurring, open
    3 microsoft/badreputation/89.160.20.112  May 4 → resolved May 7 15:00 (78 h)
    4 google/authfailure/shop.example   May 7 12:00, 13:00, May 8 07:00: new, a repeat of #1, investigating
    5 yahoo/userunknown/example.net     May 8 06:00 → resolved 08:00 (2 h)
    """
    store = Store.open(db_path, clock=clock, window=timedelta(days=3))

    def seen(when: datetime, **fields) -> int:
        clock.now = when
        return store.record(observation(**fields))[0].id

    def status(when: datetime, incident_id: int, value: str) -> None:
        clock.now = when
        store.set_status(incident_id, value, actor="U1", note=f"now {value}")

    auth = {"receiver": "google", "reason": "authfailure", "subject": "shop.example"}
    seen(at(1, 10), **auth)
    status(at(2, 10), 1, "resolved")
    for when in (at(2, 10), at(3, 10), at(5, 10), at(5, 11), at(7, 10), at(8, 8)):
        seen(when)
    seen(at(4, 9), reason="badreputation", subject="89.160.20.112")
    status(at(5, 9), 3, "investigating")
    status(at(7, 15), 3, "resolved")
    for when in (at(7, 12), at(7, 13), at(8, 7)):
        seen(when, **auth)
    status(at(7, 14), 4, "investigating")
    store.assign(4, "U7", actor="U1")
    seen(at(8, 6), receiver="yahoo", reason="userunknown", subject="example.net")
    status(at(8, 8), 5, "resolved")
    clock.now = NOW
    yield store
    store.close()


def test_sparkline():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1, 1, 0, 2, 0, 1, 1]) == "▅▅▁█▁▅▅"
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([]) == ""


def test_digest_of_a_seeded_week(week):
    digest = build_digest(week, now=NOW, since=SINCE)
    assert digest.day == "2024-05-08"
    assert [i.id for i in digest.new] == [4, 5]
    assert [i.id for i in digest.recurring] == [2]
    assert [i.id for i in digest.open] == [2, 4]
    assert [i.id for i in digest.resolved] == [3, 5]
    assert digest.repeats == {4: 1}
    assert digest.period_occurrences == {2: 2, 4: 3, 5: 1}
    assert digest.occurrences == 6
    counts = lambda items: [(c.name, c.incidents, c.occurrences) for c in items]  # noqa: E731
    assert counts(digest.by_receiver) == [("google", 1, 3), ("microsoft", 1, 2), ("yahoo", 1, 1)]
    assert counts(digest.by_reason) == [("authfailure", 1, 3), ("blocked", 1, 2), ("userunknown", 1, 1)]
    assert counts(digest.top_subjects) == [
        ("shop.example", 1, 3),
        ("81.2.69.160", 1, 2),
        ("example.net", 1, 1),
    ]
    assert digest.trend_days == [f"2024-05-0{d}" for d in range(2, 9)]
    assert [(t.reason, t.counts, t.spark) for t in digest.trends] == [
        ("blocked", [1, 1, 0, 2, 0, 1, 1], "▅▅▁█▁▅▅"),
        ("authfailure", [0, 0, 0, 0, 0, 2, 1], "▁▁▁▁▁█▅"),
        ("badreputation", [0, 0, 1, 0, 0, 0, 0], "▁▁█▁▁▁▁"),
        ("userunknown", [0, 0, 0, 0, 0, 0, 1], "▁▁▁▁▁▁█"),
    ]
    assert digest.mttr == timedelta(hours=40)  # (78 h + 2 h) / 2
    data = json.loads(json.dumps(digest.to_dict()))
    assert data["mttr_seconds"] == 40 * 3600 and data["occurrences"] == 6
    assert data["new"][0]["period_occurrences"] == 3


def test_trend_days_follow_the_digest_time_zone(week):
    digest = build_digest(week, now=NOW, since=SINCE, tz="Pacific/Auckland")  # UTC+12 in May
    trends = {t.reason: t.counts for t in digest.trends}
    # 12:00 and 13:00 UTC on May 7 are already May 8 in Auckland.
    assert trends["authfailure"] == [0, 0, 0, 0, 0, 0, 3]
    assert digest.day == "2024-05-08"


def test_digest_text(week):
    text = render_text(build_digest(week, now=NOW, since=SINCE))
    assert text.startswith("Deliverability digest for 2024-05-08 (UTC), since Tue 07 May 09:00")
    assert "2 new, 1 recurring, 2 open, 2 resolved; 6 occurrences." in text
    assert "  • #4 authfailure at google for shop.example [investigating, U7] ×3, again after #1" in text
    assert "  • #2 blocked at microsoft for 81.2.69.160 [open] +2 (×6 since 02 May)" in text
    assert "  • #3 badreputation at microsoft for 89.160.20.112 [resolved] in 3d 6h" in text
    assert "Mean time to resolve: 1d 16h (2 resolved)" in text
    assert "  google: 1 / 3" in text
    assert "Top subjects: shop.example (3), 81.2.69.160 (2), example.net (1)" in text
    assert "  blocked        ▅▅▁█▁▅▅  1 1 0 2 0 1 1" in text


def test_a_quiet_digest(store, clock):
    text = render_text(build_digest(store, now=clock.now, since=clock.now - timedelta(days=1)))
    assert text.endswith("No incidents: nothing new, nothing open.")


def test_format_duration():
    assert [format_duration(timedelta(minutes=m)) for m in (0, 12, 60, 200, 1440, 3000)] == [
        "0m",
        "12m",
        "1h",
        "3h 20m",
        "1d",
        "2d 2h",
    ]


class Recorder:
    """Stands in for slack_sdk's AsyncWebClient: records chat_postMessage calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict] = []
        self.fail = fail

    async def chat_postMessage(self, **kwargs):
        if self.fail:
            raise ConnectionError("Slack is unreachable")
        self.calls.append(kwargs)
        return {"ok": True, "ts": f"1715158800.{len(self.calls):06d}"}


async def test_post_digest_posts_once_and_covers_since_the_last_one(week, clock):
    client = Recorder()
    assert await post_digest(week, client, "C1", render_blocks=lambda d: [{"type": "section"}]) == (
        "1715158800.000001"
    )
    assert await post_digest(week, client, "C1") is None
    assert len(client.calls) == 1
    assert client.calls[0]["channel"] == "C1" and client.calls[0]["blocks"] == [{"type": "section"}]
    assert "2 new, 1 recurring" in client.calls[0]["text"]
    assert week.last_digest_at("C1") == NOW
    # Another channel has its own day; the next day covers only what happened since the last post.
    assert await post_digest(week, client, "C2") is not None
    clock.now = at(9, 9)
    week.record(observation(receiver="google", reason="blocked", subject="shop.example"))
    await post_digest(week, client, "C1")
    assert "1 new, 0 recurring, 3 open, 0 resolved; 1 occurrences." in client.calls[-1]["text"]


async def test_a_failed_post_releases_the_claim(week):
    with pytest.raises(ConnectionError):
        await post_digest(week, Recorder(fail=True), "C1")
    client = Recorder()
    assert await post_digest(week, client, "C1") is not None  # at once, no 10-minute wait
    assert len(client.calls) == 1


class Hanging(Recorder):
    """A post that never returns: the process is shut down while Slack may or may not have it."""

    def __init__(self) -> None:
        super().__init__()
        self.posting = asyncio.Event()

    async def chat_postMessage(self, **kwargs):
        self.calls.append(kwargs)
        self.posting.set()
        await asyncio.sleep(3600)


async def test_a_post_cancelled_midway_keeps_the_claim(week, clock):
    hanging = Hanging()
    task = asyncio.ensure_future(post_digest(week, hanging, "C1"))
    await hanging.posting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    client = Recorder()
    assert await post_digest(week, client, "C1") is None, "the day stays claimed: no second post at once"
    clock.now += timedelta(minutes=11)
    assert await post_digest(week, client, "C1") is not None, "an unrecorded claim is taken over later"


async def test_the_fallback_text_beside_blocks_is_bounded(week):
    client = Recorder()
    for n in range(300):
        week.record(observation(receiver="google", reason="blocked", subject=f"host{n}.shop.example"))
    await post_digest(week, client, "C1", render_blocks=lambda d: [{"type": "section"}])
    assert len(client.calls[0]["text"]) <= 3000 and client.calls[0]["text"].endswith("…")


def test_a_stale_claim_is_taken_over(db_path, clock):
    other_clock = Clock(clock.now)
    with Store.open(db_path, clock=clock) as crashed, Store.open(db_path, clock=other_clock) as other:
        assert crashed.claim_digest("C1", "2024-05-08")  # then "crashes": never marks it posted
        other_clock.advance(minutes=9, seconds=59)
        assert not other.claim_digest("C1", "2024-05-08")
        other_clock.advance(seconds=2)
        assert other.claim_digest("C1", "2024-05-08")
        other.mark_digest_posted("C1", "2024-05-08", "1.2")
        other_clock.advance(hours=1)
        assert not other.claim_digest("C1", "2024-05-08")
        assert not crashed.claim_digest("C1", "2024-05-08")
        assert other.digest_posted("C1", "2024-05-08")


RACER = """
import asyncio, json, os, sys, time
from pathlib import Path
from incidents.digest import post_digest
from incidents.store import Store

path, barrier, log = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

class Recorder:
    async def chat_postMessage(self, **kwargs):
        await asyncio.sleep(0.2)  # a slow Slack keeps the claim open while the other process tries
        with open(log, "a") as handle:
            handle.write(json.dumps({"channel": kwargs["channel"], "pid": os.getpid()}) + "\\n")
        return {"ok": True, "ts": f"{os.getpid()}.000100"}

while not barrier.exists():
    time.sleep(0.002)
with Store.open(path) as store:
    print(asyncio.run(post_digest(store, Recorder(), "C1")))
"""


def test_processes_racing_to_post_the_same_digest_post_once(tmp_path, db_path):
    Store.open(db_path).close()
    barrier, log = tmp_path / "go", tmp_path / "posts.jsonl"
    racers = [python(RACER, str(db_path), str(barrier), str(log), stdout=subprocess.PIPE) for _ in range(3)]
    barrier.touch()
    outputs = [r.communicate(timeout=60)[0].strip() for r in racers]
    assert [r.returncode for r in racers] == [0, 0, 0]
    posts = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(posts) == 1
    posted = [out for out in outputs if out != "None"]
    assert posted == [f"{posts[0]['pid']}.000100"]
    with Store.open(db_path) as store:
        row = next(store.db.query("SELECT * FROM digest_posts"))
    assert row["message_ts"] == posted[0] and row["posted_at"]


def test_digest_due(store, clock):
    clock.now = at(8, 8, 59)
    assert not digest_due(store, "C1", now=clock.now, at="09:00")
    assert digest_due(store, "C1", now=at(8, 9), at="09:00")
    # 09:00 in Paris is 07:00 UTC in May.
    assert digest_due(store, "C1", now=at(8, 7), at="09:00", tz="Europe/Paris")
    assert not digest_due(store, "C1", now=at(8, 6, 59), at="09:00", tz="Europe/Paris")
    store.claim_digest("C1", "2024-05-08")
    store.mark_digest_posted("C1", "2024-05-08", "1.1")
    assert not digest_due(store, "C1", now=at(8, 23), at="09:00")


class Stop(Exception):
    pass


async def test_the_loop_posts_once_a_day(store, clock):
    clock.now = at(8, 0)
    client = Recorder()

    async def sleep(seconds: float) -> None:
        clock.advance(minutes=20)
        if clock.now >= at(10, 0):
            raise Stop

    with pytest.raises(Stop):
        await digest_loop(store, client, "C1", at="09:00", sleep=sleep)
    assert len(client.calls) == 2  # May 8 and May 9
    assert store.digest_posted("C1", "2024-05-08") and store.digest_posted("C1", "2024-05-09")
