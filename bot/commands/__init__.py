"""CLI sub-commands: each parses its arguments, calls the core, and renders text or JSON.

What several commands share lives here: reading an input (a file, or standard input for `-`) and
reporting a failure the same way everywhere.
"""

from __future__ import annotations

import json
import sys


def read_input(name: str, limit: int) -> bytes:
    """The bytes of file `name`, or of standard input for `-`: at most limit + 1 of them, one past the
    limit being enough for the reader to tell (and say) that the input was cut. Raises OSError."""
    if name == "-":
        return sys.stdin.buffer.read(limit + 1)
    with open(name, "rb") as handle:
        return handle.read(limit + 1)


def fail(command: str, message: object, *, as_json: bool = False, code: int = 2) -> int:
    """Report a failure and return the exit status: a line on stderr for people and, under --json,
    `{"error": …}` on stdout for scripts."""
    if as_json:
        print(json.dumps({"error": str(message)}))
    print(f"deliverability {command}: {message}", file=sys.stderr)
    return code
