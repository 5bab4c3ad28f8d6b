"""Engines: how an overlay runs. ``local`` (threads and chunks in this process) and ``dask`` (partitions of
projects on a Dask cluster, :mod:`spatial.engine.dask`); an engine is chosen by name behind the stable analysis
functions (``check(..., engine="local")``). Every engine gives the same results."""

from __future__ import annotations

from typing import Any

from spatial.engine.dask import DaskEngine
from spatial.engine.local import LocalEngine
from spatial.errors import InputError

__all__ = ["ENGINES", "get_engine", "LocalEngine", "DaskEngine"]

ENGINES = ("local", "dask")


def get_engine(engine: Any = "local", workers: int | None = None, *, scheduler: str | None = None) -> Any:
    """The engine named ``engine`` (or ``engine`` itself when it is already an engine object).

    Parameters
    ----------
    engine : str or engine object
        ``"local"`` or ``"dask"``; an object with ``overlay``, ``nearest`` and ``map`` methods is used as it is.
    workers : int, optional
        Threads (local engine) or workers of the local Dask cluster.
    scheduler : str, optional
        Dask scheduler address (``tcp://HOST:8786``) for ``"dask"``; default: a local cluster.

    Returns
    -------
    LocalEngine or DaskEngine (or ``engine`` itself)
        Usable as a context manager; ``close()`` releases a Dask cluster.

    Raises
    ------
    InputError
        For an unknown engine name.
    """
    if not isinstance(engine, str):
        return engine
    if engine == "local":
        return LocalEngine(workers or 0)
    if engine == "dask":
        return DaskEngine(scheduler=scheduler, workers=workers)
    raise InputError(f"unknown engine {engine!r}; use one of: {', '.join(ENGINES)}")
