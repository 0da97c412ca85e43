"""Find the knowledge-base entries that explain one bounce, most specific first.

Order (each tier before the next; within a tier, the longer matched text first, then file order):

    1. pattern matches of entries for the provider that refused (or a provider it fronts for),
    2. pattern matches of other receiver-specific entries (Spamhaus, Proofpoint... named in the text),
    3. pattern matches of general entries (receiver "any"),
    4. the exact enhanced status code: first entries of the refusing provider (Gmail numbers some codes
       its own way, so receiver entries match by code only for their own provider), then general ones,
    5. when no wording matched, one entry that explains the bounce's reason and carries no pattern or
       code (feedback, vacation, filtered...),
    6. the code's subject (`5.7.*`), 7. the exact reply code (`550`), 8. the class (`5xx`, `5.*.*`).

Code fallbacks stop at the most specific level found: a `5.1.1` bounce gets the X.1.1 entry and not
also X.1.*; the class entry (5xx) comes only when neither code found anything more specific.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass

from knowledge.base import Entry, KnowledgeBase

# Patterns see at most this much of the diagnostic: the receiver's words sit at its start, and a bound
# keeps even a pattern with an unbounded `.*` from costing more than a few milliseconds.
MAX_TEXT = 8192

# Provider ids as the bounce parser names them → the receiver ids the knowledge base uses.
ALIASES = {
    "gmail": "google",
    "googlemail": "google",
    "workspace": "google",
    "aol": "yahoo",
    "att": "yahoo",
    "yahooinc": "yahoo",
    "outlook": "microsoft",
    "hotmail": "microsoft",
    "office365": "microsoft",
    "exchangeonline": "microsoft",
    "eop": "microsoft",
    "icloud": "apple",
    "ironport": "cisco",
    "pphosted": "proofpoint",
}
# Receivers whose filtering another provider does: iCloud's inbound mail goes through Proofpoint, and
# Orange's through Cloudmark.
FRONTED_BY = {"apple": ("proofpoint",), "orange": ("cloudmark",)}

_PROVIDER_PATTERN, _OTHER_PATTERN, _ANY_PATTERN = 0, 1, 2
_PROVIDER_CODE, _ANY_CODE, _REASON, _SUBJECT, _REPLY, _CLASS = 3, 4, 5, 6, 7, 8
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")


@dataclass(frozen=True)
class _Index:
    patterned: tuple[tuple[Entry, re.Pattern[str]], ...]
    exact: dict[str, tuple[Entry, ...]]  # "5.7.1"
    subject: dict[str, tuple[Entry, ...]]  # "5.7"
    klass: dict[str, tuple[Entry, ...]]  # "5" (from "5.*.*" or "5xx")
    reply: dict[str, tuple[Entry, ...]]  # "550", and "55" for "55x"
    reason: dict[str, tuple[Entry, ...]]  # entries with neither patterns nor codes


_INDEXES: weakref.WeakKeyDictionary[KnowledgeBase, _Index] = weakref.WeakKeyDictionary()


def normalise_provider(provider: str | None) -> str | None:
    if not provider:
        return None
    pid = provider.strip().lower()
    return ALIASES.get(pid, pid) or None


def _combined(entry: Entry) -> re.Pattern[str]:
    """One regex per entry: a single search instead of one per pattern."""
    if len(entry.patterns) == 1:
        return entry.patterns[0]
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in entry.patterns), re.IGNORECASE)
    except re.error:  # a pattern with global inline flags cannot be embedded; keep the first one's
        return entry.patterns[0]


def _build(kb: KnowledgeBase) -> _Index:
    patterned: list[tuple[Entry, re.Pattern[str]]] = []
    buckets: dict[str, dict[str, list[Entry]]] = {
        k: {} for k in ("exact", "subject", "klass", "reply", "reason")
    }

    def put(kind: str, key: str, entry: Entry) -> None:
        bucket = buckets[kind].setdefault(key, [])
        if entry not in bucket:
            bucket.append(entry)

    for entry in kb:
        if entry.patterns:
            patterned.append((entry, _combined(entry)))
        for code in entry.enhanced_codes:
            klass, subject, detail = code.split(".")
            if subject == "*":
                put("klass", klass, entry)
            elif detail == "*":
                put("subject", f"{klass}.{subject}", entry)
            else:
                put("exact", code, entry)
        for code in entry.reply_codes:
            if code.endswith("xx"):
                put("klass", code[0], entry)
            else:
                put("reply", code.rstrip("x"), entry)
        if not entry.patterns and not entry.enhanced_codes and not entry.reply_codes:
            for reason in entry.reasons:
                put("reason", reason, entry)
    # Reasons without an entry of their own fall back to the first general entry that names them first.
    for entry in kb:
        if entry.receiver == "any" and entry.category != "code" and entry.reasons:
            buckets["reason"].setdefault(entry.reasons[0], [entry])
    frozen = {kind: {k: tuple(v) for k, v in d.items()} for kind, d in buckets.items()}
    return _Index(tuple(patterned), **frozen)


def _index(kb: KnowledgeBase) -> _Index:
    index = _INDEXES.get(kb)
    if index is None:
        index = _INDEXES[kb] = _build(kb)
    return index


def match(
    kb: KnowledgeBase,
    *,
    diagnostic: str | None,
    reply_code: str | None = None,
    enhanced_code: str | None = None,
    provider: str | None = None,
    reason: str | None = None,
) -> list[Entry]:
    """The entries that explain this bounce, most specific first (see the module docstring)."""
    index = _index(kb)
    pid = normalise_provider(provider)
    own = {pid, *FRONTED_BY.get(pid or "", ())} - {None}
    ranked: list[tuple[int, int, int, Entry]] = []  # (tier, -matched length, order, entry)

    text = (diagnostic or "")[:MAX_TEXT]
    if text:
        for order, (entry, rx) in enumerate(index.patterned):
            found = rx.search(text)
            if found is None:
                continue
            if entry.receiver == "any":
                tier = _ANY_PATTERN
            elif entry.receiver in own:
                tier = _PROVIDER_PATTERN
            else:
                tier = _OTHER_PATTERN
            ranked.append((tier, -(found.end() - found.start()), order, entry))

    def add(tier: int, entries: tuple[Entry, ...]) -> bool:
        added = False
        for order, entry in enumerate(entries):
            if entry.receiver != "any" and entry.receiver not in own:
                continue  # a receiver's own code numbering means nothing elsewhere
            this_tier = _PROVIDER_CODE if tier == _ANY_CODE and entry.receiver != "any" else tier
            ranked.append((this_tier, 0, order, entry))
            added = True
        return added

    enhanced = _ENHANCED.match((enhanced_code or "").strip())
    reply = (reply_code or "").strip()
    reply = reply if re.fullmatch(r"[245]\d\d", reply) else ""
    found = False
    if enhanced:
        klass, subject, _ = enhanced.groups()
        found = add(_ANY_CODE, index.exact.get(enhanced.group(0), ())) or add(
            _SUBJECT, index.subject.get(f"{klass}.{subject}", ())
        )
    if reply:
        found = (
            add(_REPLY, index.reply.get(reply, ())) or add(_REPLY, index.reply.get(reply[:2], ())) or found
        )
    if not found:
        klass = enhanced.group(1) if enhanced else reply[:1]
        if klass:
            add(_CLASS, index.klass.get(klass, ()))
    if reason and not any(item[0] <= _ANY_PATTERN for item in ranked):
        # Only when no wording matched: one entry explaining the reason itself.
        explained = index.reason.get(reason, ())
        add(_REASON, explained[:1])

    ranked.sort(key=lambda item: item[:3])
    seen: set[str] = set()
    result: list[Entry] = []
    for *_, entry in ranked:
        if entry.id not in seen:
            seen.add(entry.id)
            result.append(entry)
    return result
