"""Every DKIM-Signature on a message verified with dkimpy, its keys fetched through our resolver.

dkimpy is synchronous and runs in a worker thread. Its DNS goes through `dnsfunc`, which asks the
run's Resolver and raises `KeyLookupFailed` when a lookup fails: dkimpy's own function would fold a
timeout or SERVFAIL into "no key", and a signature would then fail for a reason that is not true.
Keys are fetched first on the event loop (all signatures at once), so the thread finds them cached.

When the body hash does not match, the signature is checked again without its body hash: "the body
changed" and "the headers changed" are different faults, and a paste (which reflows the body) or a
headers-only message can still show that the signed headers are intact.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import dkim

from checks.dkim import KeyRecord, looks_like_key, parse_key, parse_tags
from checks.dns import Outcome, Resolver, Result
from checks.message.parse import Message
from checks.model import Finding, Status

CHECK = "dkim-signature"
REQUIRED = ("v", "a", "b", "bh", "d", "h", "s")
ALGORITHMS = ("rsa-sha256", "ed25519-sha256", "rsa-sha1")


class KeyLookupFailed(Exception):
    """A key lookup timed out or the server failed; raised through dkimpy, which must not see "no key"."""

    def __init__(self, result: Result) -> None:
        super().__init__(f"{result.name} TXT: {result.describe()}")
        self.result = result


def make_dnsfunc(resolver: Resolver) -> Callable[..., bytes | None]:
    """dkimpy's `dnsfunc(name, timeout=...)`: the key record's text, None when absent, raise when failed."""

    def dnsfunc(name: bytes | str, timeout: float = 5) -> bytes | None:
        qname = (name.decode("ascii", errors="replace") if isinstance(name, bytes) else name).rstrip(".")
        try:
            result = resolver.blocking_query(qname, "TXT")
        except concurrent.futures.TimeoutError as exc:
            raise KeyLookupFailed(Result(qname, "TXT", Outcome.TIMEOUT, detail="no answer")) from exc
        except Exception as exc:  # the run was abandoned (loop closed, lookup cancelled): no answer either
            raise KeyLookupFailed(Result(qname, "TXT", Outcome.ERROR, detail=type(exc).__name__)) from exc
        if result.failed:
            raise KeyLookupFailed(result)
        if not result.ok:
            return None
        keys = [r for r in result.records if looks_like_key(r)] or list(result.records)
        return keys[0].encode("utf-8") if keys else None

    return dnsfunc


@dataclass
class Signature:
    """One DKIM-Signature field and what became of it."""

    index: int  # 0 is the topmost DKIM-Signature
    value: str
    tags: dict[str, str] = field(default_factory=dict)
    result: str = "none"  # pass | fail | permerror | temperror | unverified
    reason: str = ""
    kb: str | None = None
    headers_verified: bool | None = None  # the header hash, checked on its own when the body differs
    body: str = "unchecked"  # ok | changed | unchecked
    key: KeyRecord | None = None
    lookup: Result | None = None
    unspaced: bool = False  # verified only once wrapped lines were rejoined without a space

    @property
    def domain(self) -> str:
        return self.tags.get("d", "").strip().rstrip(".").lower()

    @property
    def selector(self) -> str:
        return self.tags.get("s", "").strip().lower()

    @property
    def algorithm(self) -> str:
        return self.tags.get("a", "").strip().lower()

    @property
    def signed(self) -> list[str]:
        return [h.strip().lower() for h in re.split(r"\s*:\s*", self.tags.get("h", "").strip()) if h.strip()]

    @property
    def body_length(self) -> int | None:
        value = re.sub(r"\s+", "", self.tags.get("l", ""))
        return int(value) if value.isdigit() else None

    @property
    def key_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def label(self) -> str:
        return f"d={self.domain or '?'} s={self.selector or '?'}"

    def covers(self, *names: str) -> bool:
        signed = set(self.signed)
        return all(n.lower() in signed for n in names)

    def key_phrase(self) -> str:
        if self.key is None or self.key.bits is None:
            return self.algorithm or "unknown algorithm"
        kind = "Ed25519" if self.key.key_type == "ed25519" else "RSA"
        return f"{self.algorithm}, {self.key.bits}-bit {kind} key"

    def evidence(self) -> dict:
        data: dict = {
            "d": self.domain,
            "s": self.selector,
            "a": self.algorithm,
            "c": self.tags.get("c", "simple/simple"),
            "h": self.signed,
            "from_signed": "from" in self.signed,
            "result": self.result,
            "body": self.body,
        }
        if self.headers_verified is not None:
            data["headers_verified"] = self.headers_verified
        if self.reason:
            data["reason"] = self.reason
        for tag in ("i", "l", "t", "x"):
            if tag in self.tags:
                data[tag] = self.tags[tag]
        if self.key is not None:
            data["key"] = self.key.evidence()
        if self.lookup is not None:
            data["key_lookup"] = self.lookup.evidence()
        if self.unspaced:
            data["note"] = "verified after rejoining wrapped header lines without a space"
        return data


def signatures(message: Message) -> list[Signature]:
    return [_describe(i, value) for i, value in enumerate(message.all("DKIM-Signature"))]


def _describe(index: int, value: str) -> Signature:
    sig = Signature(index, value)
    tags, errors = parse_tags(value)
    sig.tags = tags
    missing = [t for t in REQUIRED if not tags.get(t, "").strip()]
    if errors or missing:
        problems = errors + ([f"missing or empty {', '.join(t + '=' for t in missing)}"] if missing else [])
        return _set(sig, "permerror", f"the signature is malformed: {'; '.join(problems)}", kb="dkim-syntax")
    if sig.algorithm not in ALGORITHMS:
        return _set(sig, "permerror", f"unknown algorithm a={sig.algorithm}", kb="dkim-syntax")
    if sig.algorithm == "rsa-sha1":
        reason = "it uses rsa-sha1, which receivers no longer accept (RFC 8301); sign with rsa-sha256"
        return _set(sig, "permerror", reason, kb="dkim-signature-fail")
    if "from" not in sig.signed:
        reason = "From is not in h=, so receivers must ignore the signature (RFC 6376 §6.1.1)"
        return _set(sig, "permerror", reason, kb="dkim-signature-fail")
    return sig


def _set(sig: Signature, result: str, reason: str, *, kb: str | None) -> Signature:
    sig.result, sig.reason, sig.kb = result, reason, kb
    return sig


async def verify(message: Message, resolver: Resolver) -> list[Signature]:
    """Verify every signature at once; each ends with a result and a reason."""
    found = signatures(message)
    dnsfunc = make_dnsfunc(resolver)
    await asyncio.gather(*(_verify_one(message, sig, resolver, dnsfunc) for sig in found))
    return found


async def _verify_one(message: Message, sig: Signature, resolver: Resolver, dnsfunc) -> None:
    if sig.result != "none":
        return
    sig.lookup = await resolver.query(sig.key_name, "TXT")
    if sig.lookup.failed:
        reason = f"the key lookup of {sig.key_name} {sig.lookup.describe()}"
        _set(sig, "temperror", reason, kb="dns-lookup-failed")
        return
    keys = [r for r in sig.lookup.records if looks_like_key(r)]
    if not keys:
        where = f" (it points to {sig.lookup.cnames[-1]})" if sig.lookup.cnames else ""
        _set(sig, "permerror", f"no key is published at {sig.key_name}{where}", kb="dkim-key-not-found")
        return
    sig.key = parse_key(keys[0])
    if sig.key.revoked:
        _set(sig, "permerror", f"the key at {sig.key_name} is revoked (empty p=)", kb="dkim-revoked")
        return
    broken = [i for i in sig.key.issues if i.status is Status.FAIL]
    if broken:
        _set(sig, "permerror", f"the key at {sig.key_name} is unusable: {broken[0].text}", kb=broken[0].kb)
        return
    wanted = "ed25519" if sig.algorithm.startswith("ed25519") else "rsa"
    if sig.key.key_type != wanted:
        reason = f"a={sig.algorithm} but the key at {sig.key_name} is k={sig.key.key_type}"
        _set(sig, "permerror", reason, kb="dkim-signature-fail")
        return
    attempt = await asyncio.to_thread(_verify_blocking, message, sig.index, dnsfunc)
    _judge(message, sig, attempt)


@dataclass
class Attempt:
    result: str  # pass | fail | permerror | temperror
    body: str = "unchecked"
    headers_ok: bool | None = None
    reason: str = ""
    unspaced: bool = False
    lookup: Result | None = None


class DkimpyLog(logging.Handler):
    """Keeps dkimpy's error messages (its only account of why a signature failed) off the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []
        self.logger = logging.Logger("dkimpy.capture", logging.ERROR)
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def last(self) -> str:
        return self.messages[-1] if self.messages else ""


