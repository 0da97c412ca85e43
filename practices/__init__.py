"""Sender practices as features: warm-up plans, stream separation and list hygiene.

    warmup        a day-by-day volume plan for a new IP, stored; what was sent, logged against it
    streams       two messages compared: shared IP, /24, Return-Path and DKIM domains, which is marketing
    suppressions  hard and repeated soft bounces become a suppression list for the sending platform
    digest        the daily digest's section on IPs in warm-up and the day's new suppressions
    rules         the figures these use, read from knowledge/data/warmup.toml

Bad input raises `PracticeError` (a ValueError) whose message is one line fit for the user; nothing
is stored when it is raised. The figures and rules come from the knowledge base, never from code.
"""

from __future__ import annotations


class PracticeError(ValueError):
    """The input cannot be used (a volume, a date, an address, a message); the text says why."""


__all__ = ["PracticeError"]
