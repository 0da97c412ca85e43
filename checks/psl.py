"""Organisational domains (RFC 7489 §3.2) from the Public Suffix List that ships with `publicsuffixlist`."""

from __future__ import annotations

import threading

import idna
from publicsuffixlist import PublicSuffixList

_lock = threading.Lock()
_psl: PublicSuffixList | None = None


def _list() -> PublicSuffixList:
    # Parsing the list takes a noticeable fraction of a second: do it once per process, on first use.
    global _psl
    if _psl is None:
        with _lock:
            if _psl is None:
                _psl = PublicSuffixList()
    return _psl


def _normalise(name: str) -> str:
    name = name.strip().rstrip(".").lower()
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError:
            pass  # not a valid IDN: the list will treat it as an unknown name
    return name


def organizational_domain(name: str) -> str:
    """The public suffix plus one label: `a.b.example.co.uk` → `example.co.uk`.

    A name that is itself a public suffix (`co.uk`) or has no known suffix is its own organisational
    domain, so callers can always compare the result.
    """
    name = _normalise(name)
    return _list().privatesuffix(name) or name


def same_org(a: str, b: str) -> bool:
    """Whether two names share an organisational domain (DMARC relaxed alignment)."""
    return organizational_domain(a) == organizational_domain(b)
