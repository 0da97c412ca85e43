"""Slack, played on loopback: the Web API, response_urls, file uploads and downloads, and Socket Mode.

`SlackStandin` answers the way Slack does (the same JSON shapes, `invalid_auth` for a wrong token,
`invalid_blocks` for blocks over Slack's limits, `used_url` after five posts to one response_url,
429 with Retry-After or any `ok: false` error when told to, permalinks shaped like
`https://<domain>.slack.com/archives/<channel>/p<ts without dot>`) and records every call it receives,
in order, for tests to read.
`SlackSender` plays Slack's other half: it sends the app signed slash commands, events and
interactivity payloads shaped as Slack sends them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
RESPONSE_URL_USES = 5


@dataclass
class Call:
    """One request the stand-in received: a Web API method, `response_url`, `upload` or `file`."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    name: str = ""  # the response_url or file id it was addressed to

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else blocks

    @property
    def text(self) -> str:
        return str(self.args.get("text") or "")

    def all_text(self) -> str:
        """The message's text and every text inside its blocks, joined: what a reader would see."""
        out = [self.text]
        stack: list[Any] = [self.blocks, self.args.get("view")]
        while stack:
            item = stack.pop()
            if isinstance(item, str) and item.startswith("{"):
                item = json.loads(item)
            if isinstance(item, dict):
                for key, value in item.items():
                    if key == "text" and isinstance(value, str):
                        out.append(value)
                    else:
                        stack.append(value)
            elif isinstance(item, list):
                stack.extend(item)
        return "\n".join(out)


def _text_len(node: Any) -> int:
    if isinstance(node, dict):
        return sum(len(v) if k == "text" and isinstance(v, str) else _text_len(v) for k, v in node.items())
    if isinstance(node, list):
        return sum(_text_len(v) for v in node)
    return 0


