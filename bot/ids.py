"""The identifiers Slack sends back to us: the command, action, block and view callback ids."""

from __future__ import annotations

from enum import StrEnum

COMMAND = "/deliverability"


class ActionId(StrEnum):
    LOG_INCIDENT = "log_incident"
    RERUN = "rerun_checks"
    CHECK_IP = "check_ip"
    CHECK_DOMAIN = "check_domain"
    SHOW_ALL = "show_all"
    RESOLVE = "resolve_incident"
    ADD_NOTE = "add_note"


class BlockId(StrEnum):
    RESULT_ACTIONS = "result_actions"
    DIAGNOSIS_ACTIONS = "diagnosis_actions"  # one per diagnosis: `diagnosis_actions:<n>`
    INCIDENT_ACTIONS = "incident_actions"  # one per incident: `incident_actions:<id>`
    NOTE_INPUT = "note_input"


class CallbackId(StrEnum):
    DIAGNOSE_BOUNCE = "diagnose_bounce"  # the message shortcut, as declared in manifest.yml
    ADD_NOTE = "add_note_view"
    SHOW_ALL = "show_all_view"


NOTE_ACTION = "note_text"  # the plain_text_input inside BlockId.NOTE_INPUT