def _dkimpy(raw: bytes, idx: int, dnsfunc, *, headers_only: bool) -> tuple[bool, str]:
    capture = DkimpyLog()
    d = dkim.DKIM(raw, logger=capture.logger, minkey=1024)
    if not headers_only:
        return bool(d.verify(idx=idx, dnsfunc=dnsfunc)), capture.last()
    prep = d.verify_headerprep(idx)
    if not prep:
        return False, "signature not found"
    tags, include, fields = prep
    # Without bh= dkimpy skips the body and checks only the header hash, which covers bh= itself.
    tags = {k: v for k, v in tags.items() if k != b"bh"}
    return bool(d.verify_sig(tags, include, fields[idx], dnsfunc)), capture.last()


_PLAIN = (
    ("x= value is past", "the signature has expired (its x= time has passed)"),
    ("t= value is in the future", "the signature's time (t=) is in the future"),
    ("i= domain is not a subdomain", "i= is not within d="),
    ("public key too small", "the key is smaller than 1024 bits, which receivers refuse (RFC 8301)"),
)


def _plain(text: str) -> str:
    for needle, phrase in _PLAIN:
        if needle in text:
            return f"{phrase} ({text})"
    return text


def _attempt(raw: bytes, idx: int, dnsfunc) -> Attempt:
    try:
        ok, why = _dkimpy(raw, idx, dnsfunc, headers_only=False)
    except KeyLookupFailed as exc:
        return Attempt("temperror", reason=f"the key lookup {exc.result.describe()}", lookup=exc.result)
    except dkim.ValidationError as exc:
        if "body hash mismatch" not in str(exc):
            return Attempt("permerror", reason=_plain(str(exc)))
        try:
            headers_ok, why = _dkimpy(raw, idx, dnsfunc, headers_only=True)
        except KeyLookupFailed as exc2:
            return Attempt("temperror", reason=f"the key lookup {exc2.result.describe()}", lookup=exc2.result)
        except dkim.DKIMException as exc2:
            return Attempt("fail", body="changed", headers_ok=False, reason=_plain(str(exc2)))
        return Attempt("fail", body="changed", headers_ok=headers_ok, reason=why)
    except dkim.KeyFormatError as exc:
        return Attempt("fail", reason=_plain(str(exc)))
    except dkim.DKIMException as exc:
        return Attempt("permerror", reason=f"dkimpy could not read it: {_plain(str(exc))}")
    if ok:
        return Attempt("pass", body="ok", headers_ok=True)
    return Attempt("fail", body="ok", headers_ok=False, reason=why)


