"""The practices package is core: it never imports Slack or the Slack handlers."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_practices_imports_no_slack():
    code = (
        "import sys, practices.warmup, practices.streams, practices.suppressions, practices.digest;"
        "banned = {'slack_sdk', 'slack_bolt', 'handlers'};"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in banned);"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
