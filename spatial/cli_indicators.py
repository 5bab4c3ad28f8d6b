"""`spatial indicators`, `conflicts`, `diff`: CLI over spatial.indicators (filled in by the indicators work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the indicator commands to the CLI."""