def _verify_blocking(message: Message, idx: int, dnsfunc) -> Attempt:
    first = _attempt(message.raw, idx, dnsfunc)
    if first.headers_ok or message.raw_unspaced is None or first.result in ("temperror", "permerror"):
        return first
    second = _attempt(message.raw_unspaced, idx, dnsfunc)
    if second.headers_ok:
        second.unspaced = True
        return second
    return first


def _judge(message: Message, sig: Signature, attempt: Attempt) -> None:
    sig.body = attempt.body
    sig.headers_verified = attempt.headers_ok
    sig.unspaced = attempt.unspaced
    if attempt.lookup is not None:
        sig.lookup = attempt.lookup
    if attempt.result == "pass":
        _set(sig, "pass", "", kb="dkim-signature-ok")
    elif attempt.result == "temperror":
        _set(sig, "temperror", attempt.reason, kb="dns-lookup-failed")
    elif attempt.result == "permerror":
        _set(sig, "permerror", attempt.reason, kb="dkim-signature-fail")
    elif attempt.body == "changed":
        _body_changed(message, sig, attempt)
    elif message.pasted:
        reason = "the signed headers don't verify, which text pasted in chat can cause"
        _set(sig, "unverified", reason, kb="paste-body-unverifiable")
    else:
        reason = (
            "the signed headers don't match the signature: a header was changed after signing, or it was "
            "signed with a different key than the one published"
        )
        if attempt.reason and "missing public key" not in attempt.reason:
            reason += f" ({attempt.reason})"
        _set(sig, "fail", reason, kb="dkim-signature-fail")


