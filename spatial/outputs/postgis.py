"""Write a check's tables into PostgreSQL/PostGIS: ``summary``, ``overlaps`` and ``pieces`` in one schema.

Method: the URL ``postgresql://USER@HOST:PORT/DB?schema=NAME`` names the database and the schema (created
if absent); the password comes from ``PGPASSWORD`` or ``~/.pgpass`` only (see :mod:`spatial.sources.postgis`).
``summary`` and ``overlaps`` are written as plain tables (:meth:`pandas.DataFrame.to_sql`), ``pieces`` as
a PostGIS table with a ``geometry`` column of SRID 4490 and a spatial index
(:meth:`geopandas.GeoDataFrame.to_postgis`). Each table has a first column ``row_no``, the row's 0-based
position in the result's table and its primary key (``ORDER BY row_no`` gives the result's order). Existing tables of those names in the schema are replaced,
all three in one transaction: a failure leaves the schema as it was.
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import pandas as pd

from spatial.errors import InputError
from spatial.geo.crs import CGCS2000
from spatial.sources.postgis import connect, parse_url, pg_error

__all__ = ["TABLES", "write_check_postgis"]

TABLES = ("summary", "overlaps", "pieces")

ROW = "row_no"     # 0-based position of the row in the result's table; each table's primary key

_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Columns the database takes as they are: object columns of mixed Python values as text."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
    return out


def write_check_postgis(result: Any, url: str) -> list[str]:
    """Write ``result.summary``, ``result.overlaps`` and ``result.pieces`` into the schema named by ``url``.

    Parameters
    ----------
    result : CheckResult
        A result of :func:`spatial.analysis.check.check`.
    url : str
        ``postgresql://USER@HOST:PORT/DB?schema=NAME`` (the schema is created when absent).

    Returns
    -------
    list of str
        The qualified table names written (``NAME.summary``, ``NAME.overlaps``, ``NAME.pieces``).

    Raises
    ------
    InputError
        No schema in the URL, a schema name that is not a plain identifier, the server down, or a write refused.
    """
    import sqlalchemy as sa

    src = parse_url(url)
    if not src.schema:
        raise InputError(f"{src.shown}: no schema to write into; add ?schema=NAME, e.g. {src.url}?schema=check")
    if not _SCHEMA.match(src.schema):
        raise InputError(f"{src.shown}: schema {src.schema!r} is not a plain name (letters, digits, _; at most "
                         f"63 characters, not starting with a digit); choose another")
    engine = connect(src)
    schema = src.schema
    pieces = result.pieces
    if pieces.crs is None or not pieces.crs.equals(gpd.GeoSeries([], crs=CGCS2000).crs):
        pieces = pieces.to_crs(CGCS2000) if pieces.crs is not None else pieces.set_crs(CGCS2000)
    pieces = gpd.GeoDataFrame(_plain(pd.DataFrame(pieces.drop(columns="geometry"))),
                              geometry=pieces.geometry.values, crs=CGCS2000)
    try:
        with engine.begin() as con:
            con.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            _plain(result.summary).to_sql("summary", con, schema=schema, if_exists="replace", index=True,
                                          index_label=ROW)
            _plain(result.overlaps).to_sql("overlaps", con, schema=schema, if_exists="replace", index=True,
                                           index_label=ROW)
            if len(pieces):
                pieces.to_postgis("pieces", con, schema=schema, if_exists="replace", index=True, index_label=ROW)
            else:
                con.execute(sa.text(f'DROP TABLE IF EXISTS "{schema}".pieces'))
                cols = ", ".join(f'"{c}" text' for c in pieces.columns if c != "geometry")
                con.execute(sa.text(f'CREATE TABLE "{schema}".pieces ({ROW} bigint, {cols}, '
                                    f'geometry geometry(Geometry, 4490))'))
            for table in TABLES:   # the row's place in the result: the key readers order by
                con.execute(sa.text(f'ALTER TABLE "{schema}".{table} ADD PRIMARY KEY ({ROW})'))
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - every driver failure becomes an InputError
        raise pg_error(src, exc, f"writing tables {', '.join(TABLES)} into schema {schema!r}") from None
    finally:
        engine.dispose()
    return [f"{schema}.{t}" for t in TABLES]
