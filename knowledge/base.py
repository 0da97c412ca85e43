"""Load, validate and look up knowledge-base entries stored as TOML files in knowledge/data/.

One file per topic or receiver, each holding `[[entry]]` tables:

    id            unique, lower-case kebab (`spf-too-many-lookups`)
    title         one line
    category      one of CATEGORIES
    receiver      who says it: "any" for a general topic, else a receiver id (`proofpoint`, `gmail`...)
    explanation   what it means and why it matters, in our own words
    steps         ordered remediation steps (at least one)
    sources       public source URLs (at least one)
    patterns      optional: regular expressions over the diagnostic text (case-insensitive)
    reply_codes   optional: basic reply codes this entry applies to ("550")
    enhanced_codes optional: enhanced status codes ("5.7.1"; "5.7.*" for a whole subject)
    reasons       optional: bounce reasons (Sisimai vocabulary) this entry explains
    links         optional: [{title, url}] lookup and delisting pages
    next_checks   optional: live checks worth running next (ids of checks.runner.REGISTRY)
    related       optional: ids of other entries
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
CATEGORIES = (
    "authentication",
    "reputation",
    "blocklist",
    "infrastructure",
    "content",
    "policy",
    "recipient",
    "practice",
    "transport",
    "code",
)
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ENHANCED = re.compile(r"^[245]\.(\d{1,3}|\*)\.(\d{1,3}|\*)$")
_REQUIRED = ("id", "title", "category", "receiver", "explanation", "steps", "sources")


class KnowledgeError(ValueError):
    """A data file or entry is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    category: str
    receiver: str
    explanation: str
    steps: tuple[str, ...]
    sources: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...] = ()
    reply_codes: tuple[str, ...] = ()
    enhanced_codes: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    next_checks: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    file: str = field(default="", compare=False)


def _entry(raw: dict, file: str) -> Entry:
    where = f"{file}: entry {raw.get('id', '?')!r}"
    missing = [k for k in _REQUIRED if not raw.get(k)]
    if missing:
        raise KnowledgeError(f"{where}: missing {', '.join(missing)}")
    unknown = set(raw) - set(Entry.__dataclass_fields__) - {"file"}
    if unknown:
        raise KnowledgeError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if not _ID.match(raw["id"]):
        raise KnowledgeError(f"{where}: id must be lower-case kebab")
    if raw["category"] not in CATEGORIES:
        raise KnowledgeError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    patterns = []
    for text in raw.get("patterns", []):
        try:
            patterns.append(re.compile(text, re.IGNORECASE))
        except re.error as exc:
            raise KnowledgeError(f"{where}: pattern {text!r} does not compile: {exc}") from exc
    for code in raw.get("enhanced_codes", []):
        if not _ENHANCED.match(code):
            raise KnowledgeError(f"{where}: {code!r} is not an enhanced status code")
    for code in raw.get("reply_codes", []):
        if not re.fullmatch(r"[245](\d\d|xx|\dx)", code):
            raise KnowledgeError(f"{where}: {code!r} is not a reply code")
    for url in list(raw["sources"]) + [link.get("url", "") for link in raw.get("links", [])]:
        if not url.startswith("https://") and not url.startswith("http://"):
            raise KnowledgeError(f"{where}: {url!r} is not a URL")
    try:
        links = tuple(Link(link["title"], link["url"]) for link in raw.get("links", []))
    except KeyError as exc:
        raise KnowledgeError(f"{where}: a link needs title and url") from exc
    return Entry(
        id=raw["id"],
        title=raw["title"].strip(),
        category=raw["category"],
        receiver=raw["receiver"],
        explanation=raw["explanation"].strip(),
        steps=tuple(raw["steps"]),
        sources=tuple(raw["sources"]),
        patterns=tuple(patterns),
        reply_codes=tuple(raw.get("reply_codes", [])),
        enhanced_codes=tuple(raw.get("enhanced_codes", [])),
        reasons=tuple(raw.get("reasons", [])),
        links=links,
        next_checks=tuple(raw.get("next_checks", [])),
        related=tuple(raw.get("related", [])),
        file=file,
    )


class KnowledgeBase:
    """All entries by id, in file order."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries: dict[str, Entry] = {}
        for entry in entries:
            if entry.id in self.entries:
                other = self.entries[entry.id].file
                raise KnowledgeError(f"duplicate id {entry.id!r} in {entry.file} and {other}")
            self.entries[entry.id] = entry

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.entries

    def __getitem__(self, entry_id: str) -> Entry:
        return self.entries[entry_id]

    def get(self, entry_id: str | None) -> Entry | None:
        return self.entries.get(entry_id) if entry_id else None

    def __iter__(self):
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def from_dir(cls, directory: Path = DATA_DIR) -> KnowledgeBase:
        entries: list[Entry] = []
        for path in sorted(directory.glob("*.toml")):
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise KnowledgeError(f"{path.name}: {exc}") from exc
            for raw in data.get("entry", []):
                entries.append(_entry(raw, path.name))
        return cls(entries)


@cache
def load() -> KnowledgeBase:
    """The shipped knowledge base, loaded once per process."""
    return KnowledgeBase.from_dir()
