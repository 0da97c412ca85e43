"""A raw message made readable: its header fields in order, its body, and what was repaired on the way in.

Input arrives as an uploaded .eml, a file, standard input, or text pasted in chat. Pasted text is
damaged in known ways, and repaired here before anything is verified:

    a ``` code fence around it             removed (pasted only)
    lines before the first header field    dropped ("Here is the message:")
    an mbox `From ` line at the top        dropped
    a folded header line that lost its     rejoined to the field above; dkimpy would refuse the whole
    leading space ("Slack-wrapped")        message, and a DKIM signature can't verify without it

`Message.raw` is the repaired message handed to dkimpy; `Message.headers` the unfolded fields as
text. Input larger than MAX_INPUT_BYTES is cut, and the cut is recorded, never silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import getaddresses

from checks.target import TargetError, domain_name


class MessageError(ValueError):
    """The input can't be analysed as a message at all; the text says why in one line."""


# A field name as real mail writes them. RFC 5322 allows any printable character but `:`, yet a
# wrapped tag list (`h=from:to:subject`) would then pass for a field named `h=from`.
_FIELD = re.compile(rb"^([A-Za-z0-9][A-Za-z0-9_.-]*)[ \t]*:")
_FENCE = b"```"

# RFC 5322 §3.6: fields a message may carry at most once (From, Date at least once, too).
SINGLETONS = (
    "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to", "references",
    "subject", "date",
)  # fmt: skip


