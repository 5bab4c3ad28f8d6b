"""Engines: how an overlay runs. ``local`` (threads and chunks in this process) today; an engine is chosen
by name behind the stable analysis functions (``check(..., engine="local")``)."""

from __future__ import annotations

from typing import Any

from spatial.engine.local import LocalEngine
from spatial.errors import InputError

__all__ = ["ENGINES", "get_engine", "LocalEngine"]

ENGINES = ("local",)


def get_engine(engine: Any = "local", workers: int | None = None) -> Any:
    """The engine named ``engine`` (or ``engine`` itself when it is already an engine object).

    Parameters
    ----------
    engine : str or engine object
        ``"local"``; an object with ``overlay``, ``nearest`` and ``map`` methods is used as it is.
    workers : int, optional
        Threads (local engine).

    Raises
    ------
    InputError
        For an unknown engine name.
    """
    if not isinstance(engine, str):
        return engine
    if engine == "local":
        return LocalEngine(workers or 0)
    raise InputError(f"unknown engine {engine!r}; use one of: {', '.join(ENGINES)}")
