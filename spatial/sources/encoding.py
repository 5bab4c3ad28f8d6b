"""Shapefile text encoding: the ``.cpg`` when present (checked against the bytes; ``ANSI``-like values mean the legacy
local code page), else detected from the ``.dbf`` records: strict UTF-8, else the dBASE language-driver byte, else
GB18030 (the GBK superset Chinese software writes)."""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from spatial.errors import InputError

# dBASE language-driver id (byte 29 of the .dbf header) -> code page (a name both Python and iconv know).
# 0x57 ("ANSI", the writer's system code page: CP936 on Chinese Windows) and 0x00 say nothing.
LDID_CODEPAGES = {
    0x01: "CP437", 0x02: "CP850", 0x03: "CP1252", 0x08: "CP865", 0x09: "CP437", 0x0A: "CP850", 0x0B: "CP437",
    0x0D: "CP437", 0x0E: "CP850", 0x0F: "CP437", 0x10: "CP850", 0x11: "CP437", 0x12: "CP850", 0x13: "CP932",
    0x14: "CP850", 0x15: "CP437", 0x16: "CP850", 0x17: "CP865", 0x18: "CP437", 0x19: "CP437", 0x1A: "CP850",
    0x1B: "CP437", 0x1C: "CP863", 0x1D: "CP850", 0x1F: "CP852", 0x22: "CP852", 0x23: "CP852", 0x24: "CP860",
    0x25: "CP850", 0x26: "CP866", 0x37: "CP850", 0x40: "CP852",
    0x4D: "GB18030", 0x4E: "CP949", 0x4F: "CP950", 0x50: "CP874",
    0x58: "CP1252", 0x59: "CP1252", 0x64: "CP852", 0x65: "CP866", 0x66: "CP865", 0x67: "CP861", 0x6A: "CP737",
    0x6B: "CP857", 0x78: "CP950", 0x79: "CP949", 0x7A: "GB18030", 0x7B: "CP932", 0x7C: "CP874",
    0x7D: "CP1255", 0x7E: "CP1256", 0xC8: "CP1250", 0xC9: "CP1251", 0xCA: "CP1254", 0xCB: "CP1253",
    0xCC: "CP1257",
}

# How much of a .dbf the encoding detection looks at (the whole file for usual layers).
_ENCODING_SAMPLE_BYTES = 64 << 20


# --- shapefile encoding -----------------------------------------------------------------------------------

def _sibling(path: Path, suffix: str) -> Path | None:
    for cand in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if cand.exists():
            return cand
    try:
        for cand in path.parent.iterdir():  # other letter cases, e.g. .Dbf
            if cand.stem == path.stem and cand.suffix.lower() == suffix.lower():
                return cand
    except OSError:
        pass
    return None


