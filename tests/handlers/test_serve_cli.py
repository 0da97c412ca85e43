"""`deliverability serve` and `deliverability start` as processes: the real entry points over HTTP, and
the daily digest they post."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime

import aiohttp
import pytest

from incidents.model import Observation
from incidents.store import Store
from tests.conftest import ROOT, cli_env
from tests.handlers.conftest import SECRET
from tests.slack_standin import SlackSender, block_errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(base: str, proc: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if proc.returncode is not None:
                raise AssertionError(f"the server exited: {(await proc.stderr.read()).decode()}")
            try:
                async with session.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the server never became healthy")


@pytest.mark.parametrize("how", ["serve", "start"])
async def test_the_process_serves_signed_commands_and_stops_cleanly(how, standin, dns_server, tmp_path):
    port = free_port()
    env = cli_env(
        dns_server,
        SLACK_BOT_TOKEN=standin.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=standin.api_url,
        DATABASE_PATH=str(tmp_path / "bot.db"),
        PORT=str(port),
    )
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)] if how == "serve" else ["start"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=ROOT, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    sender = SlackSender(f"{base}/slack/events", SECRET, standin)
    try:
        await wait_healthy(base, proc)
        dns_server.add("_dmarc.example.com", "TXT", "v=DMARC1; p=reject")
        reply = await sender.command("dmarc example.com", response_url=standin.response_url("proc"))
        assert reply.status == 200 and "Checking" in reply.text
        (answer,) = await standin.wait_for("response_url", name="proc")
        assert "p=reject" in answer.all_text()
        forged = await sender.post(
            "command=/deliverability&text=help", "application/x-www-form-urlencoded", unsigned=True
        )
        assert forged.status == 401
    finally:
        await sender.close()
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    assert code == 0


async def test_the_serving_process_posts_the_daily_digest_in_blocks(standin, tmp_path):
    db = tmp_path / "bot.db"
    with Store.open(db) as store:
        store.record(Observation(subject="81.2.69.160", receiver="microsoft", reason="blocked"))
    port = free_port()
    env = cli_env(
        SLACK_BOT_TOKEN=standin.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=standin.api_url,
        DATABASE_PATH=str(db),
        DIGEST_CHANNEL="C0DIGEST",
        DIGEST_TIME="00:00",  # already past today, whenever the test runs: due at the first poll
        WATCH_SCHEDULER="off",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port),
        env=env, cwd=ROOT, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        (post,) = await standin.wait_for("chat.postMessage", within=30)
        # The post is recorded once Slack has answered: wait for that before stopping the process.
        with Store.open(db) as store:
            for _ in range(200):
                if store.digest_posted("C0DIGEST", datetime.now(UTC).date().isoformat()):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the digest was posted but never recorded as posted")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    assert code == 0
    assert post.args["channel"] == "C0DIGEST"
    assert block_errors(post.blocks) == []
    assert post.blocks[0]["type"] == "header"
    assert "1 new · 0 recurring · 1 open · 0 resolved · 1 occurrences" in post.all_text()
    assert "*blocked* at microsoft for `81.2.69.160`" in post.all_text()


def test_serve_without_a_signing_secret_refuses_to_start(tmp_path):
    env = cli_env(SLACK_BOT_TOKEN="xoxb-1", DATABASE_PATH=str(tmp_path / "x.db"))
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", str(free_port())],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "SLACK_SIGNING_SECRET" in proc.stderr


async def test_start_with_an_app_token_runs_socket_mode(standin, dns_server, tmp_path):
    from urllib.parse import parse_qsl

    env = cli_env(
        dns_server,
        SLACK_BOT_TOKEN=standin.token,
        SLACK_APP_TOKEN=standin.app_token,
        SLACK_API_URL=standin.api_url,
        DATABASE_PATH=str(tmp_path / "bot.db"),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "start", env=env, cwd=ROOT, stderr=subprocess.PIPE
    )
    try:
        await standin.wait_for("socket_connect", within=30)
        sender = SlackSender("unused", "unused", standin)
        payload = dict(
            parse_qsl(sender.command_body("ip 81.2.69.160", response_url=standin.response_url("sock")))
        )
        await standin.socket_send({"envelope_id": "e1", "type": "slash_commands", "payload": payload})
        (ack,) = await standin.wait_for("socket_ack")
        assert ack.args["payload"]["text"] == "Checking ip 81.2.69.160…"
        (answer,) = await standin.wait_for("response_url", name="sock")
        assert answer.text.startswith("81.2.69.160")
        (opened,) = standin.calls_to("apps.connections.open")
        assert opened.headers["Authorization"] == f"Bearer {standin.app_token}"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 20)
    assert code == 0
