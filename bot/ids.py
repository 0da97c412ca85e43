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
    ANALYZE_AS_MESSAGE = "analyze_as_message"  # on a diagnosis of text that could be a raw message
    COMPARE_MESSAGES = "compare_messages"  # on a message analysis, when its thread had another message


class BlockId(StrEnum):
    RESULT_ACTIONS = "result_actions"
    DIAGNOSIS_ACTIONS = "diagnosis_actions"  # one per diagnosis: `diagnosis_actions:<n>`
    INCIDENT_ACTIONS = "incident_actions"  # one per incident: `incident_actions:<id>`
    NOTE_INPUT = "note_input"
    MESSAGE_ACTIONS = "message_actions"  # a message analysis's buttons, and the "Analyse as a message" offer


class CallbackId(StrEnum):
    DIAGNOSE_BOUNCE = "diagnose_bounce"  # the message shortcut, as declared in manifest.yml
    ANALYZE_MESSAGE = "analyze_message"  # the second message shortcut: analyse as a raw message
    ADD_NOTE = "add_note_view"
    SHOW_ALL = "show_all_view"


NOTE_ACTION = "note_text"  # the plain_text_input inside BlockId.NOTE_INPUT
