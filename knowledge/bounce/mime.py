"""Read a message's MIME structure defensively: what the notification says, the machine-readable report,
and the returned original, whatever the nesting, encodings or charsets."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser

from knowledge.bounce.textutil import decode_bytes

MAX_DEPTH = 12
MAX_PARTS = 300
_TAG = re.compile(r"<[^<>]{0,2000}>")
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_HTML_BREAK = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d)\b[^>]{0,200}>", re.I)


@dataclass
class Parts:
    """The pieces of one message that bounce parsing needs."""

    top: Message
    texts: list[str] = field(default_factory=list)  # human-readable parts before the returned message
    dsn: list[list[tuple[str, str]]] = field(default_factory=list)  # delivery-status header blocks
    feedback: list[tuple[str, str]] = field(default_factory=list)  # message/feedback-report fields
    returned: Message | None = None  # headers (and maybe body) of the original message
    attached: list[Message] = field(default_factory=list)  # message/rfc822 parts, in order
    notes: list[str] = field(default_factory=list)


def load(data: bytes) -> tuple[Message | None, str | None]:
    """Parse bytes into a Message; on a parser failure say why instead of raising."""
    try:
        return email.message_from_bytes(data, policy=email.policy.compat32), None
    except RecursionError:
        return None, "The MIME structure is nested too deeply to read; it was read as plain text."
    except Exception as exc:  # the stdlib parser is lenient, but a hostile input must not escape as an error
        return (
            None,
            f"The MIME structure could not be read ({type(exc).__name__}); it was read as plain text.",
        )


def part_text(part: Message) -> str:
    """A leaf part's text: transfer encoding undone (broken base64 is kept as is), charset applied,
    line endings made "\n"."""
    text = _part_text(part)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _part_text(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            return raw
        return ""
    if not isinstance(payload, bytes):
        return str(payload)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(payload, charset)


def _drop_blocks(html: str) -> str:
    """Remove <style>, <script> and <head> elements with their content, in one pass."""
    low = html.lower()
    out: list[str] = []
    pos = 0
    # Where each opening tag next occurs at or after pos (-1: nowhere); refreshed only when passed, so
    # the whole scan stays linear however many blocks there are.
    nxt = {tag: low.find(f"<{tag}") for tag in ("style", "script", "head")}
    while True:
        for tag, at in nxt.items():
            if 0 <= at < pos:
                nxt[tag] = low.find(f"<{tag}", pos)
        live = [(at, tag) for tag, at in nxt.items() if at >= 0]
        if not live:
            break
        i, tag = min(live)
        end = low.find(f"</{tag}", i)
        if end < 0:
            break
        close = low.find(">", end)
        out.append(html[pos:i])
        pos = (close + 1) if close >= 0 else len(html)
    out.append(html[pos:])
    return " ".join(out)


def html_to_text(html: str) -> str:
    html = _drop_blocks(html)
    html = _HTML_BREAK.sub("\n", html)
    text = _TAG.sub(" ", html)
    import html as _html

    return _BLANKS.sub("\n\n", _html.unescape(text))


def _header_blocks(text: str) -> list[list[tuple[str, str]]]:
    """Split a delivery-status body into header blocks ourselves (when the parser left it as text)."""
    blocks: list[list[tuple[str, str]]] = []
    for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        if not chunk.strip():
            continue
        msg = HeaderParser(policy=email.policy.compat32).parsestr(chunk.strip("\n") + "\n\n")
        items = [(k, str(v)) for k, v in msg.items()]
        if items:
            blocks.append(items)
    return blocks


def _items(msg: Message) -> list[tuple[str, str]]:
    out = []
    for k, v in msg.items():
        out.append((k, v if isinstance(v, str) else str(v)))
    return out


def collect(top: Message) -> Parts:
    """Walk the tree (bounded depth and part count) and sort the parts by role."""
    parts = Parts(top=top)
    stack: list[tuple[Message, int, bool]] = [(top, 0, False)]
    seen = 0
    alternative_done: set[int] = set()
    while stack:
        msg, depth, inside_returned = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            parts.notes.append(f"Only the first {MAX_PARTS} MIME parts were read.")
            break
        if depth > MAX_DEPTH:
            parts.notes.append("The MIME structure is nested too deeply; the innermost parts were skipped.")
            continue
        try:
            ctype = msg.get_content_type()
        except Exception:
            ctype = "text/plain"
        payload = msg.get_payload()
        if ctype == "message/delivery-status":
            if isinstance(payload, list):
                parts.dsn.extend(_items(m) for m in payload if isinstance(m, Message))
            else:
                parts.dsn.extend(_header_blocks(part_text(msg)))
            continue
        if ctype in ("message/feedback-report",):
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                parts.feedback.extend(_items(payload[0]))
            else:
                parts.feedback.extend(kv for b in _header_blocks(part_text(msg)) for kv in b)
            continue
        if ctype in ("message/rfc822", "message/global", "message/partial"):
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                parts.attached.append(inner)
                if parts.returned is None:
                    parts.returned = inner
            continue
        if ctype in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
            if parts.returned is None:
                parts.returned = HeaderParser(policy=email.policy.compat32).parsestr(part_text(msg).lstrip())
            continue
        if ctype.startswith("multipart/") and isinstance(payload, str):
            # A multipart whose boundary never appears: its body is all preamble, read it as text.
            if parts.returned is None and payload.strip():
                parts.texts.append(payload)
            continue
        if msg.is_multipart() and isinstance(payload, list):
            children = [m for m in payload if isinstance(m, Message)]
            if ctype == "multipart/alternative":
                plain = [c for c in children if c.get_content_type() == "text/plain"]
                if plain:
                    children = plain[:1]
                alternative_done.add(id(msg))
            for child in reversed(children):
                stack.append((child, depth + 1, inside_returned))
            continue
        if ctype == "text/plain" or (ctype.startswith("text/") and ctype != "text/html"):
            if parts.returned is None:
                parts.texts.append(part_text(msg))
            continue
        if ctype == "text/html":
            if parts.returned is None and not parts.texts:
                parts.texts.append(html_to_text(part_text(msg)))
            continue
        if ctype in ("message/feedback", "application/json") and parts.returned is None:
            parts.texts.append(part_text(msg))
    return parts


def header(msg: Message | None, name: str) -> str:
    """A header as one decoded line ('' when absent or undecodable)."""
    if msg is None:
        return ""
    try:
        raw = msg.get(name)
    except Exception:
        return ""
    if raw is None:
        return ""
    return decode_header_value(str(raw))


def decode_header_value(value: str) -> str:
    if "=?" not in value:
        return " ".join(value.split())
    try:
        from email.header import decode_header

        out = []
        for chunk, charset in decode_header(value):
            if isinstance(chunk, bytes):
                out.append(decode_bytes(chunk, charset))
            else:
                out.append(chunk)
        return " ".join("".join(out).split())
    except Exception:
        return " ".join(value.split())