def block_errors(blocks: Any, limit: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """What Slack would refuse in these blocks (its documented limits, plus the total text size)."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except json.JSONDecodeError:
            return ["blocks are not JSON"]
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    errors = []
    if len(blocks) > limit:
        errors.append(f"{len(blocks)} blocks (at most {limit})")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        kind = block.get("type")
        block_id = block.get("block_id")
        if block_id:
            if block_id in seen_ids:
                errors.append(f"block {i}: duplicate block_id {block_id}")
            seen_ids.add(block_id)
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            if not text and not block.get("fields"):
                errors.append(f"block {i}: section without text")
            if len(text) > 3000:
                errors.append(f"block {i}: section text {len(text)} characters (at most 3000)")
            for f in block.get("fields") or ():
                if len(f.get("text", "")) > 2000:
                    errors.append(f"block {i}: field over 2000 characters")
        elif kind == "header" and len((block.get("text") or {}).get("text", "")) > 150:
            errors.append(f"block {i}: header over 150 characters")
        elif kind == "actions":
            action_ids = [e.get("action_id") for e in block.get("elements") or ()]
            if len(action_ids) != len(set(action_ids)):
                errors.append(f"block {i}: duplicate action_id")
            for e in block.get("elements") or ():
                if len((e.get("text") or {}).get("text", "")) > 75:
                    errors.append(f"block {i}: button text over 75 characters")
                if len(e.get("value") or "") > 2000:
                    errors.append(f"block {i}: button value over 2000 characters")
        elif kind == "context" and len(block.get("elements") or ()) > 10:
            errors.append(f"block {i}: context with more than 10 elements")
    if limit == MAX_MESSAGE_BLOCKS and _text_len(blocks) > 12_000:
        errors.append("msg_blocks_too_long")
    return errors


class SlackStandin:
    """`async with SlackStandin() as slack:` then point the app at `slack.api_url`."""

    def __init__(
        self,
        *,
        token: str = "xoxb-standin-token",
        app_token: str = "xapp-standin-token",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_id: str = "T0STANDIN",
        domain: str = "standin",
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.domain = domain  # the workspace's <domain>.slack.com, in auth.test and permalinks
        self.calls: list[Call] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self._limited: dict[str, list[int]] = {}  # method -> [times left, retry-after seconds]
        self._failing: dict[str, list[Any]] = {}  # method -> [times left or -1, error]
        self._response_uses: dict[str, int] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self.socket_acks: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> SlackStandin:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files/{file_id}", self._download)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SlackStandin:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.url}/respond/{name}"

    # -- behaviour switches -------------------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and Retry-After."""
        self._limited[method] = [times, retry_after]

    def fail(self, method: str, error: str, *, times: int = -1) -> None:
        """Answer `method` with ok:false and `error` (`times` times, or always)."""
        self._failing[method] = [times, error]

    def add_file(
        self, content: bytes | str, *, name: str = "bounce.eml", mimetype: str = "message/rfc822"
    ) -> dict:
        """A file as Slack describes it in a message's `files`, downloadable with the bot token."""
        data = content.encode() if isinstance(content, str) else content
        file_id = f"F{next(self._ids):08d}"
        info = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": "email" if name.endswith(".eml") else "text",
            "size": len(data),
            "url_private": f"{self.url}/files/{file_id}",
            "url_private_download": f"{self.url}/files/{file_id}?download=1",
        }
        self.files[file_id] = {"info": info, "data": data}
        return dict(info)

    # -- reading what happened ----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def responses(self, name: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == "response_url" and (name is None or c.name == name)]

    async def wait_for(
        self, method: str, count: int = 1, *, within: float = 15, name: str | None = None
    ) -> list[Call]:
        """Wait until `count` calls of `method` (and, for response_url, to `name`) were received."""

        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == method and (name is None or c.name == name)]

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(matching()) >= count), within)
            except TimeoutError:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"waited {within}s for {count} x {method}; received {seen}") from None
        return matching()

    async def settle(self, quiet: float = 0.3) -> None:
        """Wait until no call has arrived for `quiet` seconds (to assert that nothing more is sent)."""
        while True:
            n = len(self.calls)
            await asyncio.sleep(quiet)
            if len(self.calls) == n:
                return

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # -- the Web API --------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        headers = dict(request.headers)
        call = Call(method, args, headers)
        limited = self._limited.get(method)
        if limited and limited[0] > 0:
            limited[0] -= 1
            call.status = 429
            await self._record(call)
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(limited[1])}
            )
        await self._record(call)
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip() or args.get("token", "")
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        failing = self._failing.get(method)
        if failing and failing[0] != 0:
            failing[0] -= 1 if failing[0] > 0 else 0
            return web.json_response({"ok": False, "error": failing[1]})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args))

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _message_errors(self, args: dict[str, Any]) -> dict[str, Any] | None:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if args.get("blocks"):
            errors = block_errors(args["blocks"])
            if errors:
                name = "msg_blocks_too_long" if errors == ["msg_blocks_too_long"] else "invalid_blocks"
                return {"ok": False, "error": name, "errors": errors}
        return None

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.domain}.slack.com/",
            "team": "Stand-in",
            "user": "deliverability",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._message_errors(args):
            return error
        ts = self._next_ts()
        message = {"type": "message", "text": args.get("text", ""), "user": self.bot_user_id, "ts": ts}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        if error := self._message_errors(args):
            return error
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": args.get("text", "")}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        if error := self._message_errors(args):
            return error
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel") or "", args.get("message_ts") or ""
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "permalink": self.permalink(channel, ts)}

    def permalink(self, channel: str, ts: str) -> str:
        """The link chat.getPermalink gives for a message: `.../archives/<channel>/p<ts without dot>`."""
        return f"https://{self.domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"

    def _view(self, args: dict[str, Any], *, needs: str) -> dict[str, Any]:
        if not args.get(needs):
            return {"ok": False, "error": f"invalid_arguments: {needs} missing"}
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        if not isinstance(view, dict) or view.get("type") not in ("home", "modal"):
            return {"ok": False, "error": "invalid_arguments"}
        if view["type"] == "modal" and not view.get("title"):
            return {"ok": False, "error": "invalid_arguments"}
        errors = block_errors(view.get("blocks") or [], MAX_VIEW_BLOCKS)
        if errors:
            return {"ok": False, "error": "invalid_arguments", "errors": errors}
        return {"ok": True, "view": {"id": f"V{next(self._ids):08d}", **view}}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args, needs="user_id")

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args, needs="trigger_id")

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args, needs="view_id")

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"info": {"id": file_id, "name": args["filename"]}, "data": b""}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        if not files:
            return {"ok": False, "error": "invalid_arguments"}
        out = []
        for f in files:
            if f.get("id") not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            out.append({"id": f["id"], "title": f.get("title", ""), "size": len(self.uploads[f["id"]])})
        return {"ok": True, "files": out}

    def _m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        f = self.files.get(args.get("file", ""))
        if f is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": f["info"]}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    # -- response_url, uploads, downloads -----------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = {"_raw": await request.text()}
        call = Call("response_url", body, dict(request.headers), name=name)
        uses = self._response_uses.get(name, 0)
        limited = self._limited.get("response_url")
        if limited and limited[0] > 0:
            limited[0] -= 1
            call.status = 429
            await self._record(call)
            return web.Response(status=429, text="rate_limited", headers={"Retry-After": str(limited[1])})
        if uses >= RESPONSE_URL_USES:
            call.status = 404
            await self._record(call)
            return web.Response(status=404, text="used_url")
        self._response_uses[name] = uses + 1
        errors = block_errors(body.get("blocks") or [])
        if not body.get("text") and not body.get("blocks") and not body.get("delete_original"):
            errors.append("no_text")
        call.status = 400 if errors else 200
        await self._record(call)
        if errors:
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()  # slack_sdk posts the file's bytes as the body
        call = Call("upload", {"size": len(data)}, dict(request.headers), name=file_id)
        if file_id not in self.files:
            call.status = 404
            await self._record(call)
            return web.Response(status=404, text="not found")
        self.uploads[file_id] = data
        await self._record(call)
        return web.Response(text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        call = Call("file", dict(request.query), dict(request.headers), name=file_id)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token != self.token or file_id not in self.files:
            call.status = 403
            await self._record(call)
            return web.Response(status=403, text="<html>sign in</html>", content_type="text/html")
        await self._record(call)
        return web.Response(body=self.files[file_id]["data"], content_type="application/octet-stream")

    # -- Socket Mode --------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await self._record(Call("socket_connect", {}, dict(request.headers)))
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0STANDIN"}}
        )
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                self.socket_acks.append(data)
                await self._record(Call("socket_ack", data, {}, name=str(data.get("envelope_id", ""))))
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Push one Socket Mode envelope to every connected client."""
        for ws in list(self._sockets):
            await ws.send_json(envelope)


# -- Slack's requests to the app -------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    status: int
    text: str
    elapsed: float
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class SlackSender:
    """Sends the app what Slack would: form-encoded commands and interactions, JSON events, all signed."""

    def __init__(
        self, app_url: str, secret: str, standin: SlackStandin, *, team_id: str | None = None
    ) -> None:
        self.app_url = app_url
        self.secret = secret
        self.standin = standin
        self.team_id = team_id or standin.team_id
        self._n = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        unsigned: bool = False,
    ) -> Reply:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timestamp = timestamp or str(int(time.time()))
        sent = {"Content-Type": content_type, **(headers or {})}
        if not unsigned:
            sent["X-Slack-Request-Timestamp"] = timestamp
            sent["X-Slack-Signature"] = signature or sign(self.secret, timestamp, body)
        started = time.perf_counter()
        async with self._session.post(self.app_url, data=body.encode(), headers=sent) as resp:
            text = await resp.text()
            return Reply(resp.status, text, time.perf_counter() - started, dict(resp.headers))

    def command_body(
        self, text: str, *, user: str = "U0ALICE", channel: str = "C0GENERAL", response_url: str | None = None
    ) -> str:
        n = next(self._n)
        return urlencode(
            {
                "token": "deprecated-verification-token",
                "team_id": self.team_id,
                "team_domain": self.standin.domain,
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": "alice",
                "command": "/deliverability",
                "text": text,
                "api_app_id": "A0STANDIN",
                "is_enterprise_install": "false",
                "response_url": response_url or self.standin.response_url(f"cmd{n}"),
                "trigger_id": f"{n}.1.trigger",
            }
        )

    async def command(self, text: str, **kwargs: Any) -> Reply:
        return await self.post(self.command_body(text, **kwargs), "application/x-www-form-urlencoded")

    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> str:
        return json.dumps(
            {
                "token": "deprecated-verification-token",
                "team_id": self.team_id,
                "api_app_id": "A0STANDIN",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self._n):08d}",
                "event_time": int(time.time()),
                "authorizations": [
                    {"team_id": self.team_id, "user_id": self.standin.bot_user_id, "is_bot": True}
                ],
            }
        )

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> Reply:
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(self.event_body(event, event_id=event_id), "application/json", headers=headers)

    async def interaction(self, payload: dict[str, Any]) -> Reply:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    # -- payload builders ---------------------------------------------------------------------------

    def message(
        self,
        text: str,
        *,
        channel: str = "C0GENERAL",
        user: str | None = "U0ALICE",
        ts: str | None = None,
        thread_ts: str | None = None,
        channel_type: str = "channel",
        bot_id: str | None = None,
        subtype: str | None = None,
        files: list[dict] | None = None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "text": text,
            "ts": ts or f"{int(time.time())}.{next(self._n):06d}",
            "channel_type": channel_type,
            "event_ts": ts or "",
        }
        if user:
            event["user"] = user
        if thread_ts:
            event["thread_ts"] = thread_ts
        if bot_id:
            event["bot_id"] = bot_id
            event["subtype"] = subtype or "bot_message"
        elif subtype:
            event["subtype"] = subtype
        if files:
            event["files"] = files
            event.setdefault("subtype", "file_share")
        return event

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        message: dict[str, Any],
        channel: str = "C0GENERAL",
        user: str = "U0ALICE",
        block_id: str = "b",
        ephemeral: bool = False,
        response_url: str | None = None,
    ) -> dict[str, Any]:
        n = next(self._n)
        return {
            "type": "block_actions",
            "user": {"id": user, "username": "alice", "team_id": self.team_id},
            "api_app_id": "A0STANDIN",
            "token": "deprecated-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.get("ts", ""),
                "channel_id": channel,
                "is_ephemeral": ephemeral,
                **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
            },
            "trigger_id": f"{n}.2.trigger",
            "team": {"id": self.team_id, "domain": self.standin.domain},
            "channel": {"id": channel, "name": "general"},
            "message": message,
            "response_url": response_url or self.standin.response_url(f"act{n}"),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": {"type": "plain_text", "text": "button"},
                    "value": value,
                    "type": "button",
                    "action_ts": f"{int(time.time())}.000{n}",
                }
            ],
        }

    def message_shortcut(
        self,
        message: dict[str, Any],
        *,
        channel: str = "C0GENERAL",
        user: str = "U0ALICE",
        callback_id: str = "diagnose_bounce",
    ) -> dict:
        n = next(self._n)
        return {
            "type": "message_action",
            "token": "deprecated-verification-token",
            "action_ts": f"{int(time.time())}.000{n}",
            "team": {"id": self.team_id, "domain": self.standin.domain},
            "user": {"id": user, "username": "alice", "team_id": self.team_id},
            "channel": {"id": channel, "name": "general"},
            "is_enterprise_install": False,
            "callback_id": callback_id,
            "trigger_id": f"{n}.3.trigger",
            "response_url": self.standin.response_url(f"sc{n}"),
            "message_ts": message.get("ts", ""),
            "message": message,
        }
