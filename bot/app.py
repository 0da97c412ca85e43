"""The Slack app factory: one bolt AsyncApp, the same handlers for HTTP and Socket Mode.

Nothing here runs at import time: `build_app(settings, services)` creates the Web API client and
the app, installs two middlewares (services into every request's context; one delivery per Slack
event id) and registers each handlers/ module. `web_app(...)` wraps it for aiohttp with `/healthz`,
behind a gatekeeper that answers unsigned (401) and malformed (400) requests before bolt reads them.

A request's life: bolt verifies it, the listener acks (a slash command's "Checking…" is the ack's
body) and returns; what is left (checks, diagnosis, posting) runs as a tracked background task, its
DNS and CPU work on the services' core loop, so acks stay fast while many checks run.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import importlib
import json
import logging
import re
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse

from bot.services import Services
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

HANDLERS = (
    "handlers.errors",
    "handlers.commands",
    "handlers.threads",
    "handlers.shortcuts",
    "handlers.actions",
    "handlers.home",
)
EVENTS_PATH = "/slack/events"
MAX_AGE = 5 * 60  # seconds a signed request stays valid: Slack's replay window
_FORM = "application/x-www-form-urlencoded"
RATE_LIMIT_RETRIES = 3


class DeliveryError(RuntimeError):
    """Slack refused a message sent to a response_url (expired, invalid blocks…)."""


def retry_handlers() -> list:
    """Connection errors retried once, 429 answers retried after their Retry-After."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]


def web_client(settings: Settings, *, serving: bool = True) -> AsyncWebClient:
    """The Web API client for SLACK_BOT_TOKEN, at SLACK_API_URL when set. A serving process retries
    429s (retry_handlers); a one-shot CLI command keeps slack_sdk's default, one retry on a connection
    error."""
    kwargs: dict[str, Any] = {"token": settings.slack_bot_token or None}
    if serving:
        kwargs["retry_handlers"] = retry_handlers()
    if settings.slack_api_url:
        # slack_sdk joins "base_url + method", so the base must end with a slash.
        kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    return AsyncWebClient(**kwargs)


class Respond(AsyncRespond):
    """bolt's respond() with retries on 429 (Retry-After) and a raised error when Slack refuses."""

    async def __call__(
        self, text: str | dict = "", blocks=None, attachments=None, **kwargs: Any
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond() needs a response_url, and this request has none")
        message = (
            _build_message(**text)
            if isinstance(text, dict)
            else _build_message(text=text, blocks=blocks, attachments=attachments, **kwargs)
        )
        client = AsyncWebhookClient(
            url=self.response_url, proxy=self.proxy, ssl=self.ssl, retry_handlers=retry_handlers()
        )
        response = await client.send_dict(message)
        if response.status_code != 200:
            raise DeliveryError(f"response_url answered {response.status_code}: {response.body[:200]}")
        return response


def build_app(settings: Settings, services: Services, *, mode: str = "http") -> AsyncApp:
    """The bolt app for `mode` "http" (signatures verified) or "socket" (Socket Mode, no signatures)."""
    if not settings.slack_bot_token:
        raise SettingsError("SLACK_BOT_TOKEN is not set")
    if mode == "http" and not settings.slack_signing_secret:
        raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode cannot verify requests without it")
    app = AsyncApp(
        logger=_bolt_logger(),
        client=web_client(settings),
        signing_secret=settings.slack_signing_secret,
        request_verification_enabled=mode == "http",
        name="deliverability",
        # Listeners ack and return at once, handing the rest to handlers.errors.later: Slack gets its
        # answer without bolt's 10 ms ack polling, and the work left is tracked for a clean shutdown.
        process_before_response=True,
    )
    app.use(_provide(services))
    app.use(_once_per_event(services))
    for name in HANDLERS:
        importlib.import_module(name).register(app)
    # Registered last, so they only see what no handler took: events from subscriptions added in
    # the app's settings and buttons on old messages get a 200, not a 404 that Slack would retry.
    app.event(re.compile(".*"))(_ignore)
    app.action(re.compile(".*"))(_ignore)
    return app


async def _ignore(ack, body) -> None:
    log.debug("nothing handles %s; acknowledged", body.get("type"))
    await ack()


class _EnvTokenNotice(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that the client we pass
    (built from the same setting) wins; that is intended here, so the warning is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("deliverability.slack")
    if not any(isinstance(f, _EnvTokenNotice) for f in logger.filters):
        logger.addFilter(_EnvTokenNotice())
    return logger


def _provide(services: Services) -> Callable[..., Awaitable[None]]:
    async def provide_services(context, next) -> None:
        context["services"] = services
        if context.response_url:
            context["respond"] = Respond(response_url=context.response_url)
        await next()

    return provide_services


def _once_per_event(services: Services) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Slack redelivers an event it thinks we missed (X-Slack-Retry-Num) and sometimes sends one twice:
    the first delivery of an event id claims it in the database, every later one is answered 200 and
    dropped, across restarts and processes sharing DATABASE_PATH."""

    async def once_per_event(body, request, next) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and services.store is not None:
            if not await asyncio.to_thread(services.store.claim_event, event_id):
                retry = (request.headers.get("x-slack-retry-num") or ["-"])[0]
                log.info("event %s already handled (retry %s): dropped", event_id, retry)
                return BoltResponse(status=200, body="")
        await next()
        return None

    return once_per_event


def web_app(app: AsyncApp, services: Services) -> web.Application:
    """The aiohttp application: Slack's requests at /slack/events, a health check at /healthz."""
    application = app.web_app(path=EVENTS_PATH)
    application.middlewares.append(_gatekeeper(services.settings.slack_signing_secret or ""))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "store": services.store is not None})

    application.router.add_get("/healthz", healthz)
    return application


