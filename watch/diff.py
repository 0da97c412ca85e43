"""What changed between two runs of a watched target: status changes per (check, about), and the new state.

A run's findings are first reduced to *items*, one per thing a check speaks about: an MX host, a
DKIM selector, an IP on one blocklist (the blocklist check's "clean on these lists" finding is split
into one item per list, so a listing compares with that list's earlier "clean"). Several findings
about one thing make one item: the worst one (an `error` only when nothing better was said).

Severity: pass and info 0, warn 1, fail 2; `error` has none, because a lookup that failed says
nothing about the thing. Comparing an item with the last *known* state of it:

    severity rose                                 -> change     (newly listed, PTR gone, MX gone...)
    severity fell                                 -> recovery
    same severity, weaker grade                   -> change     (DMARC p=reject -> quarantine, a
                                                                 smaller DKIM key)
    same severity, stronger grade again           -> recovery   (back to the grade it was lowered
                                                                 from; a grade raised beyond what
                                                                 it was is no news)
    same non-zero severity, another problem (kb)  -> change     (PTR not confirming -> PTR gone)
    now error                                     -> nothing; the last known state is kept, so
                                                     pass -> error -> pass is no recovery and
                                                     pass -> error -> fail is one change
    a problem no longer reported by a check
    that ran cleanly                              -> recovery (after: the check's new clean item
                                                     about another name, else absent)
    a new problem where the check had run before  -> change (before: the check's clean item that
                                                     is gone, as when SPF's pass about the domain
                                                     becomes a fail about a broken include; else
                                                     absent)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

CHANGE = "change"
RECOVERY = "recovery"
ERROR = "error"
SEVERITY = {"pass": 0, "info": 0, "warn": 1, "fail": 2}
_DMARC_POLICY = {"none": 0, "quarantine": 1, "reject": 2}
_ED25519_AS_RSA_BITS = 3072  # comparable strength, so moving RSA 2048 -> Ed25519 is not "weakened"


@dataclass(frozen=True)
class Item:
    """One thing's status in one run."""

    check: str
    about: str
    status: str
    summary: str
    kb: str | None = None
    grade: int | None = None  # a check's strength measure, compared when the severity is unchanged
    lowered_from: int | None = None  # the grade before a lowering was alerted, until it is restored

    @property
    def key(self) -> str:
        return f"{self.check}|{self.about}"

    @property
    def severity(self) -> int | None:
        return SEVERITY.get(self.status)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        fields = ("check", "about", "status", "summary", "kb", "grade", "lowered_from")
        return cls(**{k: data.get(k) for k in fields})


@dataclass(frozen=True)
class Change:
    """A status change of one item between its last known state and this run."""

    check: str
    about: str
    event: str  # change | recovery
    before: Item | None  # None: not reported before (a new problem)
    after: Item | None  # None: no longer reported (a problem gone)

    @property
    def before_status(self) -> str:
        return self.before.status if self.before else "absent"

    @property
    def after_status(self) -> str:
        return self.after.status if self.after else "absent"

    @property
    def before_summary(self) -> str:
        return self.before.summary if self.before else "not reported"

    @property
    def after_summary(self) -> str:
        return self.after.summary if self.after else "no longer reported"

    def to_dict(self, target: str) -> dict[str, Any]:
        """The JSON form `watch run --json` prints, one object per alert."""
        return {
            "target": target,
            "check": self.check,
            "about": self.about,
            "before": self.before_status,
            "after": self.after_status,
            "event": self.event,
            "before_summary": self.before_summary,
            "after_summary": self.after_summary,
        }


def _grade(finding: Mapping[str, Any], target: str) -> int | None:
    evidence = finding.get("evidence") or {}
    check = finding.get("check")
    if check == "dmarc" and finding.get("kb") in ("dmarc-ok", "dmarc-policy-none", "dmarc-pct"):
        tags = evidence.get("tags") or {}
        # A subdomain under its parent's record gets sp= when there is one (as checks.dmarc reads it).
        inherited = evidence.get("applies_from") not in (None, f"_dmarc.{target}")
        policy = str((tags.get("sp") if inherited and tags.get("sp") else tags.get("p")) or "").lower()
        return _DMARC_POLICY.get(policy)
    if check == "dkim" and isinstance(evidence.get("key_bits"), int):
        if evidence.get("key_type") == "ed25519":
            return _ED25519_AS_RSA_BITS
        return evidence["key_bits"]
    return None


def _blocklist_items(finding: Mapping[str, Any]) -> list[Item]:
    evidence = finding.get("evidence") or {}
    about, status, kb = str(finding.get("about")), str(finding.get("status")), finding.get("kb")
    if status == "pass" and isinstance(evidence.get("lists"), list):
        return [
            Item(
                "blocklist",
                f"{about} on {entry['list']}",
                "pass",
                f"{about} is not listed on {entry['list']}",
                kb,
            )
            for entry in evidence["lists"]
            if isinstance(entry, Mapping) and entry.get("list")
        ]
    listed_on = evidence.get("list")
    if listed_on and listed_on != about:
        return [Item("blocklist", f"{about} on {listed_on}", status, str(finding.get("summary")), kb)]
    # A list unusable from this resolver is reported about the list itself: it says nothing of the item.
    return [Item("blocklist", about, status, str(finding.get("summary")), kb)]