@dataclass
class Header:
    name: str  # as written
    value: str  # unfolded, decoded as UTF-8 (bytes that are not UTF-8 become U+FFFD)

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass
class Message:
    raw: bytes  # the (repaired) message as verified by dkimpy
    headers: list[Header]
    body: bytes
    has_body: bool  # a body followed the header section (not just a blank line)
    size: int  # bytes received, before any cut
    truncated: bool  # cut at MAX_INPUT_BYTES
    limit: int
    pasted: bool
    rejoined: int = 0  # header lines rejoined to the field above them
    raw_unspaced: bytes | None = None  # the same repair without the inserted space (see rejoin())
    headers_unspaced: list[Header] | None = None  # the fields of raw_unspaced: same fields, same order
    notes: list[str] = field(default_factory=list)
    not_utf8: bool = False

    def all(self, name: str) -> list[str]:
        key = name.lower()
        return [h.value for h in self.headers if h.key == key]

    def first(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def count(self, name: str) -> int:
        return len(self.all(name))

    @property
    def body_available(self) -> bool:
        """Whether the body we hold is the whole body the sender signed (as far as we can know)."""
        return self.has_body and not self.truncated

    def duplicates(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for h in self.headers:
            if h.key in SINGLETONS:
                counts[h.key] = counts.get(h.key, 0) + 1
        return {k: n for k, n in counts.items() if n > 1}

    def evidence(self) -> dict:
        data: dict = {
            "size_bytes": self.size,
            "header_fields": len(self.headers),
            "has_body": self.has_body,
            "pasted": self.pasted,
        }
        if self.truncated:
            data["cut_at_bytes"] = self.limit
        if self.rejoined:
            data["rejoined_header_lines"] = self.rejoined
        if self.not_utf8:
            data["not_utf8"] = True
        if self.notes:
            data["notes"] = self.notes
        return data


def _to_bytes(data: bytes | str) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    return data.encode("utf-8", errors="replace")


def _decode(value: bytes) -> tuple[str, bool]:
    try:
        return value.decode("utf-8"), True
    except UnicodeDecodeError:
        return value.decode("utf-8", errors="replace"), False


def load(data: bytes | str, *, pasted: bool = False, limit: int = 5_000_000) -> Message:
    """Parse `data` as a message; MessageError when it is empty or has no header fields at all."""
    raw = _to_bytes(data)
    size = len(raw)
    truncated = size > limit
    if truncated:
        raw = raw[:limit]
    notes: list[str] = []
    if not raw.strip():
        raise MessageError("empty input: paste or upload the message's raw source (headers and body)")
    # Only the start is trimmed: trailing spaces belong to the body and to its DKIM hash.
    text = raw.lstrip()
    if pasted and text.startswith(_FENCE):
        text = text[len(_FENCE) :].lstrip()
        if text.rstrip().endswith(_FENCE):
            text = text.rstrip()[: -len(_FENCE)]
        notes.append("removed the ``` code fence around the paste")
    lines = text.split(b"\n")
    start = 0
    while start < len(lines) and start <= 20 and not _FIELD.match(lines[start]):
        start += 1
    if start >= len(lines) or not _FIELD.match(lines[start]):
        raise MessageError(
            "no header fields found: this doesn't look like a raw message (it should start with lines "
            "like 'Received: ...' or 'From: ...'; in most mail programs use 'Show original' or "
            "'View source')"
        )
    if start and not (start == 1 and lines[0].startswith(b"From ")):
        notes.append(f"ignored {start} line(s) before the first header field")
    header_lines: list[bytes] = []
    wrapped: set[int] = set()  # indexes in header_lines of lines rejoined to the field above
    body_start = None
    for i in range(start, len(lines)):
        line = lines[i].rstrip(b"\r")  # the CR goes; any other trailing space is part of the field
        if not line.strip():
            body_start = i + 1
            break
        if line[:1] not in (b" ", b"\t") and not _FIELD.match(line):
            wrapped.add(len(header_lines))
        header_lines.append(line)
    body = b"\n".join(lines[body_start:]) if body_start is not None else b""
    if truncated:
        notes.append(f"the input is over the {limit:,}-byte limit (MAX_INPUT_BYTES) and was cut there")
    message = Message(
        raw=b"",
        headers=[],
        body=body,
        has_body=body_start is not None and bool(body.strip()),
        size=size,
        truncated=truncated,
        limit=limit,
        pasted=pasted,
        notes=notes,
    )
    _rejoin(message, header_lines, wrapped, has_separator=body_start is not None)
    message.headers, message.not_utf8 = _fields(message.raw)
    if message.raw_unspaced is not None:
        message.headers_unspaced = _fields(message.raw_unspaced)[0]
    return message


def _rejoin(message: Message, header_lines: list[bytes], wrapped: set[int], *, has_separator: bool) -> None:
    """Build `raw` with each wrapped line made a continuation of the field above it.

    Where a viewer wrapped a line we can't know whether whitespace was there: a fold in `h=from:\\n to`
    had one, a cut through a base64 value did not. `raw` rejoins with a space, `raw_unspaced` without,
    and the DKIM verifier tries the second when the first doesn't verify.
    """
    tail = b"\r\n\r\n" + message.body if has_separator else b"\r\n"
    spaced = [b" " + line if i in wrapped else line for i, line in enumerate(header_lines)]
    message.raw = b"\r\n".join(spaced) + tail
    if not wrapped:
        return
    message.rejoined = len(wrapped)
    unspaced: list[bytes] = []
    for i, line in enumerate(header_lines):
        if i in wrapped and unspaced:
            unspaced[-1] += line
        else:
            unspaced.append(line)
    message.raw_unspaced = b"\r\n".join(unspaced) + tail
    message.notes.append(
        f"{len(wrapped)} line(s) in the header section were not header fields; each was taken as the "
        "continuation of the field above (a wrapped paste)"
    )


def _fields(raw: bytes) -> tuple[list[Header], bool]:
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    headers: list[Header] = []
    current: list[bytes] | None = None
    name = b""
    utf8 = True

    def flush() -> None:
        nonlocal utf8
        if current is not None:
            value, ok = _decode(b" ".join(part.strip() for part in current).strip())
            utf8 = utf8 and ok
            headers.append(Header(name.decode("ascii", errors="replace"), value))

    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line)
            continue
        match = _FIELD.match(line)
        if not match:
            continue  # an mbox "From " line
        flush()
        name = match.group(1)
        current = [line[match.end() :]]
    flush()
    return headers, not utf8


# -- addresses -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    text: str  # as written
    address: str  # the addr-spec, empty for the null sender
    domain: str | None  # A-label, lower case; None when there is no usable domain
    problem: str | None = None


def _domain_of(address: str) -> tuple[str | None, str | None]:
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return None, f"{address!r} is not an email address"
    try:
        return domain_name(domain.strip().strip("[]")), None
    except TargetError as exc:
        return None, str(exc)


def from_addresses(value: str) -> list[Address]:
    """The mailboxes in one From field (RFC 5322 allows several; DMARC needs exactly one domain)."""
    found = []
    for _name, addr in getaddresses([value]):
        if not addr:
            continue
        domain, problem = _domain_of(addr)
        found.append(Address(value, addr, domain, problem))
    if not found:
        found.append(Address(value, "", None, f"no address in From: {value!r}"))
    return found


def envelope_address(value: str) -> Address:
    """A Return-Path value: `<bounce@example.com>`, or `<>` for the null sender."""
    inner = value.strip()
    match = re.search(r"<([^<>]*)>", inner)
    if match:
        inner = match.group(1).strip()
    if not inner:
        return Address(value, "", None)
    domain, problem = _domain_of(inner)
    return Address(value, inner, domain, problem)
