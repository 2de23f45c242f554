"""Readers for the files survey platforms export: CSV (any common delimiter and encoding), the platform layout
with extra header rows (question text and import ids, as Qualtrics writes them), XLSX, SPSS ``.sav`` and Stata
``.dta`` with value labels.

Every reader returns a :class:`RawTable`: all values as text exactly as in the file (blank as ""), each record
with the row number a reader of the file would point at (line number for text files, spreadsheet row for XLSX,
case number for SPSS and Stata), so later errors can name it. Decoding is never silent: the encoding used is
recorded, and bytes that fit no supported encoding stop the read with the row they are on.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

DELIMITERS = ",;\t|"
TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}


@dataclass
class RawTable:
    """A raw export as text: one row per record, one column per raw column."""

    path: Path
    frame: pd.DataFrame
    source_rows: np.ndarray
    layout: str = "plain"
    encoding: str | None = None
    delimiter: str | None = None
    question_text: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def __len__(self) -> int:
        return len(self.frame)


def read_raw(
    path: str | Path,
    *,
    layout: str = "auto",
    encoding: str = "auto",
    delimiter: str = "auto",
    sheet: str | int | None = None,
) -> RawTable:
    """Read a raw survey export, choosing the reader by the file's extension."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "the raw data file does not exist",
            file=path,
            hint="check the 'raw' column of the wave sheet (config/waves.tsv)",
        )
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        table = _read_text(path, layout=layout, encoding=encoding, delimiter=delimiter)
    elif suffix in (".xlsx", ".xlsm"):
        table = _read_xlsx(path, layout=layout, sheet=sheet)
    elif suffix == ".sav":
        table = _read_stat(path, "sav")
    elif suffix == ".dta":
        table = _read_stat(path, "dta")
    else:
        raise InputError(
            f"files ending in '{suffix}' cannot be read",
            file=path,
            expected="a .csv, .tsv, .txt, .xlsx, .sav or .dta file",
        )
    if len(table) == 0:
        raise InputError(
            "the file has a header but no responses",
            file=path,
            expected="at least one response below the header row(s)",
        )
    return table


# --------------------------------------------------------------------------------------------- text files


def decode(data: bytes, encoding: str, path: Path) -> tuple[str, str]:
    """Decode bytes, returning the text and the encoding used.

    ``auto`` accepts UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark, and otherwise
    Windows-1252 (the Latin-1 superset spreadsheets write) when every byte is defined there.
    """
    if encoding != "auto":
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(
                f"'{encoding}' is not a known text encoding", file=path, expected="utf-8, cp1252, latin-1 or auto"
            ) from None
        return _decode_strict(data, encoding, path), encoding
    if data.startswith(codecs.BOM_UTF8):
        return _decode_strict(data[len(codecs.BOM_UTF8) :], "utf-8", path), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_strict(data, "utf-16", path), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise InputError(
            "the file is neither UTF-8 nor Windows-1252 (cp1252) text",
            file=path,
            row=row,
            value=f"byte 0x{data[exc.start]:02X}",
            expected="text saved as UTF-8 (preferred) or cp1252",
            hint="re-save the export as UTF-8, or set 'encoding' in the codebook's file section",
        ) from None


def _decode_strict(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"the file is not valid {encoding} text",
            file=path,
            row=row,
            value=f"byte 0x{data[exc.start]:02X}",
            expected=f"text encoded as {encoding}",
            hint="re-save the export as UTF-8, or set the right 'encoding' in the codebook's file section",
        ) from None


