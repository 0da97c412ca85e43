"""CLI sub-commands: each parses its arguments, calls the core, and renders text or JSON."""
