"""Helpers for the incident log tests: observations and child processes (the store and its clock are
tests/conftest.py's)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from incidents.model import Observation
from tests.conftest import ROOT


def observation(**fields) -> Observation:
    values = {"subject": "81.2.69.160", "receiver": "microsoft", "reason": "blocked", "reporter": "U1"}
    return Observation(**(values | fields))


def python(code: str, *args: str, **popen) -> subprocess.Popen:
    """Start `python -c CODE ARGS` in a child process that can import the project."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args], env=env, cwd=ROOT, text=True, **popen
    )
