"""Read a layer from PostgreSQL/PostGIS into the same validated :class:`~spatial.sources.files.ReadResult` as a file.

A source is named by a URL::

    postgresql://USER@HOST:PORT/DB?table=SCHEMA.TABLE
    postgresql://USER@HOST:PORT/DB?sql=SELECT name, geom FROM redline WHERE county = '330822'

(``postgres://`` is accepted too; ``&geom=COLUMN`` picks the geometry column when a table or query has
several). The password is never part of the URL: libpq takes it from ``PGPASSWORD`` or ``~/.pgpass``.
A URL that carries one is refused, and every message shows the URL with the password masked.

Method: connect with SQLAlchemy over psycopg 3; the geometry column and its SRID come from PostGIS's
``geometry_columns`` view (a table) or from the query's column types and ``ST_SRID`` of its rows (a query);
rows are read with :func:`geopandas.read_postgis` (ordered by the primary key when the table has one), the
CRS is set to ``EPSG:<srid>``, and from there on the layer goes through the file reader's own steps: the
CRS checks of :mod:`spatial.sources.files` (SRID 0 or unknown: the Gauss-Krüger zone is detected from the
eastings' zone prefix, as for a file without a .prj; a GK zone EPSG:4513–4554 or EPSG:4490 is used as
stored), then the geometry validation (repairs, set-aside features, duplicates, Z dropped). The result's
``driver`` is ``"PostGIS"`` and its ``path`` the URL without any password.
"""

from __future__ import annotations

import os
import re
import warnings as _warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import geopandas as gpd

from spatial.errors import InputError
from spatial.sources.crs_detection import _resolve_crs
from spatial.sources.findings import Finding, ReadResult
from spatial.sources.validation import _validate

__all__ = ["URL_PREFIXES", "PgSource", "is_postgis_url", "mask_url", "parse_url", "connect", "read_postgis",
           "pg_error"]

URL_PREFIXES = ("postgresql://", "postgres://")

_PG_TYPES = {"POINT": "Point", "MULTIPOINT": "MultiPoint", "LINESTRING": "LineString",
             "MULTILINESTRING": "MultiLineString", "POLYGON": "Polygon", "MULTIPOLYGON": "MultiPolygon"}

PASSWORD_FIX = "give the password in the PGPASSWORD environment variable or in ~/.pgpass, not in the URL"


def is_postgis_url(value: Any) -> bool:
    """True for a string that names a PostgreSQL source (``postgresql://`` or ``postgres://``)."""
    return isinstance(value, str) and value.strip().lower().startswith(URL_PREFIXES)


def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs).

    Parameters
    ----------
    url : str
        A ``postgresql://`` URL, possibly ``USER:PASSWORD@HOST``.

    Returns
    -------
    str
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)
    if parts.password is None and ":" not in (parts.netloc.rpartition("@")[0] or ""):
        return url
    user = parts.netloc.rpartition("@")[0].split(":", 1)[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def _scrub(text: str, password: str | None = None) -> str:
    """A driver message with any password (the URL's or PGPASSWORD's) masked."""
    for secret in (password, os.environ.get("PGPASSWORD")):
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.I)


@dataclass
class PgSource:
    """A parsed ``postgresql://`` URL.

    ``url`` is the address without password and query (what messages show, plus the query); ``table`` is
    (schema, name), ``sql`` a query, ``geom`` a chosen geometry column, ``schema`` the output schema.
    """

    url: str
    user: str | None
    host: str
    port: int | None
    database: str
    table: tuple[str, str] | None = None
    sql: str | None = None
    geom: str | None = None
    schema: str | None = None
    shown: str = ""

    def sqlalchemy_url(self) -> Any:
        """The SQLAlchemy URL (driver psycopg), without password: libpq reads PGPASSWORD / ~/.pgpass."""
        from sqlalchemy.engine import URL

        return URL.create("postgresql+psycopg", username=self.user or None, host=self.host or None,
                          port=self.port, database=self.database)

    @property
    def what(self) -> str:
        """The table or the query, for messages."""
        if self.table:
            return f"table {self.table[0]}.{self.table[1]}"
        return f"query {self.sql!r}" if self.sql else "no table"


