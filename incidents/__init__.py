"""The incident log: storage over sqlite-utils (migrations), incident grouping, and the daily digest.

The core never imports Slack: a Slack client is passed in where a digest is posted.
"""

from incidents.digest import Digest, build_digest, digest_due, digest_loop, post_digest, render_text
from incidents.log import log_diagnoses, log_report
from incidents.model import Event, Incident, Observation
from incidents.store import (
    IncidentNotFound,
    InvalidStatus,
    SchemaTooNew,
    Store,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "Digest",
    "Event",
    "Incident",
    "IncidentNotFound",
    "InvalidStatus",
    "Observation",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "build_digest",
    "digest_due",
    "digest_loop",
    "log_diagnoses",
    "log_report",
    "post_digest",
    "render_text",
]
