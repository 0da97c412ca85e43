"""Fixtures for the incident log: a settable clock, a store on a real file, and child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from incidents.model import Observation
from incidents.store import Store
from tests.conftest import ROOT

START = datetime(2024, 5, 8, 9, 0, tzinfo=UTC)


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "deliverability.db"


@pytest.fixture
def store(db_path: Path, clock: Clock):
    with Store.open(db_path, clock=clock) as opened:
        yield opened


def observation(**fields) -> Observation:
    values = {"subject": "81.2.69.160", "receiver": "microsoft", "reason": "blocked", "reporter": "U1"}
    return Observation(**(values | fields))


def python(code: str, *args: str, **popen) -> subprocess.Popen:
    """Start `python -c CODE ARGS` in a child process that can import the project."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args], env=env, cwd=ROOT, text=True, **popen
    )
