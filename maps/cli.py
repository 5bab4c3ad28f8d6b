"""`spatial map` and `spatial publish`: CLI over the maps package (filled in by the maps work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the map commands to the CLI."""
