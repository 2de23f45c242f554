"""The ingest stage: a wave's raw export → its harmonised respondent frame, through the wave's codebook.

Identifiers, contact details, locations, platform metadata and free text stop here: the respondent frame holds
a wave-local pseudonym, the design variables and the harmonised answers (see :mod:`survey_audit.intake`).
"""

from __future__ import annotations

from pathlib import Path

from .. import formats
from ..config.codebook import load_codebook
from ..config.variables import load_variables
from ..intake.harmonise import harmonise
from ..intake.readers import read_raw


def ingest_wave(
    *,
    raw: str,
    codebook: str,
    variables: str,
    wave: str,
    cleaning_defaults: dict,
    respondents_out: str,
    findings_out: str,
    summary_out: str,
) -> None:
    """Raw export → harmonised respondent frame (identifiers and free text removed) and ingest findings."""
    variable_set = load_variables(variables)
    book = load_codebook(codebook, variable_set, wave=wave, cleaning_defaults=cleaning_defaults)
    table = read_raw(
        raw,
        layout=book.layout,
        encoding=book.encoding,
        delimiter=book.delimiter,
        sheet=book.sheet,
        private=book.private_columns,
    )
    result = harmonise(table, book, variable_set)
    summary = {
        "wave": wave,
        "raw_file": Path(raw).as_posix(),
        "layout": table.layout,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "raw_rows": len(table),
        "blank_rows_skipped": list(table.blank_rows),
        "columns_mapped": sum(len(m.raw_columns) for m in book.mappings.values()) + 2,
        "columns_dropped": dict(sorted(book.drop.items())),
        "findings": {str(k): int(v) for k, v in result.findings["finding"].value_counts().sort_index().items()},
    }
    del table  # the raw text is freed before the frame is written
    formats.write_parquet(result.respondents, respondents_out)
    formats.write_csv(result.findings, findings_out)
    formats.write_json(summary, summary_out)
