"""Wiring for the deliverability bot: settings, CLI, console, Slack app and renderers."""
