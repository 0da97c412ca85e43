"""`deliverability analyze A.eml B.eml --compare`: do a marketing and a transactional message share a stream?

Not a command of its own: bot/commands/analyze.py hands its arguments here when --compare is given.
"""

from __future__ import annotations

import json

from bot.commands import fail, read_input
from bot.render_text import render_report
from bot.settings import Settings
from practices import PracticeError
from practices.streams import compare


def _read(name: str, limit: int) -> bytes:
    try:
        return read_input(name, limit)
    except OSError as exc:
        raise PracticeError(f"cannot read {name}: {exc.strerror or exc}") from None


def run_compare(files: list[str], settings: Settings, *, as_json: bool = False, pasted: bool = False) -> int:
    """Exit status: 0 when nothing shared fails or could not be compared, 1 otherwise, 2 for bad input."""
    try:
        if len(files) != 2:
            raise PracticeError(f"--compare needs exactly two messages (got {len(files)})")
        if files.count("-") > 1:
            raise PracticeError("standard input ('-') can be read only once")
        a, b = ((name, _read(name, settings.max_input_bytes)) for name in files)
        comparison = compare(a, b, pasted=pasted, limit=settings.max_input_bytes)
    except PracticeError as exc:
        return fail("analyze --compare", exc, as_json=as_json)
    if as_json:
        print(json.dumps(comparison.to_dict(), ensure_ascii=False))
    else:
        print(render_report(comparison.report()))
    return 0 if comparison.report().ok else 1
