"""Outputs of a streamed check (:func:`spatial.analysis.streaming.check_in_chunks`), written range by range:
summary.csv, overlaps.csv and record.csv appended, overlaps.gpkg appended, check.xlsx in constant memory
(bilingual headers), and at the end a report.html that summarises: the verdict counts of every project, the
most serious projects, the layers, the method, the reading record. Nothing is held but that digest.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import geopandas as gpd
import pandas as pd

from spatial.analysis.check import CheckResult
from spatial.outputs.check_report import HTML_MAX_PROJECTS, _gpkg_layers, check_report_html
from spatial.outputs.record import record_table, summary_with_set_aside
from spatial.outputs.tables import (StreamingWorkbook, append_csv, append_gpkg, bilingual, write_csv, write_gpkg)

__all__ = ["StreamedCheckWriter"]


class StreamedCheckWriter:
    """Writes each range's :class:`~spatial.analysis.check.CheckResult` as it comes; :meth:`close` writes the
    report and returns a digest result (every count, the ``keep`` most serious projects) and the files.

    Parameters
    ----------
    out_dir : str or Path
        The output folder.
    xlsx : bool
        Write check.xlsx (constant memory).
    keep : int
        The most serious projects the report lists (the tables have them all).
    """

    def __init__(self, out_dir: str | Path, *, xlsx: bool = True, keep: int = HTML_MAX_PROJECTS) -> None:
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.notes: list[str] = []
        self.book = StreamingWorkbook(self.out / "check.xlsx", self.notes) if xlsx else None
        self.totals: Counter = Counter()
        self.kept_summary = pd.DataFrame()
        self.kept_overlaps = pd.DataFrame()
        self.records: list[pd.DataFrame] = []
        self.first: CheckResult | None = None
        self.projects = 0

    def add(self, result: CheckResult) -> None:
        """Append one range's results to every output."""
        summary, record = summary_with_set_aside(result), record_table(result)
        tables = {"summary.csv": summary, "overlaps.csv": result.overlaps, "record.csv": record}
        for name, df in tables.items():
            (write_csv if self.first is None else append_csv)(df, self.out / name)
        if self.book is not None:
            for sheet, df in (("summary", summary), ("overlaps", result.overlaps), ("record", record)):
                self.book.append(sheet, bilingual(df))
        (write_gpkg if self.first is None else append_gpkg)(_gpkg_layers(result), self.out / "overlaps.gpkg")
        self.totals.update(summary["verdict"].value_counts().to_dict())
        self.projects += len(summary)
        self._keep_worst(result)
        self.records.append(record)
        self.notes.extend(n for n in result.notes if n not in self.notes)
        self.first = self.first or result

    def _keep_worst(self, result: CheckResult) -> None:
        rank = result.verdicts.rank
        summ = pd.concat([self.kept_summary, result.summary], ignore_index=True)
        summ = summ[summ["verdict"] != result.verdicts.none]
        summ = (summ.assign(_r=summ["verdict"].map(rank)).sort_values(["_r", "project_no"], ascending=[False, True])
                .head(self.keep).drop(columns="_r"))
        ov = pd.concat([self.kept_overlaps, result.overlaps], ignore_index=True)
        self.kept_summary = summ.reset_index(drop=True)
        self.kept_overlaps = ov[ov["project_no"].isin(set(summ["project_no"]))].reset_index(drop=True)

    def close(self) -> tuple[CheckResult, dict[str, Path]]:
        """The report, the workbook closed; returns the digest result and every file written."""
        if self.first is None:
            raise ValueError("nothing was checked: add at least one result before close()")
        first = self.first
        digest = CheckResult(summary=self.kept_summary, overlaps=self.kept_overlaps,
                             pieces=first.pieces.iloc[0:0], projects=gpd.GeoDataFrame(geometry=[], crs=first.projects.crs),
                             layers=first.layers, settings={**first.settings, "streamed_projects": self.projects},
                             notes=self.notes, verdicts=first.verdicts, record=pd.concat(self.records, ignore_index=True),
                             audit=first.audit, totals=dict(self.totals))
        files = {name: self.out / name for name in ("summary.csv", "overlaps.csv", "record.csv", "overlaps.gpkg")}
        if self.book is not None:
            self.book.append("layers", bilingual(first.layers))
            files["check.xlsx"] = self.book.close()
        path = self.out / "report.html"
        path.write_text(check_report_html(digest, max_projects=self.keep), encoding="utf-8")
        files["report.html"] = path
        return digest, files
