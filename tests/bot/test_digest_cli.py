"""`deliverability digest --post` as cron runs it: Block Kit to the Slack API stand-in, once a day."""

from __future__ import annotations

import asyncio

from incidents.model import Observation
from incidents.store import Store
from tests.conftest import run_cli
from tests.slack_standin import SlackStandin, block_errors

CHANNEL = "C0DIGEST"


async def test_digest_post_sends_blocks_once_per_day(tmp_path):
    db = tmp_path / "digest.db"
    with Store.open(db) as store:
        for subject in ("81.2.69.160", "81.2.69.160", "89.160.20.112"):
            store.record(Observation(subject=subject, receiver="microsoft", reason="blocked"))

    async with SlackStandin() as slack:
        env = {
            "SLACK_API_URL": slack.api_url,
            "SLACK_BOT_TOKEN": slack.token,
            "DIGEST_CHANNEL": CHANNEL,
            "DATABASE_PATH": str(db),
        }
        # The CLI blocks until it is done; the stand-in answers it from this loop meanwhile.
        first = await asyncio.to_thread(run_cli, "digest", "--post", **env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("Posted the digest for ") and CHANNEL in first.stdout
        (post,) = slack.calls_to("chat.postMessage")
        assert post.args["channel"] == CHANNEL
        assert block_errors(post.blocks) == []
        assert post.blocks[0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": post.blocks[0]["text"]["text"], "emoji": True},
        }
        assert post.blocks[0]["text"]["text"].startswith("Deliverability digest for ")
        assert "2 new · 0 recurring · 2 open · 0 resolved · 3 occurrences" in post.all_text()
        assert "*blocked* at microsoft for `81.2.69.160` · open · ×2" in post.all_text()
        # The fallback text beside the blocks is the digest as text.
        assert post.text.startswith("Deliverability digest for ")

        second = await asyncio.to_thread(run_cli, "digest", "--post", **env)
        assert second.returncode == 0, second.stderr
        assert "already posted" in second.stdout
        assert len(slack.calls_to("chat.postMessage")) == 1
