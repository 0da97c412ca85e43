"""Watched domains and IPs: scheduled re-checks, change detection, alerts and incidents, and history.

    model.py       a watch, a run's summary, and where each target's runs fall in WATCH_INTERVAL
    diff.py        a run's findings as items, and the changes and recoveries between two runs
    ratelimit.py   the per-list pace of blocklist queries (BLOCKLIST_RATE), outside any deadline
    scheduler.py   ticks, leases, retries, storing runs, incidents, posting alerts; run_forever
    alerts.py      what an alert says, and posting it through an injected client
    manage.py      add, remove, list, history: what the CLI and `/deliverability` call

Storage lives in incidents/store.py (the `-- watches --` section). The core never imports Slack: a
client with an async `chat_postMessage` is passed in.
"""

from watch.alerts import Alert
from watch.diff import Change, Item
from watch.manage import Added, History, NotWatched, WatchError, add, history, listing, remove
from watch.model import Watch
from watch.scheduler import RunResult, Scheduler, run_forever, start_background

__all__ = [
    "Added",
    "Alert",
    "Change",
    "History",
    "Item",
    "NotWatched",
    "RunResult",
    "Scheduler",
    "Watch",
    "WatchError",
    "add",
    "history",
    "listing",
    "remove",
    "run_forever",
    "start_background",
]