def _gatekeeper(secret: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """What reaches bolt at /slack/events is signed and parses: bolt reads the body before it checks
    the signature and indexes into it without guards, so junk (unsigned or not), a non-numeric
    timestamp or a payload of the wrong shape would otherwise be a 500 with a trace in the log."""

    @web.middleware
    async def gatekeeper(request: web.Request, handler) -> web.StreamResponse:
        if request.path != EVENTS_PATH or request.method != "POST":
            return await handler(request)
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not _signed(secret, raw, timestamp, signature):
            return web.json_response({"error": "invalid request"}, status=401)
        problem = _malformed(raw, request.content_type)
        if problem:
            log.warning("signed request refused: %s", problem)
            return web.json_response({"error": problem}, status=400)
        try:
            return await handler(request)
        except Exception as exc:  # bolt's own parsing of a signed body Slack would never send
            log.warning("signed request refused: bolt could not read it (%s: %s)", type(exc).__name__, exc)
            return web.json_response({"error": "malformed request"}, status=400)

    return gatekeeper


def _signed(secret: str, raw: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes (slack_sdk's verifier decodes them first and raises on
    a body that is not UTF-8, or on a timestamp that is not a number), at most five minutes old."""
    if not timestamp.isascii() or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE:
        return False
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _malformed(raw: bytes, content_type: str) -> str | None:
    """Why a signed body is not one Slack sends (JSON object, or a form whose payload is one), or None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if content_type == "application/json" or (content_type != _FORM and text.lstrip().startswith("{")):
        try:
            body = json.loads(text)
        except ValueError:
            return "body is not JSON"
        if not isinstance(body, dict):
            return "body is not a JSON object"
        if body.get("type") == "event_callback" and not isinstance(body.get("event"), dict):
            return "event_callback without an event"
        return None
    if content_type != _FORM:
        return f"unexpected content type {content_type or '(none)'}"
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" not in form:
        return None
    try:
        payload = json.loads(form["payload"])
    except ValueError:
        return "payload is not JSON"
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return "payload is not a JSON object with a type"
    actions = payload.get("actions")
    if payload["type"] == "block_actions" and not (
        isinstance(actions, list) and actions and all(isinstance(a, dict) for a in actions)
    ):
        return "block_actions without actions"
    if payload["type"].startswith("view_") and not isinstance(payload.get("view"), dict):
        return f"{payload['type']} without a view"
    return None


def start_digest(app: AsyncApp, services: Services, settings: Settings) -> asyncio.Task | None:
    """The daily digest, posted from this process when DIGEST_CHANNEL is set and DIGEST_SCHEDULER is
    on; a claim in the database keeps two processes sharing DATABASE_PATH from both posting it."""
    if not settings.digest_channel or not settings.digest_scheduler or services.store is None:
        return None
    from bot.render_blocks import digest_blocks
    from incidents.digest import digest_loop

    loop = digest_loop(
        services.store,
        app.client,
        settings.digest_channel,
        at=settings.digest_time,
        tz=settings.digest_tz,
        render_blocks=digest_blocks,
    )
    return asyncio.create_task(loop, name="digest")


def start_schedules(app: AsyncApp, services: Services, settings: Settings) -> list[asyncio.Task]:
    """What a serving process runs beside Slack's requests, those switched on: the daily digest and
    the watch scheduler. The caller cancels them when it stops."""
    from watch.scheduler import start_background

    tasks = [start_digest(app, services, settings), start_background(services, app.client)]
    return [task for task in tasks if task is not None]


def tune_for_serving() -> None:
    """Interpreter settings for the serving process, chosen with bench/slack_ack.py.

    With a hundred checks in flight the heap holds ~500k young objects, and CPython's default
    thresholds ran a full collection every few hundred milliseconds, each pausing every thread
    (acks included) for 150 ms to 1 s. Larger thresholds keep collecting short-lived cycles in the
    young generations but scan the whole heap rarely. A 1 ms switch interval lets the thread that
    acks Slack take the interpreter from the busy core thread sooner (5 ms by default).
    """
    gc.set_threshold(50_000, 50, 1000)
    sys.setswitchinterval(0.001)