def _python_codec(name: str) -> str | None:
    text = name.strip().strip("\ufeff").strip()
    m = re.fullmatch(r"(?:ANSI\s*|CP\s*|windows-?)?(\d{3,5})", text, flags=re.I)
    if m:
        num = m.group(1)
        text = "utf-8" if num == "65001" else f"cp{num}"
    elif re.fullmatch(r"8859-?\d+", text):
        text = "iso" + text
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def _read_part(path: Path, layer: str, suffix: str, limit: int | None = None) -> bytes | None:
    """The bytes (at most ``limit``) of one part (``.dbf``, ``.cpg``) of the shapefile ``layer`` in ``path``:
    a .shp, a folder of shapefiles or a .zip holding them; None if there is no such part."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    p = PurePosixPath(member)
                    if p.suffix.lower() == suffix and p.stem.lower() == layer.lower():
                        with zf.open(member) as fh:
                            return fh.read(-1 if limit is None else limit)
        except (OSError, zipfile.BadZipFile):
            return None
        return None
    base = path / f"{layer}.shp" if path.is_dir() else path
    part = _sibling(base, suffix)
    if part is None:
        return None
    with open(part, "rb") as fh:
        return fh.read(-1 if limit is None else limit)


def _dbf_text(data: bytes) -> tuple[int, list[bytes]]:
    """(language-driver byte, the non-ASCII text of the field names and character fields) of .dbf bytes
    (possibly cut short: only the complete records are looked at)."""
    if len(data) < 32:
        return 0, []
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    ldid = data[29]
    values: list[bytes] = []
    fields: list[tuple[int, int]] = []
    offset = 1  # the deletion flag
    for i in range(32, min(header_len, len(data)) - 31, 32):
        desc = data[i:i + 32]
        if desc[0] == 0x0D:
            break
        name = desc[:11].split(b"\x00")[0]
        if any(b >= 0x80 for b in name):
            values.append(name)
        if chr(desc[11]) == "C":
            fields.append((offset, desc[16]))
        offset += desc[16]
    if not fields or record_len == 0:
        return ldid, values
    n = min(n_records, max(0, len(data) - header_len) // record_len)
    if n == 0:
        return ldid, values
    rows = np.frombuffer(data, dtype=np.uint8, count=n * record_len, offset=header_len).reshape(n, record_len)
    for off, flen in fields:
        col = rows[:, off:off + flen]
        hit = np.flatnonzero((col >= 0x80).any(axis=1))
        values.extend(bytes(col[r]).rstrip(b" \x00") for r in hit)
    return ldid, values


def _undecodable(values: list[bytes], codec: str) -> int:
    """How many values do not decode in ``codec`` (a UTF-8 value cut short at the field width is tolerated)."""
    bad = 0
    for v in values:
        try:
            v.decode(codec)
        except UnicodeDecodeError as exc:
            truncated = codec.replace("_", "-").lower() in ("utf-8", "utf8") and exc.reason == "unexpected end of data"
            if not truncated:
                bad += 1
    return bad


def _detect_dbf_encoding(ldid: int, values: list[bytes]) -> tuple[str | None, str]:
    if not values:
        return None, "all text is ASCII (any encoding reads it the same)"
    if _undecodable(values, "utf-8") == 0:
        return "UTF-8", "the .dbf text decodes strictly as UTF-8"
    cp = LDID_CODEPAGES.get(ldid)
    if cp is not None:
        return cp, f"not UTF-8; the .dbf language-driver byte 0x{ldid:02X} means {cp}"
    what = "is 0x57 (the writer's system ANSI code page)" if ldid == 0x57 else f"0x{ldid:02X} says nothing"
    return "GB18030", f"not UTF-8 and the .dbf language-driver byte {what}: GB18030 (the GBK superset) assumed"


# .cpg values that name no encoding, only "the writer's local code page" (CP936/GBK on Chinese Windows)
_LEGACY_CPG = {"", "ANSI", "OEM", "SYSTEM", "DEFAULT", "ACP", "OEMCP", "LOCAL"}


def _legacy_cpg_encoding(cpg_text: str, ldid: int, values: list[bytes], src: str
                         ) -> tuple[str | None, str | None, str, list[str]]:
    """A .cpg naming no encoding: detected from the bytes as without a .cpg, and said so."""
    shown = repr(cpg_text) if cpg_text else "nothing (empty)"
    enc, how = _detect_dbf_encoding(ldid, values)
    read_as = f"read as {enc} ({how})" if enc else "all text is ASCII, so nothing depends on it"
    msg = (f"{src}: the .cpg says {shown}, the writer's legacy local code page, not a named encoding; attributes "
           f"{read_as}; if names look garbled pass --encoding (e.g. gbk), and write the real encoding (e.g. GBK) "
           f"into the .cpg")
    source = f"detected, .cpg ({cpg_text or 'empty'}) names no encoding: {how}"
    return enc, enc or "ASCII", source, [msg]


def _shapefile_encoding(path: Path, layer: str, forced: str | None, src: str
                        ) -> tuple[str | None, str | None, str, list[str]]:
    """(encoding to pass to pyogrio or None for GDAL's own, encoding label, how it was found, warnings)."""
    cpg_bytes = _read_part(path, layer, ".cpg", 1024)
    cpg_text = cpg_bytes.decode("ascii", errors="replace").strip() if cpg_bytes else None
    if forced:
        try:
            codecs.lookup(forced)
        except LookupError:
            raise InputError(f"{src}: encoding {forced!r} is unknown; use e.g. gbk, gb18030 or utf-8") from None
        how = "given (encoding=" + forced + ")" + (f", overriding the .cpg ({cpg_text})" if cpg_text else "")
        return forced, forced, how, []
    dbf = _read_part(path, layer, ".dbf", _ENCODING_SAMPLE_BYTES)
    if dbf is None:
        return None, None, "no .dbf: no attributes", []
    ldid, values = _dbf_text(dbf)
    if cpg_bytes is not None and (cpg_text or "").upper() in _LEGACY_CPG:
        return _legacy_cpg_encoding(cpg_text or "", ldid, values, src)
    if cpg_text:
        codec = _python_codec(cpg_text)
        if codec is None:
            return None, cpg_text, f".cpg ({cpg_text}; read by GDAL)", []
        bad = _undecodable(values, codec)
        if bad == 0:
            return None, cpg_text, f".cpg ({cpg_text})", []
        enc, how = _detect_dbf_encoding(ldid, values)
        enc = enc or "UTF-8"
        msg = (f"{src}: the .cpg says {cpg_text}, but {bad} text value(s) in the .dbf are not valid {cpg_text}; "
               f"read as {enc} instead ({how}); pass --encoding to force another")
        return enc, enc, f"detected, .cpg ({cpg_text}) contradicted by the bytes: {how}", [msg]
    enc, how = _detect_dbf_encoding(ldid, values)
    if enc is None:
        return None, "ASCII", f"no .cpg; {how}", []
    msg = (f"{src}: no .cpg beside the shapefile; attributes read as {enc} ({how}); if names look garbled pass "
           f"--encoding (e.g. gbk or utf-8), or add a .cpg holding the encoding")
    return enc, enc, f"detected (no .cpg): {how}", [msg]