def sniff_delimiter(text: str) -> str:
    """The delimiter of a delimited text file, judged on its first lines; ',' when undecidable."""
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _records(text: str, delimiter: str, path: Path) -> list[tuple[int, list[str]]]:
    """Parse delimited text into (first line number, fields) records."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = []
    start = 1
    try:
        for fields in reader:
            records.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(
            f"the file cannot be parsed as delimited text ({exc})",
            file=path,
            row=reader.line_num,
            expected="properly quoted fields; a row cut off inside a quoted value is a truncated file",
        ) from None
    return records


def _is_platform_import_row(cells: list[str]) -> bool:
    filled = [c for c in cells if c.strip()]
    return bool(filled) and all(c.strip().startswith("{") and "importid" in c.lower() for c in filled)


def _read_text(path: Path, *, layout: str, encoding: str, delimiter: str) -> RawTable:
    data = path.read_bytes()
    if not data.strip():
        raise InputError("the file is empty", file=path, expected="a header row and at least one response")
    text, used_encoding = decode(data, encoding, path)
    if delimiter == "auto":
        delimiter = "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(text)
    records = [(line, fields) for line, fields in _records(text, delimiter, path) if any(f.strip() for f in fields)]
    if not records:
        raise InputError("the file is empty", file=path, expected="a header row and at least one response")
    return _table_from_records(path, records, layout=layout, encoding=used_encoding, delimiter=delimiter)


def _table_from_records(
    path: Path,
    records: list[tuple[int, list[str]]],
    *,
    layout: str,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RawTable:
    header_line, header = records[0]
    _check_header(header, path, header_line)
    body = records[1:]
    question_text: dict[str, str] = {}
    if layout == "auto":
        layout = "platform" if len(body) >= 2 and _is_platform_import_row(body[1][1]) else "plain"
    if layout == "platform":
        if len(body) < 2 or not _is_platform_import_row(body[1][1]):
            row = body[1][0] if len(body) >= 2 else header_line + 2
            raise InputError(
                "the file is declared as a survey-platform export but its third row is not the import-id row",
                file=path,
                row=row,
                expected='a row of {"ImportId": ...} cells under the question-text row',
                hint="set 'layout: plain' in the codebook if the export has a single header row",
            )
        question_text = dict(zip(header, body[0][1]))
        body = body[2:]
    width = len(header)
    for line, fields in body:
        if len(fields) != width:
            what = "fewer" if len(fields) < width else "more"
            raise InputError(
                f"the row has {what} values ({len(fields)}) than the header has columns ({width})",
                file=path,
                row=line,
                expected=f"{width} values per row; a row cut short usually means the file was truncated",
            )
    frame = pd.DataFrame([fields for _, fields in body], columns=header, dtype=object)
    if frame.empty:
        frame = pd.DataFrame(columns=header, dtype=object)
    rows = np.array([line for line, _ in body], dtype=np.int64)
    return RawTable(
        path, frame, rows, layout=layout, encoding=encoding, delimiter=delimiter, question_text=question_text
    )


def _check_header(header: list[str], path: Path, line: int) -> None:
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise InputError(
                f"column {position} of the header has no name",
                file=path,
                row=line,
                expected="a name for every column",
            )
        if name in seen:
            raise InputError(
                f"the column name '{name}' appears twice in the header",
                file=path,
                row=line,
                column=name,
                expected="unique column names",
            )
        seen.add(name)


# --------------------------------------------------------------------------------------------- spreadsheets


def _cell_text(value) -> str:
    """A spreadsheet or statistical-file cell as the text a CSV export would show."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def _read_xlsx(path: Path, *, layout: str, sheet: str | int | None) -> RawTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for damaged files
        raise InputError(
            f"the spreadsheet cannot be opened ({exc.__class__.__name__})",
            file=path,
            expected="an .xlsx file saved by Excel or a survey platform",
        ) from None
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int):
            if sheet >= len(book.worksheets):
                raise InputError(
                    f"the workbook has no sheet number {sheet}",
                    file=path,
                    expected=f"a sheet index below {len(book.worksheets)}",
                )
            ws = book.worksheets[sheet]
        else:
            if sheet not in book.sheetnames:
                raise InputError(
                    f"the workbook has no sheet named '{sheet}'",
                    file=path,
                    expected="one of " + ", ".join(book.sheetnames),
                )
            ws = book[sheet]
        records = []
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in row]
            if any(c.strip() for c in cells):
                records.append((number, cells))
    finally:
        book.close()
    if not records:
        raise InputError("the spreadsheet is empty", file=path, expected="a header row and at least one response")
    width = max(len(cells) for _, cells in records)
    header = records[0][1]
    while header and not header[-1].strip():
        header = header[:-1]
    width = len(header)
    trimmed = [(records[0][0], header)]
    for number, cells in records[1:]:
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            raise InputError(
                "the row has values beyond the last named column",
                file=path,
                row=number,
                value=extra[0],
                expected=f"{width} columns, as in the header",
            )
        trimmed.append((number, (cells + [""] * width)[:width]))
    return _table_from_records(path, trimmed, layout=layout)


def _read_stat(path: Path, kind: str) -> RawTable:
    import pyreadstat

    reader = pyreadstat.read_sav if kind == "sav" else pyreadstat.read_dta
    try:
        frame, meta = reader(str(path), apply_value_formats=False, user_missing=True)
    except Exception as exc:  # pyreadstat raises its own error types for damaged files
        raise InputError(
            f"the {'SPSS' if kind == 'sav' else 'Stata'} file cannot be read ({exc})",
            file=path,
            expected=f"a .{kind} file written by {'SPSS' if kind == 'sav' else 'Stata'} or a survey platform",
        ) from None
    text = frame.apply(lambda col: col.map(_cell_text)).astype(object) if len(frame) else frame.astype(object)
    labels = {
        column: {_cell_text(code): str(label) for code, label in mapping.items()}
        for column, mapping in (meta.variable_value_labels or {}).items()
    }
    question_text = {c: text for c, text in zip(meta.column_names, meta.column_labels or []) if text}
    rows = np.arange(1, len(text) + 1, dtype=np.int64)
    return RawTable(
        path, text.reset_index(drop=True), rows, layout="plain", question_text=question_text, value_labels=labels
    )