def _split_table(value: str, shown: str) -> tuple[str, str]:
    parts = [p.strip().strip('"') for p in value.split(".")]
    if len(parts) == 1:
        parts = ["public", parts[0]]
    if len(parts) != 2 or not all(parts):
        raise InputError(f"{shown}: table={value!r} is not SCHEMA.TABLE; write e.g. ?table=public.redline")
    return parts[0], parts[1]


def parse_url(url: str, *, table: str | None = None, sql: str | None = None) -> PgSource:
    """Parse ``postgresql://USER@HOST:PORT/DB?table=SCHEMA.TABLE`` (or ``?sql=…``, ``&geom=COL``, ``?schema=S``).

    Parameters
    ----------
    url : str
        The source URL (``postgres://`` accepted).
    table, sql : str, optional
        The table (``SCHEMA.TABLE`` or ``TABLE`` in ``public``) or query, when not in the URL's query
        (a workspace.toml entry gives them as keys of their own).

    Returns
    -------
    PgSource

    Raises
    ------
    InputError
        A URL with a password, without a database, or with a malformed table name.
    """
    raw = url.strip()
    shown = mask_url(raw)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{shown}: not a PostgreSQL URL ({exc}); write "
                         f"postgresql://USER@HOST:PORT/DB?table=SCHEMA.TABLE") from None
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise InputError(f"{shown}: not a PostgreSQL URL; write postgresql://USER@HOST:PORT/DB?table=SCHEMA.TABLE")
    if parts.password is not None:
        raise InputError(f"{shown}: the URL carries a password; {PASSWORD_FIX} (it would show in shell history "
                         f"and in the outputs)")
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise InputError(f"{shown}: no database in the URL; write postgresql://USER@HOST:PORT/DB?table=SCHEMA.TABLE")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - {"table", "sql", "geom", "schema"})
    if unknown:
        raise InputError(f"{shown}: unknown URL parameter(s) {', '.join(unknown)}; use table=, sql=, geom= "
                         f"or schema=")
    table = table or query.get("table")
    sql = sql or query.get("sql")
    if table and sql:
        raise InputError(f"{shown}: give either table= or sql=, not both")
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    src = PgSource(url=base, user=unquote(parts.username) if parts.username else None,
                   host=parts.hostname or "", port=port, database=database,
                   table=_split_table(table, shown) if table else None, sql=sql.strip().rstrip(";") if sql else None,
                   geom=query.get("geom") or None, schema=query.get("schema") or None)
    shown_query = []
    if src.table:
        shown_query.append(f"table={src.table[0]}.{src.table[1]}")
    if src.sql:
        shown_query.append(f"sql={src.sql}")                 # shown as written, for people to read
    if src.schema:
        shown_query.append(f"schema={src.schema}")
    src.shown = base + ("?" + "&".join(shown_query) if shown_query else "")
    return src