def items(findings: Iterable[Mapping[str, Any]], target: str) -> dict[str, Item]:
    """The findings of one run (`Finding.to_dict()` forms) as items keyed `check|about`."""
    raw: list[Item] = []
    for f in findings:
        if f.get("check") == "blocklist":
            raw.extend(_blocklist_items(f))
        else:
            raw.append(
                Item(
                    str(f.get("check")),
                    str(f.get("about")),
                    str(f.get("status")),
                    str(f.get("summary")),
                    f.get("kb"),
                    _grade(f, target),
                )
            )
    out: dict[str, Item] = {}
    for item in raw:
        held = out.get(item.key)
        if held is None or _worse(item, held):
            grade = item.grade
            if held is not None and held.grade is not None and (grade is None or held.grade < grade):
                grade = held.grade
            out[item.key] = Item(item.check, item.about, item.status, item.summary, item.kb, grade)
        elif item.grade is not None and (held.grade is None or item.grade < held.grade):
            out[item.key] = Item(held.check, held.about, held.status, held.summary, held.kb, item.grade)
    return out


def _worse(new: Item, held: Item) -> bool:
    """Whether `new` should stand for the thing instead of `held`: known beats error, then severity."""
    if held.severity is None:
        return new.severity is not None
    return new.severity is not None and new.severity > held.severity


def checks_with_errors(found: Mapping[str, Item]) -> set[str]:
    return {i.check for i in found.values() if i.severity is None}


def compare(before: Mapping[str, Item], after: Mapping[str, Item], ran: Iterable[str]) -> list[Change]:
    """The changes from the last known state (`before`) to this run's items, for the checks that ran."""
    ran = set(ran)
    erred = checks_with_errors(after)
    seen_checks = {i.check for i in before.values()}
    changes: list[Change] = []
    for key, now in after.items():
        if now.severity is None or now.check not in ran:
            continue
        was = before.get(key)
        if was is None:
            if now.severity > 0 and now.check in seen_checks:
                # A check that speaks about another name when it fails (SPF: the broken include) said
                # something clean before: that is the "before", not "not reported".
                changes.append(Change(now.check, now.about, CHANGE, _clean_other(before, after, now), now))
            continue
        event = _event(was, now)
        if event:
            changes.append(Change(now.check, now.about, event, was, now))
    for key, was in before.items():
        # Only a check that ran without a failed lookup can say a problem is gone rather than unseen.
        if key in after or was.check not in ran or was.check in erred or not was.severity:
            continue
        changes.append(Change(was.check, was.about, RECOVERY, was, _clean_other(after, before, was)))
    return sorted(changes, key=lambda c: (c.check, c.about))


def _clean_other(side: Mapping[str, Item], other: Mapping[str, Item], item: Item) -> Item | None:
    """The clean item of the same check on `side` about a name `other` does not mention, if there is one."""
    return next(
        (i for k, i in side.items() if i.check == item.check and i.severity == 0 and k not in other),
        None,
    )


def _event(was: Item, now: Item) -> str | None:
    assert was.severity is not None and now.severity is not None
    if now.severity > was.severity:
        return CHANGE
    if now.severity < was.severity:
        return RECOVERY
    if was.grade is not None and now.grade is not None:
        if now.grade < was.grade:
            return CHANGE
        if was.lowered_from is not None and now.grade >= was.lowered_from:
            return RECOVERY
    if now.severity > 0 and now.kb != was.kb:
        return CHANGE
    return None


def next_state(before: Mapping[str, Item], after: Mapping[str, Item], ran: Iterable[str]) -> dict[str, Item]:
    """The last known state after this run.

    A check that ran with no failed lookup replaces its part of the state; one with a failed lookup
    only updates what it did learn, and keeps the rest; a check that did not run keeps its part.
    """
    ran = set(ran)
    erred = checks_with_errors(after)
    state = {k: v for k, v in before.items() if v.check not in ran or v.check in erred}
    for key, now in after.items():
        if now.severity is not None:
            state[key] = replace(now, lowered_from=_lowered_from(before.get(key), now))
    return state


def _lowered_from(was: Item | None, now: Item) -> int | None:
    """The grade a lowered item is to be restored to, carried from run to run until it is."""
    if was is None or now.grade is None:
        return None
    mark = was.lowered_from
    if was.grade is not None and now.grade < was.grade and mark is None:
        mark = was.grade
    return None if mark is not None and now.grade >= mark else mark


def worst_remaining(state: Mapping[str, Item], check: str) -> int:
    """The highest severity still known for a check: 0 means that check is clean again."""
    return max((i.severity or 0 for i in state.values() if i.check == check), default=0)


def encode_state(state: Mapping[str, Item]) -> dict[str, dict[str, Any]]:
    return {k: v.to_dict() for k, v in state.items()}


def decode_state(data: Mapping[str, Any]) -> dict[str, Item]:
    return {k: Item.from_dict(v) for k, v in (data or {}).items()}
