"""The core never imports Slack or the bot's wiring."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_incidents_imports_no_slack_and_no_bot():
    code = (
        "import sys, incidents, incidents.digest, incidents.store;"
        "banned = {'slack_sdk', 'slack_bolt', 'bot', 'handlers'};"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in banned);"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
