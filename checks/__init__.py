"""Live DNS checks: each module checks one thing and returns findings."""