def pg_error(src: PgSource, exc: BaseException, doing: str) -> InputError:
    """An :class:`InputError` for a failed database call: the URL (no password), what was being done, the
    driver's first line (scrubbed) and the fix."""
    first = _scrub(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
    text = first.lower()
    where = f"{src.host or 'localhost'}:{src.port or 5432}"
    if "connection refused" in text or "could not connect" in text or "timeout" in text or "timed out" in text \
            or "no such file or directory" in text or "could not translate host" in text:
        fix = (f"start the PostgreSQL server at {where} or correct the host and port "
               f"(pg_isready -h {src.host or 'localhost'} -p {src.port or 5432} tells whether it answers)")
    elif "password" in text or "authentication" in text:
        fix = f"check the user name; {PASSWORD_FIX}"
    elif "database" in text and "does not exist" in text:
        fix = f"create database {src.database!r} or correct the database name in the URL"
    elif "does not exist" in text:
        fix = "check the schema, table and column names (\\dt SCHEMA.* and \\d TABLE in psql list them)"
    else:
        fix = "check the URL, the table or query, and that the PostGIS extension is installed (CREATE EXTENSION postgis)"
    return InputError(f"{src.shown}: {doing} failed ({first}); {fix}")


def connect(src: PgSource) -> Any:
    """A SQLAlchemy engine for ``src``, checked with one round trip.

    Raises
    ------
    InputError
        The server does not answer, refuses the user, or the database does not exist.
    """
    try:
        import sqlalchemy as sa
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise InputError(f"{src.shown}: reading PostGIS needs SQLAlchemy and psycopg; "
                         f"pip install 'eco-spatial-planning[postgis]'") from None
    engine = sa.create_engine(src.sqlalchemy_url(), connect_args={"connect_timeout": 10}, pool_pre_ping=True)
    try:
        with engine.connect() as con:
            con.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - every driver failure becomes an InputError
        engine.dispose()
        raise pg_error(src, exc, f"connecting to database {src.database!r}") from None
    return engine


def _user_sql(text: str) -> Any:
    """A user's query as a SQLAlchemy text clause with no bind parameters: every ``:`` escaped (``::`` casts and
    ``':x'`` literals stay as written)."""
    import sqlalchemy as sa

    return sa.text(text.replace(":", "\\:"))


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _table_geometry(con: Any, src: PgSource) -> tuple[str, int, str | None, list[str]]:
    """(geometry column, SRID, declared type, primary-key columns) of ``src.table`` from geometry_columns."""
    import sqlalchemy as sa

    schema, name = src.table
    exists = con.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{_q(schema)}.{_q(name)}"}).scalar()
    if exists is None:
        tables = con.execute(sa.text(
            "SELECT f_table_schema || '.' || f_table_name FROM geometry_columns ORDER BY 1 LIMIT 20")).scalars().all()
        listed = f"; spatial tables in database {src.database!r}: {', '.join(tables)}" if tables else \
            f"; database {src.database!r} holds no spatial table"
        raise InputError(f"{src.shown}: table {schema}.{name} not found{listed}; correct ?table=SCHEMA.TABLE")
    rows = con.execute(sa.text(
        "SELECT f_geometry_column, srid, type FROM geometry_columns "
        "WHERE f_table_schema = :s AND f_table_name = :n ORDER BY f_geometry_column"),
        {"s": schema, "n": name}).all()
    if not rows:
        raise InputError(f"{src.shown}: table {schema}.{name} has no geometry column; pass a spatial table "
                         f"(or ?sql= a query with a geometry column)")
    if src.geom:
        rows = [r for r in rows if r[0] == src.geom]
        if not rows:
            raise InputError(f"{src.shown}: table {schema}.{name} has no geometry column {src.geom!r}; correct geom=")
    elif len(rows) > 1:
        raise InputError(f"{src.shown}: table {schema}.{name} has several geometry columns "
                         f"({', '.join(r[0] for r in rows)}); pick one with &geom=COLUMN")
    col, srid, gtype = rows[0]
    pk = con.execute(sa.text(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary "
        "ORDER BY array_position(i.indkey, a.attnum)"), {"t": f"{_q(schema)}.{_q(name)}"}).scalars().all()
    if not srid:
        srid = con.execute(_user_sql(f"SELECT ST_SRID({_q(col)}) FROM {_q(schema)}.{_q(name)} "
                                   f"WHERE {_q(col)} IS NOT NULL LIMIT 1")).scalar() or 0
    return col, int(srid or 0), _PG_TYPES.get(str(gtype).upper()), list(pk)


def _query_geometry(con: Any, src: PgSource) -> tuple[str, int]:
    """(geometry column, SRID) of a query: the column of type geometry, the SRID of its rows."""
    import sqlalchemy as sa

    geom_oid = con.execute(sa.text("SELECT CAST('geometry' AS regtype)::oid")).scalar()
    result = con.execute(_user_sql(f"SELECT * FROM ({src.sql}) AS q LIMIT 0"))
    cols = [d[0] for d in result.cursor.description if d[1] == geom_oid]
    result.close()
    if src.geom:
        if src.geom not in cols:
            raise InputError(f"{src.shown}: the query has no geometry column {src.geom!r} (geometry columns: "
                             f"{', '.join(cols) or 'none'}); correct geom=")
        cols = [src.geom]
    if not cols:
        raise InputError(f"{src.shown}: the query returns no geometry column; select one (e.g. SELECT name, geom "
                         f"FROM …)")
    if len(cols) > 1:
        raise InputError(f"{src.shown}: the query returns several geometry columns ({', '.join(cols)}); pick one "
                         f"with &geom=COLUMN")
    srids = con.execute(_user_sql(f"SELECT DISTINCT ST_SRID({_q(cols[0])}) FROM ({src.sql}) AS q "
                                  f"WHERE {_q(cols[0])} IS NOT NULL LIMIT 2")).scalars().all()
    if len(srids) > 1:
        raise InputError(f"{src.shown}: the query's geometries have several SRIDs ({', '.join(map(str, srids))}); "
                         f"transform them to one (ST_Transform) in the query")
    return cols[0], int(srids[0]) if srids else 0


def read_postgis(url: str, *, table: str | None = None, sql: str | None = None, crs: Any = None,
                 name_field: str | None = None) -> ReadResult:
    """Read a PostGIS table or query, validated like a file (see the module docstring).

    Parameters
    ----------
    url : str
        ``postgresql://USER@HOST:PORT/DB?table=SCHEMA.TABLE`` or ``…?sql=SELECT …``.
    table, sql : str, optional
        The table or query when the URL does not name one.
    crs : optional
        The CRS the coordinates are in, overriding the SRID (no transformation), as ``crs=`` of a file.
    name_field : str, optional
        The column naming features in messages.

    Returns
    -------
    ReadResult
        ``driver="PostGIS"``, ``path`` the URL without password, ``layer`` the table (or ``"sql"``).

    Raises
    ------
    InputError
        Server down, database, schema or table missing, no geometry column, no rows, no CRS to be had.
    """
    src = parse_url(url, table=table, sql=sql)
    if not src.table and not src.sql:
        raise InputError(f"{src.shown}: no table or query; add ?table=SCHEMA.TABLE or ?sql=SELECT …")
    engine = connect(src)
    try:
        with engine.connect() as con:
            try:
                if src.table:
                    col, srid, gtype, pk = _table_geometry(con, src)
                    order = f" ORDER BY {', '.join(_q(c) for c in pk)}" if pk else ""
                    query = f"SELECT * FROM {_q(src.table[0])}.{_q(src.table[1])}{order}"
                else:
                    col, srid = _query_geometry(con, src)
                    gtype, query = None, src.sql
                with _warnings.catch_warnings():
                    _warnings.simplefilter("ignore", UserWarning)
                    gdf = gpd.read_postgis(_user_sql(query), con, geom_col=col, crs=None)
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise pg_error(src, exc, f"reading {src.what}") from None
    finally:
        engine.dispose()
    if len(gdf) == 0:
        raise InputError(f"{src.shown}: {src.what} holds no rows; check the table or the query's WHERE")
    gdf = gpd.GeoDataFrame(gdf, geometry=col, crs=None).reset_index(drop=True)
    if col != "geometry" and "geometry" not in gdf.columns:
        gdf = gdf.rename_geometry("geometry")
    warnings: list[Finding] = []
    if srid > 0:
        try:
            gdf = gdf.set_crs(srid, allow_override=True)
        except Exception:  # noqa: BLE001 - an SRID pyproj does not know: treated like a missing CRS
            warnings.append(Finding(src.shown, None, "crs_unknown",
                                    f"{src.shown}: SRID {srid} is not an EPSG code pyproj knows; treated as no CRS"))
    elif len(gdf):
        gdf = gdf.set_crs(None, allow_override=True)
    gdf, crs_source = _resolve_crs(gdf, src.shown, crs, "PostGIS", src.shown, warnings)
    if srid > 0 and crs is None and crs_source == "file":
        crs_source = f"database (SRID {srid})"
    repairs: list[Finding] = []
    set_aside: list[Finding] = []
    good, bad = _validate(gdf, src.shown, gtype, name_field, repairs, set_aside, warnings)
    if len(good) == 0:
        raise InputError(f"{src.shown}: {src.what} has no usable geometry ({len(bad)} rows set aside: "
                         f"{'; '.join(f.message for f in set_aside[:3])}); fix the geometries (ST_MakeValid)")
    layer = f"{src.table[0]}.{src.table[1]}" if src.table else "sql"
    return ReadResult(gdf=good, path=src.shown, layer=layer, driver="PostGIS", encoding="UTF-8",
                      crs_source=crs_source, repairs=repairs, set_aside=set_aside, warnings=warnings,
                      encoding_source="the database's client encoding (UTF-8)", layers=[layer],
                      set_aside_features=bad)


def read_postgis_source(path: str, layer: str | None, *, crs: Any = None, name_field: str | None = None) -> ReadResult:
    """:func:`spatial.sources.files.read_layer` for a URL: ``layer`` is the table when the URL names none."""
    table = layer if layer and "sql=" not in path and "table=" not in path else None
    return read_postgis(path, table=table, crs=crs, name_field=name_field)