def _body_changed(message: Message, sig: Signature, attempt: Attempt) -> None:
    headers = "the signed headers verify" if attempt.headers_ok else "the signed headers don't verify either"
    if not message.has_body and (attempt.headers_ok or message.pasted):
        reason = f"{headers}; the input has no body, so the body hash can't be checked"
        _set(sig, "unverified", reason, kb="message-input")
    elif not message.has_body:
        reason = "the signed headers don't match the signature (the input has no body; only headers checked)"
        _set(sig, "fail", reason, kb="dkim-signature-fail")
    elif message.truncated:
        reason = (
            f"{headers}; the message is over the {message.limit:,}-byte limit and was cut, so the body "
            "hash can't be checked"
        )
        _set(sig, "unverified", reason, kb="message-input")
    elif message.pasted:
        reason = (
            f"{headers}; the body hash doesn't match, which a paste causes (chat reflows text): can't "
            "verify the body from a paste, upload the .eml"
        )
        _set(sig, "unverified", reason, kb="paste-body-unverifiable")
    elif attempt.headers_ok:
        reason = (
            "the body was changed after signing (body hash mismatch; the signed headers are intact): a "
            "footer, a rewritten link or re-encoding on the way"
        )
        _set(sig, "fail", reason, kb="dkim-signature-fail")
    else:
        reason = "both the body and the signed headers were changed after signing"
        _set(sig, "fail", reason, kb="dkim-signature-fail")


# -- findings ------------------------------------------------------------------------------------------


def findings(message: Message, found: list[Signature]) -> list[Finding]:
    if not found:
        summary = "the message has no DKIM-Signature: it is not DKIM-signed, and bulk senders must sign"
        return [Finding(CHECK, Status.FAIL, "DKIM-Signature", summary, {"signatures": 0}, kb="dkim-unsigned")]
    out: list[Finding] = []
    for sig in found:
        out.append(_finding(sig))
        out.extend(_extras(message, sig))
    return out


def _finding(sig: Signature) -> Finding:
    who = f"DKIM signature by {sig.domain or '?'} (selector {sig.selector or '?'}, {sig.key_phrase()})"
    evidence = sig.evidence()
    if sig.result == "pass":
        return Finding(CHECK, Status.PASS, sig.label, f"{who} verifies; From is signed", evidence, kb=sig.kb)
    if sig.result == "temperror":
        summary = f"could not check the {who}: {sig.reason}"
        return Finding(CHECK, Status.ERROR, sig.label, summary, evidence, kb=sig.kb)
    if sig.result == "unverified":
        status = Status.INFO if sig.headers_verified else Status.WARN
        summary = f"{who}: {sig.reason}"
        if not sig.headers_verified:
            summary += "; upload the .eml to verify it"
        return Finding(CHECK, status, sig.label, summary, evidence, kb=sig.kb)
    return Finding(CHECK, Status.FAIL, sig.label, f"{who} fails: {sig.reason}", evidence, kb=sig.kb)


def _extras(message: Message, sig: Signature) -> list[Finding]:
    out: list[Finding] = []
    length = sig.body_length
    if length is not None:
        # l= counts canonical bytes; the raw size is close enough to say whether anything is left over.
        unsigned = max(0, len(message.body) - length) if message.body_available else None
        extra = f"; about {unsigned:,} bytes of this body are not covered" if unsigned else ""
        summary = (
            f"DKIM signature by {sig.domain} covers only the first {length:,} bytes of the body "
            f"(l={length}): anyone can append content without breaking it{extra}"
        )
        out.append(
            Finding(
                CHECK, Status.WARN, sig.label, summary, {"l": length, "d": sig.domain}, kb="dkim-body-length"
            )
        )
    if sig.key is not None and sig.key.key_type == "rsa" and sig.key.bits and 1024 <= sig.key.bits < 2048:
        summary = f"DKIM signature by {sig.domain} uses a {sig.key.bits}-bit RSA key: weak, use 2048 bits"
        evidence = {"key_name": sig.key_name, "key_bits": sig.key.bits}
        out.append(Finding(CHECK, Status.WARN, sig.label, summary, evidence, kb="dkim-weak-key"))
    return out
