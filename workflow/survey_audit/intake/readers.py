"""Readers for the files survey platforms export: CSV (any common delimiter and encoding), the platform layout
with extra header rows (question text and import ids, as Qualtrics writes them), XLSX, SPSS ``.sav`` and Stata
``.dta`` with value labels.

Every reader returns a :class:`RawTable`: all values as text exactly as in the file (blank as ""; pandas' text
dtype, held by Arrow rather than as one Python string per value), each record with the row number a reader of
the file would point at (the line a record starts on for text files, even when a quoted value spans several
lines; the spreadsheet row for XLSX; the case number for SPSS and Stata), so later errors can name it. Every
file is read once, through :func:`~survey_audit.provenance.read_bytes`, and parsed from memory, so the hash a job
records is that of the bytes it parsed.

Text is read by Arrow's CSV reader, straight into columns, when that reading is provably the one Python's ``csv``
module gives: a line that is one whole record whose quoting the ``csv`` module accepts (checked on every line at
once with one regular expression) is that record, the few records whose quoted values run over several lines are
read by the ``csv`` module too (for the lines they take, and to check Arrow's reading of them), and no value
exceeds the ``csv`` module's size limit (:func:`_cells`). Arrow reads the records of the usual width; those of
another (a header wider than its records, a line of spaces, a record cut short or too long) it hands back, and
the ``csv`` module reads them from their lines, to be put back in their places. A record whose quoting the ``csv``
module refuses stops the read there, with the error the strict path gives. Any other file (a header over several
lines or of one column, a value longer than the ``csv`` module allows) is split by the ``csv`` module alone, in one
pass, quoting checked strictly, and followed record by record for the line each starts on when its records span
lines (or its quoting is broken); its faults are named from there. Both paths give the same table and the same
errors. The checks on
records are columnar: their widths as one array, the cells beyond the named columns only of the records longer
than the header, blank records and repeated headers column by column; the first record that fails a check is
the one reported, as a reading row by row would.

A workbook (XLSX) is read by calamine (python-calamine, in Rust), straight into columns: the sheet's XML is handed
to it a slice of whole rows at a time (calamine holds what it reads whole, each cell twice while it builds it), the
rows of a slice come as Python values, and each column becomes text at once by the kind of its values (text as it
is; numbers, booleans, dates and date-times through Arrow; :func:`_cell_text` of each value), when that reading is
provably openpyxl's; openpyxl reads any other workbook row by row, and names the faults of a damaged one (a sheet
whose XML is cut short, even after its rows, included). The two read these otherwise, so a workbook holding one is
read by openpyxl (:func:`_calamine_sheet`, :func:`_sheet_texts`; each is tested both ways): an error cell (#N/A;
calamine gives a blank); an escaped character (``_x000D_``, which calamine decodes and openpyxl keeps as written;
openpyxl also drops ``x005F_`` from shared strings); text that begins or ends with white space without
``xml:space="preserve"`` (calamine trims it); an ISO 8601 date cell; a cell style under which the two show a serial
otherwise (found by both reading a probe: the workbook's own styles, each under one serial); whole numbers from
2**53 on (openpyxl reads an integer exactly, calamine a float) or, in a workbook with a date style, from 2,957,003
on (a date after 9999-12-31 is #VALUE! to openpyxl, a number to calamine); a time of day (calamine gives one for a
negative serial, or one just under a whole day, where openpyxl gives a date-time); a date-time or duration with a
fraction of a second (the two round a serial to milliseconds differently, 1 ms apart for about one value in five);
a chart or macro sheet (openpyxl counts sheets without them). Two differences remain, in files no spreadsheet
writes: a serial within half a millisecond of a whole second but not on it (a spreadsheet stores whole seconds
exactly) is 1 ms apart about once in 3,600, and a number written with digit separators (``1_000``) is a number to
openpyxl and text to calamine.

Decoding is never silent. ``encoding: auto`` reads, in this order:

* UTF-8 with a byte-order mark (recorded as ``utf-8-sig``) and UTF-16 with a byte-order mark (``utf-16``);
* UTF-8 (``utf-8``) when every byte is valid UTF-8;
* otherwise Windows-1252 (``cp1252``), when every byte is a cp1252 character and the file does not also hold
  UTF-8 sequences of accented letters or typographic punctuation (a file that mixes both stops the read).

A Latin-1 (ISO-8859-1) file is read as cp1252 and recorded as ``cp1252``: the two agree on every byte except
0x80–0x9F, which Latin-1 gives to invisible control characters no survey answer contains and cp1252 to the
characters Windows software writes there (€ ‘ ’ “ ” – — …). Reading those bytes as cp1252 is what the file's
author saw. ``encoding: latin-1`` may still be declared; it then refuses a file with bytes 0x80–0x9F rather than
turning them into control characters. A file in cp1252 whose bytes happen to be valid UTF-8 as well is read as
UTF-8; declare ``encoding: cp1252`` for such a file. Bytes that fit no supported encoding, and NUL characters
(UTF-16 without a byte-order mark, or a binary file), stop the read naming the row and column they are in. A
file whose first bytes are those of a workbook, an SPSS or a Stata file is refused for what it is when its
extension says otherwise (an Excel workbook saved as .csv).

A message about a response's value shows it only through :func:`survey_audit.errors.raw_value`: ``private``
names the columns whose values are never shown (the codebook's identifying and free-text columns); a value
under no named column, and every value when the columns' roles are not known (``private`` None: no codebook),
is described by its kind and length instead. Header cells (column names) and the platform's import-id row are
shown as they are.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import math
import operator
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ..errors import ConfigError, Found, InputError, raw_value
from ..provenance import read_bytes

DELIMITERS = ",;\t|"
TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
# The first bytes of the binary files an export is most often mistaken for: what the file is, the extension it is
# read under (None for an old-style .xls workbook, which cannot be read) and the extensions that fit it.
SIGNATURES = [
    (b"PK\x03\x04", "an Excel workbook (or another zip archive)", ".xlsx", XLSX_SUFFIXES),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel workbook (.xls, or another Office file)", None, set()),
    (b"$FL2", "an SPSS data file", ".sav", {".sav"}),
    (b"$FL3", "a compressed SPSS data file", ".zsav", {".zsav"}),
    (b"<stata_dta>", "a Stata data file", ".dta", {".dta"}),
]
LAYOUTS = ("auto", "plain", "platform")
DELIMITER_NAMES = {",": "',' (comma)", ";": "';' (semicolon)", "\t": "tab", "|": "'|' (pipe)"}
SNIFF_LINES = 200  # lines of a text file the delimiter is judged on
SHOW_CHARS = 40  # characters of a value shown around a problem
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # the dtype of a raw column: pandas' text, held by Arrow
CHUNK = 1 << 24  # bytes of a text file scanned at once for its line breaks, and read by Arrow at once
ROWS_AT_ONCE = 1 << 16  # records turned into Arrow columns at once (read by the csv module, or put in order)
SHEET_ROWS_AT_ONCE = 1 << 13  # rows of a sheet turned from calamine's Python values into Arrow columns at once
SHEET_SLICE = 1 << 24  # bytes of a sheet's XML calamine reads at once (its rows as a workbook of their own)
MAX_PIECES = 1 << 10  # slices of a column kept as they are; more are copied into one (:func:`_joined`)

# UTF-8 sequences of the characters a cp1252 file would hold (Latin-1 supplement, Latin Extended-A, general
# punctuation, the euro sign). Finding one in a file that is not valid UTF-8 means the file mixes encodings.
_UTF8_TEXT = re.compile(rb"\xc2[\xa0-\xbf]|[\xc3-\xc5][\x80-\xbf]|\xe2\x80[\x90-\xbf]|\xe2\x81[\x80-\xaf]|\xe2\x82\xac")
# While locating an undecodable byte, each such byte is decoded as one private-use character.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # a line as io.StringIO(newline="") splits them
_MARK = 0xF700


def _mark_bytes(error: UnicodeDecodeError) -> tuple[str, int]:
    return "".join(chr(_MARK + b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("survey_audit.mark", _mark_bytes)


@dataclass
class RawTable:
    """A raw export as text: one row per record, one column per raw column (dtype :data:`TEXT`).

    ``source_rows`` holds each record's row in the file (line, spreadsheet row or case number); ``encoding`` and
    ``delimiter`` what a text file was read with; ``question_text`` the question of each column (platform layout,
    or the variable labels of SPSS and Stata files); ``value_labels`` each labelled column's code → label;
    ``import_ids`` each column's platform import id; ``blank_rows`` the rows below the header that were skipped
    because every cell was blank; ``sheet`` the XLSX sheet read.
    """

    path: Path
    frame: pd.DataFrame
    source_rows: np.ndarray
    layout: str = "plain"
    encoding: str | None = None
    delimiter: str | None = None
    question_text: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    import_ids: dict[str, str] = field(default_factory=dict)
    blank_rows: tuple[int, ...] = ()
    sheet: str | None = None

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
    private: Collection[str] | None = None,
) -> RawTable:
    """Read a raw survey export, choosing the reader by the file's extension.

    ``layout`` (text and XLSX): ``plain`` (one header row), ``platform`` (column names, question text, import
    ids) or ``auto``. ``encoding``: ``auto`` (see the module documentation) or a codec name; for SPSS and Stata
    files it overrides the encoding the file declares. ``delimiter`` (text): ``auto`` (sniffed) or one
    character. ``sheet`` (XLSX): name or 0-based index, the first sheet by default. ``private``: the columns
    whose values no message may show (None: every column, when no codebook says which are identifying).
    """
    path = Path(path)
    if layout not in LAYOUTS:
        raise ConfigError(f"'{layout}' is not a file layout", value=layout, expected="auto, plain or platform")
    if path.is_dir():
        raise InputError("the raw data path is a directory, not a file", file=path, expected="the exported file")
    if not path.is_file():
        raise InputError(
            "the raw data file does not exist",
            file=path,
            expected="an existing .csv, .tsv, .txt, .xlsx, .sav or .dta file",
            hint="check the 'raw' column of the wave sheet (config/waves.tsv), or the path given on the command line",
        )
    suffix = path.suffix.lower()
    _check_signature(path, suffix)
    if suffix in TEXT_SUFFIXES:
        table = _read_text(path, layout=layout, encoding=encoding, delimiter=delimiter, private=private)
    elif suffix in XLSX_SUFFIXES:
        table = _read_xlsx(path, layout=layout, sheet=sheet, private=private)
    elif suffix in (".sav", ".zsav"):
        table = _read_stat(path, "sav", encoding)
    elif suffix == ".dta":
        table = _read_stat(path, "dta", encoding)
    else:
        raise InputError(
            f"files ending in '{suffix}' cannot be read",
            file=path,
            expected="a .csv, .tsv, .txt, .xlsx, .sav or .dta file",
            hint="save old .xls workbooks as .xlsx" if suffix == ".xls" else None,
        )
    if len(table) == 0:
        raise InputError(
            "the file has a header but no responses",
            file=path,
            expected="at least one response below the header row(s)",
            hint="check that the export includes the responses and is not a template",
        )
    return table


def _check_signature(path: Path, suffix: str) -> None:
    """A file whose first bytes say it is another kind of file than its extension (a workbook saved as .csv) is
    refused for what it is, rather than read as a text with strange bytes."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    for signature, what, proper, fitting in SIGNATURES:
        if head.startswith(signature) and suffix not in fitting:
            rename = f"rename it to end in {proper}" if proper else "open it in Excel and save it as .xlsx (or CSV)"
            raise InputError(
                f"the file is {what} saved with a {suffix} extension",
                file=path,
                expected=f"a file whose content is what its extension says ({suffix})",
                hint=f"{rename}, and point the wave sheet's 'raw' (or the command) at the new name",
            )


def _is_private(column: str | None, private: Collection[str] | None) -> bool:
    """Whether a value under ``column`` (None: beyond the named columns) may not be shown in a message."""
    return private is None or column is None or column in private


def _cell(value: str, column: str | None, private: Collection[str] | None) -> Found:
    """A response's value as a message shows it: an excerpt of it, or its description."""
    return raw_value(value, private=_is_private(column, private), show=_excerpt)


def _excerpt(value: str, at: int = 0) -> str:
    """A value as shown in a message: quoted like Python shows it, at most about SHOW_CHARS characters around
    position ``at``, with undecodable bytes shown as \\xNN."""
    start = max(0, at - SHOW_CHARS // 2)
    end = start + SHOW_CHARS
    part = ("…" if start else "") + value[start:end] + ("…" if end < len(value) else "")
    return re.sub(r"\\uf7([0-9a-f]{2})", r"\\x\1", repr(part))


# --------------------------------------------------------------------------------------------- decoding


def decode(
    data: bytes,
    encoding: str = "auto",
    path: str | Path = "<bytes>",
    *,
    delimiter: str = "auto",
    private: Collection[str] | None = None,
) -> tuple[str, str]:
    """Decode a text file's bytes, returning the text and the encoding used (see the module documentation).

    ``delimiter`` and ``private`` are only used to name the column of a byte that cannot be decoded and to say
    what the value holding it is.
    """
    path = Path(path)
    if encoding == "auto":
        text, used = _decode_auto(data, path, delimiter, private)
    else:
        text, used = _decode_declared(data, encoding, path, delimiter, private)
    nul = text.find("\x00")
    if nul >= 0:
        raise _text_error(
            text,
            nul,
            lambda c: c == "\x00",
            path,
            delimiter,
            private,
            problem="the file contains a NUL character (byte 0x00), which text files never hold",
            found="byte 0x00",
            expected="text in UTF-8, UTF-16 with a byte-order mark, or cp1252",
            hint="if the export is UTF-16 without a byte-order mark, set 'encoding: utf-16-le' (or utf-16-be) in the"
            " codebook's file section; otherwise it is not a text export",
        )
    return text, used


def _decode_auto(data: bytes, path: Path, delimiter: str, private) -> tuple[str, str]:
    for bom, codec, name in [
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    ]:
        if data.startswith(bom):
            why = f"the file starts with a {name} byte-order mark"
            return _decode_strict(data, codec, path, delimiter, private, why), codec
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    utf8_text = _UTF8_TEXT.search(data)
    if utf8_text is not None:
        line = data[: utf8_text.start()].count(b"\n") + 1
        bad = data[utf8_error.start]
        raise _byte_error(
            data,
            "utf-8",
            utf8_error.start,
            path,
            delimiter,
            private,
            problem=f"the file mixes encodings: it holds UTF-8 text (from line {line}) but byte 0x{bad:02X} here is not"
            " valid UTF-8",
            expected="the whole file in one encoding, UTF-8 preferred",
            hint="re-save the export as UTF-8; if the file really is Windows-1252 throughout, set 'encoding: cp1252'"
            " in the codebook's file section",
        )
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise _byte_error(
            data,
            "cp1252",
            exc.start,
            path,
            delimiter,
            private,
            problem=f"the file is neither UTF-8 nor Windows-1252 (cp1252) text: byte 0x{bad:02X} is a character in"
            " neither",
            expected="text saved as UTF-8 (preferred) or cp1252",
            hint="re-save the export as UTF-8; if it uses another encoding, name it as 'encoding' in the codebook's"
            " file section",
        ) from None


def _decode_declared(data: bytes, encoding: str, path: Path, delimiter: str, private) -> tuple[str, str]:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(
            f"'{encoding}' is not a known text encoding",
            value=encoding,
            expected="auto, utf-8, utf-16, cp1252 or another Python codec name",
            hint="fix 'encoding' in the codebook's file section",
        ) from None
    if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"  # a byte-order mark is not part of the first column name
    text = _decode_strict(data, codec, path, delimiter, private, f"the codebook declares the encoding '{encoding}'")
    if text.startswith("\ufeff"):
        text = text[1:]
    if codec == "iso8859-1":
        control = re.search("[\x80-\x9f]", text)
        if control is not None:
            byte = ord(control.group())
            shown = bytes([byte]).decode("cp1252", errors="replace")
            raise _text_error(
                text,
                control.start(),
                lambda c: "\x80" <= c <= "\x9f",
                path,
                delimiter,
                private,
                problem=f"byte 0x{byte:02X} is an invisible control character in Latin-1 (ISO-8859-1); the file is"
                f" most likely Windows-1252 (cp1252), where it is {shown!r}",
                found=f"byte 0x{byte:02X}",
                expected="Latin-1 text without bytes 0x80–0x9F",
                hint="set 'encoding: cp1252' (or auto) in the codebook's file section",
            )
    return text, codec


def _decode_strict(data: bytes, codec: str, path: Path, delimiter: str, private, why: str) -> str:
    # utf-8-sig reports error positions after its byte-order mark: decode the rest as UTF-8 instead
    skip = len(codecs.BOM_UTF8) if codec == "utf-8-sig" and data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skip:].decode("utf-8" if skip else codec)
    except UnicodeDecodeError as exc:
        bad = data[skip + exc.start]
        raise _byte_error(
            data,
            codec,
            skip + exc.start,
            path,
            delimiter,
            private,
            problem=f"{why}, but byte 0x{bad:02X} here is not valid {_codec_name(codec)}",
            expected=f"text encoded as {_codec_name(codec)} throughout",
            hint="re-save the export as UTF-8, or set the right 'encoding' in the codebook's file section (auto"
            " detects UTF-8, UTF-16 with a byte-order mark and cp1252)",
        ) from None


def _codec_name(codec: str) -> str:
    names = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252 (cp1252)"}
    return names.get(codec, "Latin-1 (ISO-8859-1)" if codec == "iso8859-1" else codec)


def _byte_error(
    data: bytes,
    codec: str,
    position: int,
    path: Path,
    delimiter: str,
    private,
    *,
    problem: str,
    expected: str,
    hint: str,
) -> InputError:
    """The error for an undecodable byte, naming the row and column it is in and showing (or describing) the
    value."""
    text = data.decode(codec, errors="survey_audit.mark")
    at = len(data[:position].decode(codec, errors="survey_audit.mark"))
    if text[:1] == "\ufeff" and at > 0:
        text, at = text[1:], at - 1
    return _text_error(
        text,
        at,
        lambda c: _MARK <= ord(c) <= _MARK + 0xFF,
        path,
        delimiter,
        private,
        problem=problem,
        found=f"byte 0x{data[position]:02X}",
        expected=expected,
        hint=hint,
    )


def _text_error(
    text: str,
    at: int,
    is_bad,
    path: Path,
    delimiter: str,
    private,
    *,
    problem: str,
    found: str,
    expected: str,
    hint: str,
) -> InputError:
    """An error about the character at ``at``: row (the line its record starts on), column and value (a header
    cell shown, a response's value through :func:`_cell`)."""
    row, column, value, hit, in_header = _locate(text, at, is_bad, delimiter)
    if value is not None:
        hidden = not in_header and _is_private(column, private)
        found += " in " + str(raw_value(value, private=hidden, at=hit, show=lambda v: f"the value {_excerpt(v, hit)}"))
    return InputError(problem, file=path, row=row, column=column, value=Found(found), expected=expected, hint=hint)


def _line_breaks(text: str) -> int:
    return len(re.findall(r"\r\n|\r|\n", text))


def _locate(text: str, at: int, is_bad, delimiter: str):
    """Where the character at ``at`` is: the record's first line, the column (when below the header), the value
    holding it, the character's position in the value, and whether the value is a header cell."""
    line = _line_breaks(text[:at]) + 1
    if delimiter == "auto":
        delimiter = sniff_delimiter(text)
    records = [(start, fields) for start, fields in _lenient_records(text, delimiter) if any(f.strip() for f in fields)]
    if not records:
        return line, None, None, None, False
    header = records[0][1]
    for index, (start, fields) in enumerate(records):
        following = records[index + 1][0] if index + 1 < len(records) else None
        if start <= line and (following is None or line < following):
            for position, value in enumerate(fields):
                hit = next((i for i, c in enumerate(value) if is_bad(c)), None)
                if hit is not None:
                    column = header[position] if index > 0 and position < len(header) else None
                    return start, column or None, value, hit, index == 0
            return start, None, None, None, False
    return line, None, None, None, False


# --------------------------------------------------------------------------------------------- text files


def _lenient_records(text: str, delimiter: str):
    """(first line, fields) of each record, never failing on bad quoting (used to sniff and to locate)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    start = 1
    try:
        for fields in reader:
            yield start, fields
            start = reader.line_num + 1
    except csv.Error:
        return


def sniff_delimiter(text: str) -> str:
    """The delimiter of delimited text: of ``, ; tab |``, the one that splits the header row into columns and
    gives the most of the following records the header's number of fields (then: the most columns); ',' when
    none splits the header."""
    lines = [match.group() for match in itertools.islice(_LINE.finditer(text), SNIFF_LINES)]
    sample = "".join(lines)
    best, best_score = ",", None
    for candidate in DELIMITERS:
        rows = [fields for _, fields in _lenient_records(sample, candidate) if any(f.strip() for f in fields)]
        if len(lines) >= SNIFF_LINES and len(rows) > 1:
            rows = rows[:-1]  # the sample may end inside a record
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:]
        consistent = sum(len(r) == width for r in body) / len(body) if body else 0.0
        score = (consistent, width)
        if best_score is None or score > best_score:
            best, best_score = candidate, score
    return best


def _delimiter_char(delimiter: str) -> str:
    if delimiter in ("tab", "\\t"):
        return "\t"
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ConfigError(
            f"the delimiter {delimiter!r} is not a single character",
            value=delimiter,
            expected="auto, or one character such as ',' ';' '|' or tab",
            hint="fix 'delimiter' in the codebook's file section",
        )
    return delimiter


def _quote_fault(text: str, delimiter: str) -> tuple[int, int, int | None] | None:
    """The first quoting fault of the record at the start of ``text``: (field index, offset where the quoted
    value starts, offset of the closing quote or None when it is never closed); None when the record is sound."""
    field_index, i, n, at_start = 0, 0, len(text), True
    while i < n:
        c = text[i]
        if at_start and c == '"':
            j = i + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    return field_index, i, None
                if text[k + 1 : k + 2] == '"':
                    j = k + 2
                    continue
                break
            if k + 1 < n and text[k + 1] not in (delimiter, "\r", "\n"):
                return field_index, i, k
            i, at_start = k + 1, False
            continue
        if c == delimiter:
            field_index, at_start = field_index + 1, True
        elif c in "\r\n":
            return None
        else:
            at_start = False
        i += 1
    return None


def _parse(text: str, delimiter: str, path: Path, private) -> tuple[np.ndarray, list[list[str]]]:
    """Parse delimited text into records (lists of fields) and the line each starts on, quoting checked
    strictly."""
    lines = _LINE.findall(text)  # a list of lines takes a quarter of the memory of an io.StringIO of the text
    try:
        rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error:
        rows = None
    if rows is not None and len(rows) == len(lines):
        # each record takes one line or more and together they take every line: here each takes exactly one
        return np.arange(1, len(rows) + 1, dtype=np.int64), rows
    # a quoted value spans lines, or the quoting is faulty: follow the reader to the line each record starts on
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    starts, rows = [], []
    start = 1
    try:
        for fields in reader:
            starts.append(start)
            rows.append(fields)
            start = reader.line_num + 1
    except csv.Error as exc:
        header = next((fields for fields in rows if any(f.strip() for f in fields)), None)
        rest = "".join(lines[start - 1 :])
        raise _quoting_error(rest, delimiter, path, start, header, str(exc), private) from None
    return np.array(starts, dtype=np.int64), rows


def _filled(rows: list[list[str]]) -> np.ndarray:
    """Whether each record has a value that is not blank (some field holds more than whitespace)."""
    return np.fromiter(map(bool, map(str.strip, map("".join, rows))), dtype=bool, count=len(rows))


def _quoting_error(
    rest: str, delimiter: str, path: Path, start: int, header: list[str] | None, detail: str, private
) -> InputError:
    """The error for the record the csv module could not read: ``rest`` is the text from the line it starts on
    (``start``), ``header`` the first record with a value before it (None if there is none), ``detail`` the csv
    module's message."""
    fault = _quote_fault(rest, delimiter)
    if fault is None:
        return InputError(
            f"the row cannot be read as delimited text ({detail})",
            file=path,
            row=start,
            expected='values separated by the delimiter, quoted with " where they contain it',
        )
    index, opened, closed = fault
    column = header[index] if header is not None and index < len(header) else None
    value = rest[opened + 1 : closed if closed is not None else len(rest)]
    shown = Found(_excerpt(value)) if header is None else _cell(value, column, private)  # None: in the header
    kwargs = {"file": path, "row": start, "column": column, "value": shown}
    if closed is None:
        return InputError(
            "the file ends inside a quoted value: the quote opened on this row is never closed",
            expected="a closing quote; a file that ends inside a value was cut off while being saved or copied",
            hint='re-export the file; a quote inside a quoted value is written twice ("")',
            **kwargs,
        )
    end_row = start + _line_breaks(rest[:closed])
    where = "" if end_row == start else f", which runs on to row {end_row},"
    return InputError(
        f"a quoted value{where} is followed by other text before the next delimiter",
        expected='the delimiter right after a closing quote; a quote inside a quoted value is written twice ("")',
        hint="a quote is probably missing or unbalanced: fix the value in the raw file, or re-export it",
        **kwargs,
    )


def _read_text(path: Path, *, layout: str, encoding: str, delimiter: str, private) -> RawTable:
    data = read_bytes(path)
    declared = None if delimiter == "auto" else _delimiter_char(delimiter)
    found = _utf8_body(data, encoding)
    if found is None:  # another encoding (or a problem decode names): the text, decoded, as UTF-8 bytes
        text, used_encoding = decode(data, encoding, path, delimiter=declared or "auto", private=private)
        body = memoryview(text.encode("utf-8"))
    else:
        (body, used_encoding), text = found, None
    offsets = _line_offsets(body)
    used = declared or sniff_delimiter(str(body[: offsets[min(SNIFF_LINES, len(offsets) - 1)]], "utf-8"))
    ends_open = body[-1:] not in (b"\n", b"\r")
    options = {"encoding": used_encoding, "delimiter": used, "private": private}
    cells = _cells(body, offsets, used, path, private)
    if cells is not None:
        del data, text, body, found  # the columns are all that is needed now
        starts, columns, ragged = cells
        return _table_from_cells(path, starts, columns, ragged=ragged, ends_open=ends_open, layout=layout, **options)
    text = str(body, "utf-8") if text is None else text
    del data, body, found
    all_lines, all_rows = _parse(text, used, path, private)
    filled = _filled(all_rows)
    lines, blank_rows = _records_found(path, all_lines, filled)
    rows = list(itertools.compress(all_rows, filled))
    if declared is not None and len(rows[0]) == 1:
        sniffed = sniff_delimiter(text)
        header = next((f for _, f in _lenient_records(text, sniffed) if any(v.strip() for v in f)), [])
        if sniffed != declared and len(header) > 1:
            raise InputError(
                f"split on the declared delimiter {DELIMITER_NAMES.get(declared, repr(declared))} the header is a"
                f" single column, but split on {DELIMITER_NAMES[sniffed]} it has {len(header)} columns",
                file=path,
                row=int(lines[0]),
                value=Found(_excerpt(rows[0][0])),
                expected="the delimiter the file uses",
                hint="set 'delimiter: auto' (or the right character) in the codebook's file section",
            )
    del text, all_rows  # the records are all that is needed now: free the rest before they become a table
    return _table_from_records(
        path, lines, rows, layout=layout, spreadsheet=False, blank_rows=blank_rows, ends_open=ends_open, **options
    )


def _records_found(
    path: Path, all_lines: np.ndarray, filled: np.ndarray, empty: str = "the file is empty"
) -> tuple[np.ndarray, list[int]]:
    """The lines of the records with a value (``filled``), and the blank ones between the first and the last;
    ``empty`` is the problem named when no record has a value."""
    if not filled.any():
        raise InputError(empty, file=path, expected="a header row and at least one response")
    lines = all_lines[filled]
    skipped = ~filled & (all_lines > lines[0]) & (all_lines < lines[-1])
    return lines, all_lines[skipped].tolist()


# --------------------------------------------------------------------------------------------- text: the fast path


def _utf8_body(data: bytes, encoding: str) -> tuple[memoryview, str] | None:
    """The file's bytes without their byte-order mark, and the encoding :func:`decode` records, when decode
    would read them as UTF-8 as they are (``auto`` or a declared UTF-8; valid, no NUL, one byte-order mark at
    most); None for every other file, which decode reads (or refuses) instead."""
    try:
        codec = "utf-8" if encoding == "auto" else codecs.lookup(encoding).name
    except LookupError:
        return None
    if codec != "utf-8":
        return None
    marked = data.startswith(codecs.BOM_UTF8)
    body = memoryview(data)[len(codecs.BOM_UTF8) :] if marked else memoryview(data)
    if body[:3] == codecs.BOM_UTF8 or b"\x00" in data or not _valid_utf8(data, body):
        return None
    return body, "utf-8-sig" if marked else "utf-8"


def _valid_utf8(data: bytes, body: memoryview) -> bool:
    """Whether ``body`` (``data`` or its tail) is valid UTF-8 as Python's codec defines it (no overlong forms,
    surrogates or code points beyond U+10FFFF), checked by Arrow on the bytes in place."""
    if data.isascii():
        return True
    offsets = pa.py_buffer(np.array([0, len(body)], dtype=np.int64))
    whole = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(body)])
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _line_offsets(body: memoryview) -> np.ndarray:
    """Where each line of the text starts, then where the last ends: lines split as :data:`_LINE` splits them
    (at \\r\\n, \\r or \\n), found a chunk of bytes at a time."""
    raw = np.frombuffer(body, dtype=np.uint8)
    ends = []
    for start in range(0, len(raw), CHUNK):
        part = raw[start : start + CHUNK + 1]  # one byte more: whether a \r is followed by \n
        returns = np.flatnonzero(part[:CHUNK] == 13)
        feeds = np.flatnonzero(part[:CHUNK] == 10)
        if len(returns):
            alone = returns[(returns + 1 >= len(part)) | (part[np.minimum(returns + 1, len(part) - 1)] != 10)]
            feeds = np.sort(np.concatenate([feeds, alone]))
        ends.append(feeds + start + 1)
    starts = np.concatenate([[0], *ends]).astype(np.int64)
    return starts if starts[-1] == len(raw) else np.append(starts, len(raw))


def _sound_line(delimiter: str) -> str:
    """A line the csv module reads as one whole record (RE2 syntax): fields, each empty, unquoted (not starting
    with a quote; quotes inside are text) or quoted (quotes inside doubled, a delimiter or the line's end right
    after the closing quote), then the line break if any."""
    other = f"\\x{{{ord(delimiter):x}}}"
    field = f'(?:"(?:[^"\\r\\n]|"")*"|[^"{other}\\r\\n][^{other}\\r\\n]*)?'
    return f"^{field}(?:{other}{field})*(?:\\r\\n|\\r|\\n)?$"


def _cells(
    body: memoryview, offsets: np.ndarray, delimiter: str, path: Path, private
) -> tuple[np.ndarray, list, _Ragged] | None:
    """Delimited text read by Arrow's CSV reader into columns of text, the line each record starts on, and the
    records of another width than most (:class:`_Ragged`), when that reading is provably the csv module's; None
    for any other file, which the csv module then reads (and whose faults it names). A record the csv module
    cannot read stops the read here with the strict path's error, when it is the first the strict path would
    meet (no line before it is longer than the csv module's limit on a value).

    Lines are taken from the first, each at the start of a record. A line that is one whole record soundly
    quoted (:func:`_sound_line`, checked on every line at once) is that record; on a line that is not (a quoted
    value goes on over the next lines), the csv module reads the record with the lines it takes, and the next
    record starts after them (:func:`_spans`). Arrow reads the records of the width most lines of the first
    :data:`SNIFF_LINES` have and hands back the others (a header wider than its records, a line of spaces, a
    record too short or too long), which the csv module reads from their lines; a record's width is then its
    number of fields as the csv module reads it (an empty line is that many blank values to Arrow, none to the
    csv module: blank either way). Arrow's reading must give those records, in the same order: as many, the ones
    the csv module read equal to its, those it handed back the width the csv module gives them, and no value
    longer than the csv module's limit. The header (the first line with a value) must be a sound line of two
    fields or more."""
    count = len(offsets) - 1
    if count == 0 or body[:3] == codecs.BOM_UTF8:  # Arrow drops a byte-order mark the text still holds
        return None
    lines = pa.Array.from_buffers(pa.large_string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(body)])
    sound = np.asarray(pc.match_substring_regex(lines, _sound_line(delimiter)))
    usual = _usual_width(lines, sound, delimiter)
    if usual is None:
        return None
    width, header = usual
    spans, fault = _spans(lines, sound, delimiter)
    if fault is not None:
        start, detail = fault
        if start and pc.max(pc.binary_length(lines[:start])).as_py() > csv.field_size_limit():
            return None  # a value too long for the csv module may come first
        rest = str(body[int(offsets[start]) :], "utf-8")
        raise _quoting_error(rest, delimiter, path, start + 1, header, detail, private)
    starts = np.ones(count, dtype=bool)  # the lines records start on
    for start, taken, _ in spans:
        starts[start + 1 : start + taken] = False
    starts = np.flatnonzero(starts) + 1
    handed_back: list[tuple[int | None, int]] = []

    def hand_back(row) -> str:
        handed_back.append((row.number, row.actual_columns))
        return "skip"

    names = [str(i) for i in range(width)]
    try:
        cells = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=CHUNK, use_threads=False),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                ignore_empty_lines=False,
                newlines_in_values=bool(spans),
                invalid_row_handler=hand_back,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,  # checked already
            ),
            memory_pool=_column_pool(),
        )
    except pa.ArrowInvalid:  # anything else Arrow refuses: for the csv module to name
        return None
    limit = csv.field_size_limit()
    if cells.num_rows + len(handed_back) != len(starts) or any(
        pc.max(pc.binary_length(c)).as_py() > limit for c in cells.columns
    ):
        return None
    if any(number is None for number, _ in handed_back):
        return None
    handed = _read_handed_back(lines, starts, spans, handed_back, width, delimiter)
    if handed is None:
        return None
    ragged, handed_columns = handed
    read = np.ones(len(starts), dtype=bool)  # the records Arrow read
    read[ragged.positions] = False
    spanned = [(start + 1, fields) for start, _, fields in spans if len(fields) == width]  # read by Arrow too
    if spanned:
        rows = pa.array(np.searchsorted(starts[read], [line for line, _ in spanned]))
        for position, column in enumerate(cells.columns):
            if column.take(rows).to_pylist() != [fields[position] for _, fields in spanned]:
                return None
    columns = cells.columns
    del cells
    if len(ragged.positions):
        columns = _with_records(columns, read, handed_columns)
    return starts.astype(np.int64), columns, ragged


def _usual_width(lines: pa.Array, sound: np.ndarray, delimiter: str) -> tuple[int, list[str]] | None:
    """The number of fields most records of the first :data:`SNIFF_LINES` lines with a value have (the header's
    on a tie), and the header's fields; None when the first line with a value (the header) is not a sound line of
    two fields or more, or a line before it is not sound."""
    sample = lines[:SNIFF_LINES].to_pylist()
    widths: dict[int, int] = {}
    header = None
    for index, line in enumerate(sample):
        if not sound[index]:
            if header is None:
                return None
            break  # a record over several lines: the sample ends here
        try:
            fields = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:  # a value longer than the csv module's limit
            return None
        if not any(field.strip() for field in fields):
            continue
        if header is None:
            header = fields
        widths[len(fields)] = widths.get(len(fields), 0) + 1
    if header is None or len(header) < 2:
        return None
    most = max(widths.values())
    usual = len(header) if widths[len(header)] == most else max(w for w, c in widths.items() if c == most)
    return usual, header


def _spans(lines: pa.Array, sound: np.ndarray, delimiter: str) -> tuple[list, tuple[int, str] | None]:
    """The records that start on a line :func:`_sound_line` does not accept, read by the csv module: (first line,
    lines taken, fields) of each, taken in order from a record's start (a line inside one of them is not the
    start of a record, whatever it looks like); and the first line of the first the csv module cannot read, with
    its message (None when it reads them all)."""
    spans, after = [], 0
    for start in np.flatnonzero(~sound).tolist():
        if start < after:
            continue  # inside the record before
        following = (lines[k].as_py() for k in range(start, len(lines)))
        reader = csv.reader(following, delimiter=delimiter, strict=True)
        try:
            fields = next(reader)
        except csv.Error as exc:
            return spans, (start, str(exc))
        spans.append((start, reader.line_num, fields))
        after = start + reader.line_num
    return spans, None


@dataclass(frozen=True)
class _Ragged:
    """The records Arrow handed back, read by the csv module: their positions among the records, their numbers of
    fields, and the fields beyond the columns' width of those longer than it (the columns hold the rest, padded
    with "")."""

    positions: np.ndarray
    lengths: np.ndarray
    tails: dict[int, list[str]]

    def fields(self, position: int, values: list[str]) -> list[str]:
        """The fields of the record at ``position``, from its ``values`` in the columns."""
        at = np.searchsorted(self.positions, position)
        if at == len(self.positions) or self.positions[at] != position:
            return values
        return values[: int(self.lengths[at])] + self.tails.get(position, [])


def _read_handed_back(
    lines: pa.Array, starts: np.ndarray, spans: list, handed_back: list, width: int, delimiter: str
) -> tuple[_Ragged, list[pa.ChunkedArray]] | None:
    """The records Arrow handed back (their positions among the records, from its row numbers), each read by the
    csv module from the line it starts on (or as :func:`_spans` read it), as a :class:`_Ragged` and columns of
    ``width`` (each record cut or padded with ""), converted a block of records at a time; None when one is as
    wide as the records Arrow read, or not as wide as Arrow found it: the two would not agree on it."""
    spanned = {start: fields for start, _, fields in spans}
    positions = np.array([number - 1 for number, _ in handed_back], dtype=np.int64)
    lengths = np.empty(len(handed_back), dtype=np.int64)
    tails, blocks = {}, [[] for _ in range(width)]
    for block in range(0, len(handed_back), ROWS_AT_ONCE):
        records = []
        for index in range(block, min(block + ROWS_AT_ONCE, len(handed_back))):
            position, found = int(positions[index]), handed_back[index][1]
            line = int(starts[position]) - 1
            fields = spanned.get(line)
            if fields is None:
                try:
                    fields = next(csv.reader([lines[line].as_py()], delimiter=delimiter, strict=True), [])
                except csv.Error:  # a value longer than the csv module's limit
                    return None
            if len(fields) == width or len(fields) != found:
                return None
            lengths[index] = len(fields)
            if len(fields) > width:
                tails[position] = fields[width:]
            records.append(fields)
        grid = _grid(records, width)
        for position, column in enumerate(blocks):
            column.append(pa.array(grid[:, position], type=pa.large_string(), memory_pool=_column_pool()))
    columns = [pa.chunked_array(column, type=pa.large_string()) for column in blocks]
    return _Ragged(positions, lengths, tails), columns


def _with_records(columns: list, read: np.ndarray, handed: list) -> list:
    """Columns of the records Arrow read with those it ``handed`` back (columns of the same width) put in their
    places (``read``: whether each place holds a record Arrow read): slices of the two (:func:`_joined`), or, when
    the two alternate more than :data:`MAX_PIECES` times, copies made :data:`ROWS_AT_ONCE` places at a time (each
    from the slices of the two it draws on, so memory let go by one column is taken again by the next).
    ``columns`` and ``handed`` are emptied as they go."""
    bounds = [0, *(np.flatnonzero(read[1:] != read[:-1]) + 1).tolist(), len(read)]
    many = len(bounds) > MAX_PIECES
    if many:
        before = np.concatenate([[0], np.cumsum(read)])  # records Arrow read before each place
        blocks = []
        for at in range(0, len(read), ROWS_AT_ONCE):
            part = read[at : at + ROWS_AT_ONCE]
            order = np.empty(len(part), dtype=np.int64)
            order[part] = np.arange(int(part.sum()))
            order[~part] = np.arange(len(part) - int(part.sum())) + int(part.sum())
            blocks.append((int(before[at]), int(part.sum()), at - int(before[at]), len(part) - int(part.sum()), order))
    merged = []
    for position in range(len(columns)):
        column, columns[position] = columns[position], None  # each column let go once merged
        other, handed[position] = handed[position], None
        if many:
            chunks = []
            for start, count, other_start, other_count, order in blocks:
                pieces = [*column.slice(start, count).chunks, *other.slice(other_start, other_count).chunks]
                source = pa.chunked_array(pieces, type=pa.large_string()).combine_chunks(memory_pool=_column_pool())
                chunks.append(pc.take(source, order, memory_pool=_column_pool()))
            merged.append(pa.chunked_array(chunks, type=pa.large_string()))
            continue
        pieces, taken = [], [0, 0]  # records taken so far from the column and from those handed back
        for start, stop in zip(bounds[:-1], bounds[1:]):
            source = 0 if read[start] else 1
            pieces.append((column, other)[source].slice(taken[source], stop - start))
            taken[source] += stop - start
        merged.append(_joined(pieces))
    return merged


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in ``flags``."""
    edges = np.flatnonzero(np.diff(flags.view(np.int8), prepend=0, append=0)).tolist()
    return list(zip(edges[::2], edges[1::2]))


def _joined(pieces: list) -> pa.ChunkedArray:
    """Slices of columns of text as one column: the slices themselves, or one copy of them when they are more than
    :data:`MAX_PIECES` (later passes then go over one piece, not over each)."""
    chunks = [chunk for piece in pieces for chunk in (piece.chunks if isinstance(piece, pa.ChunkedArray) else [piece])]
    column = pa.chunked_array([chunk for chunk in chunks if len(chunk)], type=pa.large_string())
    return pa.chunked_array([column.combine_chunks()]) if column.num_chunks > MAX_PIECES else column


def _column_pool() -> pa.MemoryPool:
    """The memory the columns Arrow reads from text are held in: jemalloc where pyarrow has it (it packs the
    many buffers of a CSV read more tightly than the default pool: about 150 MB less, and a second less, for a
    million records of 70 columns), otherwise the default pool."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()


def _blank(column: pa.ChunkedArray) -> np.ndarray:
    """Whether each value is blank: empty or whitespace alone (Arrow's whitespace is Python's)."""
    return np.asarray(pc.or_(pc.equal(pc.binary_length(column), 0), pc.utf8_is_space(column)))


def _table_from_cells(
    path: Path,
    all_lines: np.ndarray,
    columns: list,
    *,
    layout: str,
    private,
    ragged: _Ragged | None = None,
    spreadsheet: bool = False,
    ends_open: bool = False,
    empty: str = "the file is empty",
    **meta,
) -> RawTable:
    """What :func:`_table_from_records` does, done on columns (:func:`_cells`, or a sheet's rows,
    :func:`_calamine_columns`; ``all_lines`` the line or row each record starts on): blank records skipped, the
    header checked, every record's width checked at once (``ragged``: the records of other widths than the
    columns', which the columns hold cut or padded), the rest as :func:`_table_from_columns`."""
    ragged = ragged or _Ragged(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), {})
    filled = np.zeros(len(all_lines), dtype=bool)
    for column in columns:
        filled |= ~_blank(column)
        if filled.all():
            break
    for position, tail in ragged.tails.items():
        filled[position] |= any(field.strip() for field in tail)
    lines, blank_rows = _records_found(path, all_lines, filled, empty)
    at = np.flatnonzero(filled)
    raw_header = ragged.fields(int(at[0]), [column[int(at[0])].as_py() for column in columns])
    header = _named_header(raw_header, path, int(lines[0]), spreadsheet)
    below = filled.copy()  # the records below the header, as runs of records between blank ones
    below[: int(at[0]) + 1] = False
    columns = [_joined([column.slice(start, stop - start) for start, stop in _runs(below)]) for column in columns]
    lines, at = lines[1:], at[1:]
    width, raw_width = len(header), len(raw_header)
    lengths = np.full(len(lines), len(columns), dtype=np.int64)
    stray = np.zeros(len(lines), dtype=bool)  # a value under a trailing unnamed column
    for column in columns[width:]:
        stray |= ~_blank(column)
    places = np.searchsorted(at, ragged.positions)
    inside = places < len(at)
    inside[inside] &= at[places[inside]] == ragged.positions[inside]  # records below the header with a value
    lengths[places[inside]] = ragged.lengths[inside]
    for position, tail in ragged.tails.items():
        place = int(np.searchsorted(at, position))
        if place < len(at) and at[place] == position:
            stray[place] |= any(field.strip() for field in tail[max(width - len(columns), 0) :])
    bad = _width_faults(lengths, stray, width, raw_width, spreadsheet)
    if bad.any():
        first = int(np.argmax(bad))
        fields = ragged.fields(int(at[first]), [column[first].as_py() for column in columns])
        last = first == len(lines) - 1
        _check_width(fields, header, raw_width, path, int(lines[first]), spreadsheet, ends_open and last)
    return _table_from_columns(
        path, lines, header, columns[:width], layout=layout, private=private, blank_rows=blank_rows, **meta
    )


# --------------------------------------------------------------------------------------------- records → table


def _column_name(position: int, spreadsheet: bool) -> str:
    """A column position (1-based) as a reader of the file would name it."""
    if spreadsheet:
        from openpyxl.utils import get_column_letter

        return f"column {get_column_letter(position)}"
    return f"column {position}"


def _is_platform_import_row(cells: list[str]) -> bool:
    filled = [c.strip() for c in cells if c.strip()]
    return bool(filled) and all(c.startswith("{") and "importid" in c.lower() for c in filled)


def _import_id(cell: str) -> str:
    try:
        parsed = json.loads(cell)
    except ValueError:
        return cell.strip()
    return str(parsed.get("ImportId", cell.strip())) if isinstance(parsed, dict) else cell.strip()


def _table_from_records(
    path: Path,
    lines: np.ndarray,
    rows: list[list[str]],
    *,
    layout: str,
    spreadsheet: bool,
    ends_open: bool = False,
    private: Collection[str] | None = None,
    **meta,
) -> RawTable:
    """Header checks and row widths for records of any width, as the csv module and openpyxl give them: ``rows``
    are the records that are not blank (the header first), ``lines`` the row each starts on; the rest as
    :func:`_table_from_columns`. ``rows`` is emptied as its values move into Arrow columns (:func:`_text_columns`).
    """
    header = _named_header(rows[0], path, int(lines[0]), spreadsheet)
    raw_width = len(rows.pop(0))
    lines = lines[1:]
    _check_widths(rows, lines, header, raw_width, path, spreadsheet, ends_open)
    columns = _text_columns(rows, len(header))
    return _table_from_columns(path, lines, header, columns, layout=layout, private=private, **meta)


def _named_header(raw_header: list[str], path: Path, line: int, spreadsheet: bool) -> list[str]:
    """The header's named columns, checked; trailing unnamed columns are allowed while every value under them is
    blank (which the records' checks see to)."""
    width = len(raw_header)
    while width and not raw_header[width - 1].strip():
        width -= 1
    header = raw_header[:width]
    _check_header(header, path, line, spreadsheet)
    return header


def _table_from_columns(
    path: Path,
    lines: np.ndarray,
    header: list[str],
    columns: list,
    *,
    layout: str,
    private: Collection[str] | None,
    blank_rows: list[int] | None = None,
    **meta,
) -> RawTable:
    """Layout detection, the repeated-header check and the frame, shared by every reader of text and
    spreadsheets: ``columns`` (Arrow arrays of text) hold the values under the named columns of the records
    below the header, ``lines`` the row each record starts on."""
    head = [[column[i].as_py() for column in columns] for i in range(min(2, len(lines)))]
    layout, skip, question_text, import_ids = _split_layout(layout, header, lines, head, path, private)
    lines, columns = lines[skip:], [column.slice(skip) for column in columns]
    repeats = None  # the records equal to the header in every column so far
    for column, name in zip(columns, header):
        same = pc.equal(column, name)
        repeats = same if repeats is None else pc.and_(repeats, same)
        if not pc.any(repeats).as_py():
            break  # no record repeats the header
    else:
        raise InputError(
            "the row repeats the header row (were two exports joined?)",
            file=path,
            row=int(lines[pc.index(repeats, True).as_py()]),
            expected="one header row at the top of the file",
            hint="remove the repeated header row, and check that no response appears twice",
        )
    frame = pd.DataFrame(
        {name: pd.arrays.ArrowStringArray(column, dtype=TEXT) for name, column in zip(header, columns)},
        columns=header,
        copy=False,
    )
    return RawTable(
        path,
        frame,
        lines.astype(np.int64),
        layout=layout,
        question_text=question_text,
        import_ids=import_ids,
        blank_rows=tuple(blank_rows or ()),
        **meta,
    )


def _text_columns(rows: list[list[str]], width: int) -> list[pa.ChunkedArray]:
    """The records as Arrow columns of text (:func:`_grid`), converted a block of records at a time from the last,
    each block's records dropped from ``rows`` once converted: their strings are freed as they go, not after a
    second copy of the whole file is made."""
    blocks = []
    for start in reversed(range(0, len(rows), ROWS_AT_ONCE)):
        grid = _grid(rows[start:], width)
        del rows[start:]
        blocks.append([pa.array(grid[:, position], type=pa.large_string()) for position in range(width)])
    blocks.reverse()
    return [
        pa.chunked_array([block[position] for block in blocks], type=pa.large_string()) for position in range(width)
    ]


def _grid(rows: list[list[str]], width: int) -> np.ndarray:
    """The records as a (records × ``width``) array of text: a shorter record padded with "", a longer one cut."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    if not len(rows) or (lengths != lengths[0]).any():
        padded = [(fields + [""] * (width - len(fields)))[:width] for fields in rows]  # records of several widths
        return np.array(padded, dtype=object).reshape(len(rows), width)
    grid = np.array(rows, dtype=object).reshape(len(rows), int(lengths[0]))[:, :width]  # one width: at once
    if grid.shape[1] < width:
        grid = np.hstack([grid, np.full((len(rows), width - grid.shape[1]), "", dtype=object)])
    return grid


def _first_value(fields: list[str], header: list[str]) -> tuple[str, str | None]:
    """The first non-blank value of a row and its column."""
    position = next((i for i, c in enumerate(fields) if c.strip()), 0)
    return (fields[position] if fields else ""), (header[position] if position < len(header) else None)


def _split_layout(
    layout: str, header: list[str], lines: np.ndarray, head: list[list[str]], path: Path, private
) -> tuple[str, int, dict[str, str], dict[str, str]]:
    """Resolve the layout from the rows under the header (``head``: the first two, ``lines``: where each row
    starts), and how many of them are header rows: for the platform layout, the question-text and import-id rows."""
    second_is_import = len(head) >= 1 and _is_platform_import_row(head[0])
    third_is_import = len(head) >= 2 and _is_platform_import_row(head[1])
    if second_is_import and not third_is_import:
        raise InputError(
            "the second row is a survey-platform import-id row, but the question-text row that belongs above it is"
            " missing",
            file=path,
            row=int(lines[0]),
            value=Found(_excerpt(_first_value(head[0], header)[0])),  # the import-id row: the platform's
            expected="column names, then question text, then import ids (as survey platforms export them)",
            hint="re-export the file from the platform, or delete the import-id row and set 'layout: plain'",
        )
    if layout == "auto":
        layout = "platform" if third_is_import else "plain"
    if layout == "plain":
        if third_is_import:
            raise InputError(
                "the file is declared as having one header row (layout: plain), but its second and third rows are"
                " the question-text and import-id rows of a survey-platform export",
                file=path,
                row=int(lines[1]),
                value=Found(_excerpt(_first_value(head[1], header)[0])),  # the import-id row
                expected="responses from the second row on",
                hint="set 'layout: platform' (or auto) in the codebook's file section",
            )
        return layout, 0, {}, {}
    if not third_is_import:
        raise InputError(
            "the file is declared as a survey-platform export (layout: platform), but its third row is not the"
            " import-id row",
            file=path,
            row=int(lines[1]) if len(head) >= 2 else None,
            expected='cells such as {"ImportId":"QID12"} on the third row, under the question-text row',
            hint="set 'layout: plain' (or auto) in the codebook's file section if the export has a single header row",
            **({"value": _cell(*_first_value(head[1], header), private)} if len(head) >= 2 else {}),
        )
    question_text = {name: text for name, text in zip(header, head[0]) if text.strip()}
    import_ids = {name: _import_id(cell) for name, cell in zip(header, head[1]) if cell.strip()}
    return "platform", 2, question_text, import_ids


def _check_header(header: list[str], path: Path, line: int, spreadsheet: bool) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise InputError(
                f"{_column_name(position, spreadsheet)} of the header has no name",
                file=path,
                row=line,
                expected="a name for every column that holds values",
                hint="name the column in the header row (and map or drop it in the codebook), or delete the column",
            )
        if name in seen:
            raise InputError(
                f"the column name '{name}' appears twice in the header (columns"
                f" {_column_name(seen[name], spreadsheet).removeprefix('column ')} and"
                f" {_column_name(position, spreadsheet).removeprefix('column ')})",
                file=path,
                row=line,
                column=name,
                expected="unique column names",
                hint="rename one of the columns in the export, and map each in the codebook",
            )
        seen[name] = position


def _check_widths(
    rows: list[list[str]],
    lines: np.ndarray,
    header: list[str],
    raw_width: int,
    path: Path,
    spreadsheet: bool,
    ends_open: bool,
) -> None:
    """Every record's width checked at once (lengths as an array; the cells beyond the named columns only of
    records longer than the header); the first record that fails is reported as :func:`_check_width` words it."""
    width = len(header)
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    stray = np.zeros(len(rows), dtype=bool)
    longer = np.flatnonzero(lengths > width)
    beyond = map(operator.itemgetter(slice(width, None)), map(rows.__getitem__, longer.tolist()))
    stray[longer] = np.fromiter(map(bool, map(str.strip, map("".join, beyond))), dtype=bool, count=len(longer))
    bad = _width_faults(lengths, stray, width, raw_width, spreadsheet)
    if bad.any():
        first = int(np.argmax(bad))
        last = first == len(rows) - 1
        _check_width(rows[first], header, raw_width, path, int(lines[first]), spreadsheet, ends_open and last)


def _width_faults(lengths: np.ndarray, stray: np.ndarray, width: int, raw_width: int, spreadsheet: bool) -> np.ndarray:
    """Whether each record's width is at fault (``lengths``: its number of fields): a value under a trailing
    unnamed column (``stray``), or, in a text file, fewer fields than the named columns or more than the header
    has (a spreadsheet's rows are as long as its longest)."""
    bad = stray & (lengths > width)
    if not spreadsheet:
        bad |= (lengths < width) | (lengths > max(raw_width, width))
    return bad


def _check_width(
    fields: list[str], header: list[str], raw_width: int, path: Path, line: int, spreadsheet: bool, ends_open: bool
) -> None:
    """A record must have a value (possibly blank) for every named column and none beyond them."""
    width = len(header)
    if len(fields) < width and not spreadsheet:
        problem = f"the row has {len(fields)} values but the header has {width} columns"
        if ends_open:
            problem += "; the file ends on this row without a line break, so it was probably cut off"
        raise InputError(
            problem,
            file=path,
            row=line,
            column=header[len(fields)],
            expected=f"{width} values, one per column (blank values still need their delimiter)",
            hint="a row cut short means the file was truncated, or a line break got into an unquoted value;"
            " re-export the file",
        )
    if len(fields) > max(raw_width, width) and not spreadsheet:
        raise InputError(
            f"the row has {len(fields)} values but the header has {width} columns",
            file=path,
            row=line,
            value=_cell(fields[max(raw_width, width)], None, None),  # under no named column
            expected=f"{width} values, one per column",
            hint="a delimiter inside an unquoted value splits it in two: quote the value, or re-export the file",
        )
    extra = next((i for i in range(width, len(fields)) if fields[i].strip()), None)
    if extra is not None:
        raise InputError(
            f"the row has a value in {_column_name(extra + 1, spreadsheet)}, beyond the last named column",
            file=path,
            row=line,
            value=_cell(fields[extra], None, None),
            expected=f"values only under the {width} named columns",
            hint="name the column in the header row (and map or drop it in the codebook), or delete the stray value",
        )


# --------------------------------------------------------------------------------------------- cell values


def _is_missing(value) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _cell_text(value) -> str:
    """A spreadsheet or statistical-file cell as the text a CSV export would show: whole numbers without a
    decimal point, other numbers to 15 significant digits (as spreadsheets show them), dates as ISO 8601
    (a date-time at midnight as its date), booleans as TRUE and FALSE."""
    if _is_missing(value):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if value.is_integer():
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------------------------- spreadsheets


def _read_xlsx(path: Path, *, layout: str, sheet: str | int | None, private) -> RawTable:
    """A sheet read by calamine into columns (:func:`_calamine_columns`), or by openpyxl row by row when
    calamine's reading could differ from openpyxl's (:func:`_openpyxl_records`); the same table either way."""
    found = _calamine_columns(path, sheet)
    if found is None:
        title, lines, rows, blank = _openpyxl_records(read_bytes(path), sheet, path)
        return _table_from_records(
            path, lines, rows, layout=layout, spreadsheet=True, sheet=title, blank_rows=blank, private=private
        )
    title, columns = found
    rows = len(columns[0]) if columns else 0
    return _table_from_cells(
        path,
        np.arange(1, rows + 1, dtype=np.int64),
        columns,
        layout=layout,
        private=private,
        spreadsheet=True,
        empty=f"the sheet '{title}' is empty",
        sheet=title,
    )


def _calamine_columns(path: Path, sheet: str | int | None) -> tuple[str, list] | None:
    """The chosen sheet read by calamine, as columns of text from column A and row 1 (blank rows and cells
    included; :func:`_sheet_texts`), and its name; None when calamine's reading could differ from openpyxl's
    (see the module documentation) or calamine cannot read the workbook (openpyxl then reads it, or names
    its fault).

    calamine holds a whole sheet in memory, each cell twice while it builds it, so it is handed the sheet a slice
    of rows at a time (:func:`_sheet_slices`), each slice a workbook of its own with the workbook's other parts
    (:func:`_read_slice`); the rows keep their numbers, which the slices must give in order."""
    import zipfile

    import python_calamine as calamine

    try:
        with zipfile.ZipFile(io.BytesIO(read_bytes(path))) as archive:
            found = _calamine_sheet(archive, sheet, path)
            if found is None:
                return None
            title, part, rest, limit, size = found
            pieces, rows = [], 0  # (first row, first column, height, columns) of each slice; rows so far
            for xml in _sheet_slices(archive, part, size):
                piece = _read_slice(rest, part, xml, title, limit)
                if piece is None or (piece[2] and piece[0] < rows):
                    return None  # a value calamine reads otherwise, or rows without their numbers
                if piece[2]:
                    pieces.append(piece)
                    rows = piece[0] + piece[2]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, calamine.CalamineError):
        return None  # a damaged workbook, for openpyxl to name
    width = max((column + len(texts) for _, column, _, texts in pieces), default=0)
    columns = []
    for j in range(width):
        chunks, at = [], 0
        for row, column, height, texts in pieces:
            if row > at:
                chunks.append(_blank_texts(row - at))
            chunks.append(texts[j - column] if column <= j < column + len(texts) else _blank_texts(height))
            at = row + height
        columns.append(pa.chunked_array(chunks, type=pa.large_string()))
    return title, columns


def _blank_texts(count: int) -> pa.Array:
    return pa.nulls(count, pa.large_string()).fill_null("")


def _calamine_sheet(archive, sheet: str | int | None, path: Path):
    """The chosen sheet's name and part, the workbook's other parts (name → bytes; its other sheets emptied),
    the magnitude below which calamine reads numbers as openpyxl does (:data:`_DATES_END`) and the size of the
    sheet's slices (at least :data:`SHEET_SLICE`, and twice the shared strings, which calamine reads again for
    each); None when the workbook has a chart or macro sheet (openpyxl counts sheets without them), its sheets
    are not found where calamine finds them, its shared strings contain what calamine reads otherwise
    (:data:`_CALAMINE_DIFFERS`), or a cell style shows a number otherwise (:func:`_styles_read_alike`)."""
    import html
    import posixpath

    import python_calamine as calamine

    relations = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    parts, targets = {}, {}  # part → its kind; relationship id → part
    for element in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", relations):
        found = [re.search(rf'\b{key}="([^"]+)"', element) for key in ("Id", "Type", "Target")]
        if not all(found):
            continue
        key, kind, target = (match.group(1) for match in found)
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[key] = target
        parts[target] = kind.rsplit("/", 1)[-1]
    emptied = {"worksheet": _EMPTY_SHEET, "sharedStrings": _NO_STRINGS}
    rest = {name: emptied.get(parts.get(name, "")) or archive.read(name) for name in archive.namelist()}
    book = calamine.CalamineWorkbook.from_filelike(_workbook(rest, {}))  # the sheets' names and kinds alone
    try:
        names = book.sheet_names
        if any(m.typ != calamine.SheetTypeEnum.WorkSheet for m in book.sheets_metadata):
            return None
    finally:
        book.close()
    sheets = {}
    for element in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", archive.read("xl/workbook.xml").decode("utf-8", "replace")):
        name = re.search(r'\bname="([^"]*)"', element)
        key = re.search(r'\b(?:\w+:)?id="([^"]+)"', element)
        if name and key and key.group(1) in targets:
            sheets[html.unescape(name.group(1))] = targets[key.group(1)]
    if list(sheets) != names:
        return None
    title = _sheet_name(sheet, names, names, path)
    strings = {part: archive.read(part) for part, kind in parts.items() if kind == "sharedStrings"}
    if any(_calamine_differs(xml) for xml in strings.values()):
        return None
    rest |= strings
    del rest[sheets[title]]
    dates = _styles_read_alike(rest, parts, sheets[title])
    if dates is None:
        return None
    size = max(SHEET_SLICE, 2 * sum(map(len, strings.values())))
    return title, sheets[title], rest, _DATES_END if dates else _EXACT_INTEGERS_END, size


def _calamine_differs(xml: bytes) -> bool:
    """Whether XML holding cells or text contains what calamine reads otherwise (:data:`_CALAMINE_DIFFERS`)."""
    return pc.any(pc.match_substring_regex(pa.array([xml], type=pa.large_binary()), _CALAMINE_DIFFERS)).as_py()


def _sheet_slices(archive, part: str, size: int):
    """A sheet's XML in slices of about ``size`` bytes, each whole rows with the sheet's XML before its rows
    (without the stored dimensions) and the closing tags after them, inflated a chunk at a time."""
    with archive.open(part) as stream:
        buffer, head = bytearray(), None
        while True:
            chunk = stream.read(CHUNK)
            buffer += chunk
            if head is None:
                opening = re.search(rb"<((?:\w+:)?)sheetData\b[^>]*?(/?)>", buffer)
                if opening is None:
                    if not chunk:
                        raise ValueError("the sheet has no rows element")
                    continue
                if opening.group(2):
                    return  # <sheetData/>: no rows
                prefix = opening.group(1)
                root = re.search(rb"<((?:\w+:)?)worksheet\b", buffer)
                head = re.sub(rb"<(?:\w+:)?dimension\b[^>]*>", b"", bytes(buffer[: opening.end()]))
                end = b"</" + (root.group(1) if root else b"") + b"worksheet>"
                tail = b"</" + prefix + b"sheetData>" + end
                closing, row_end = b"</" + prefix + b"sheetData>", b"</" + prefix + b"row>"
                del buffer[: opening.end()]
            last = buffer.find(closing)
            if last >= 0:
                if not (bytes(buffer[last:]) + stream.read()).rstrip().endswith(end):
                    raise ValueError("the sheet's XML is cut short")  # for openpyxl to name
                if buffer[:last].strip():
                    yield head + bytes(buffer[:last]) + tail
                return
            if not chunk:
                raise ValueError("the sheet's rows are not closed")
            if len(buffer) >= size:
                cut = buffer.rfind(row_end)
                if cut >= 0:
                    cut += len(row_end)
                    yield head + bytes(buffer[:cut]) + tail
                    del buffer[:cut]


def _workbook(rest: dict[str, bytes], replaced: dict[str, bytes]) -> io.BytesIO:
    """A workbook of the parts ``rest`` and ``replaced``, uncompressed (it is read once, at once)."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as book:
        for name, content in {**rest, **replaced}.items():
            book.writestr(name, content)
    buffer.seek(0)
    return buffer


def _read_slice(rest: dict[str, bytes], part: str, xml: bytes, title: str, limit: float):
    """A slice of the sheet's XML (:func:`_sheet_slices`) read by calamine: its first row and column (0-based),
    its height and its columns of text (:func:`_sheet_texts`); None when it holds what calamine reads otherwise."""
    import python_calamine as calamine

    if _calamine_differs(xml):
        return None
    book = calamine.CalamineWorkbook.from_filelike(_workbook(rest, {part: xml}))
    del xml
    try:
        ws = book.get_sheet_by_name(title)
        if ws.start is None:
            return 0, 0, 0, []
        (row, column), width = ws.start, ws.width
        values = ws.to_python(skip_empty_area=True)  # the rows and columns from the first value's
    finally:
        book.close()
    blocks = []
    for at in range(0, len(values), SHEET_ROWS_AT_ONCE):
        block = values[at : at + SHEET_ROWS_AT_ONCE]
        grid = np.empty((len(block), width), dtype=object)
        grid[:] = block
        texts = _sheet_texts(grid, limit)
        if texts is None:
            return None
        blocks.append(texts)
    columns = [pa.concat_arrays([block[j] for block in blocks]) for j in range(width)]
    return row, column, len(values), columns


# What calamine reads otherwise than openpyxl, found in the XML of a workbook's cells (RE2 syntax): an escaped
# character (_xHHHH_, which calamine decodes and openpyxl keeps; openpyxl drops "x005F_" from shared strings),
# an error cell (calamine: blank; openpyxl: its code), an ISO 8601 date cell, a type in single quotes, and text or
# a value that begins or ends with white space without xml:space="preserve" (calamine trims it, openpyxl keeps it).
_CALAMINE_DIFFERS = (
    r"""_x[0-9A-Fa-f]{4}_|x005F_|\bt=(?:"[de]"|')"""
    r"""|<(?:\w+:)?[tv]>[ \t\r\n]|<(?:\w+:)?[tv]>[^<]*[ \t\r\n]</"""
)
# The numbers calamine and openpyxl read alike are those below 2**53 in magnitude (beyond, openpyxl reads an
# integer exactly and calamine as a float), and below the serial of 9999-12-31 when a cell style is a date format
# (beyond, openpyxl turns a date into the error #VALUE!, calamine gives the number).
_EXACT_INTEGERS_END = 2.0**53
_DATES_END = 2_957_003.0  # 9999-12-31 in the 1904 date system (2,958,465 in the 1900 system)
_PROBE_VALUE = "42000.5"  # 2014-12-27 12:00 (1900 system): a serial each style shows as it shows dates
_TYPE = np.frompyfunc(type, 1, 1)
_EMPTY_SHEET = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
_NO_STRINGS = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>'


def _styles_read_alike(rest: dict[str, bytes], parts: dict[str, str], sheet: str) -> bool | None:
    """Whether any cell style of the workbook is a date or time format (None: calamine and openpyxl would show
    a number under some style otherwise). Decided by both reading a probe: the workbook (``rest``, the parts
    but the chosen ``sheet``; ``parts``, the kind of each) with its sheets replaced by one holding
    :data:`_PROBE_VALUE` once under each cell style, and no shared strings."""
    import openpyxl
    import python_calamine as calamine

    styles = b"".join(rest[part] for part, kind in parts.items() if kind == "styles" and part in rest)
    block = re.search(rb"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", styles, re.S)
    count = len(re.findall(rb"<(?:\w+:)?xf\b", block.group(0))) if block else 0
    if count == 0:
        return False  # every number in the General format
    rows = "".join(f'<row r="{i + 1}"><c r="A{i + 1}" s="{i}"><v>{_PROBE_VALUE}</v></c></row>' for i in range(count))
    probe_sheet = _EMPTY_SHEET.replace(b"<sheetData/>", f"<sheetData>{rows}</sheetData>".encode())
    replaced = {
        part: probe_sheet for part, kind in parts.items() if kind == "worksheet" and (part in rest or part == sheet)
    }
    replaced |= {part: _NO_STRINGS for part, kind in parts.items() if kind == "sharedStrings" and part in rest}
    try:
        book = openpyxl.load_workbook(_workbook(rest, replaced), read_only=True, data_only=True)
        ours = [_cell_text(row[0]) for row in book.worksheets[0].iter_rows(min_col=1, max_col=1, values_only=True)]
        book.close()
        sheet = calamine.CalamineWorkbook.from_filelike(_workbook(rest, replaced)).get_sheet_by_index(0)
        theirs = [_cell_text(row[0]) for row in sheet.to_python(skip_empty_area=False)]
    except Exception:  # a style either reader cannot take: openpyxl reads the workbook, or names its fault
        return None
    if ours != theirs:
        return None
    return any(text != "42000.5" for text in ours)


def _sheet_texts(grid: np.ndarray, limit: float) -> list[pa.Array] | None:
    """A block of a sheet's rows as calamine gives them (a grid of Python values) as columns of text, each column
    worked out at once by the kind of its values (:func:`_cell_text` of each value); None when a value is one
    calamine reads otherwise than openpyxl: a number from ``limit`` on (:func:`_calamine_sheet`) or not finite, a
    time of day (calamine also gives one for a negative or almost whole date serial, openpyxl a date), a date
    or duration with a fraction of a second (the two round serials to milliseconds differently)."""
    columns = []
    for values in grid.T:
        try:
            columns.append(pa.array(values, type=pa.large_string()))  # text alone (a blank cell is "")
            continue
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        kind = _TYPE(values)
        text = np.equal(kind, str)
        column = pa.array(np.where(text, values, ""), type=pa.large_string())
        numbers, truths = np.equal(kind, float), np.equal(kind, bool)
        dates = np.equal(kind, datetime) | np.equal(kind, date)
        for mask, convert in (
            (numbers, lambda values: _float_texts(values, limit)),
            (truths, _bool_texts),
            (dates, _date_texts),
            (~(text | numbers | truths | dates), _other_texts),
        ):
            if mask.any():
                texts = convert(values[mask])
                if texts is None:
                    return None
                column = pc.replace_with_mask(column, pa.array(mask), texts)
        columns.append(column)
    return columns


def _float_texts(values: np.ndarray, limit: float) -> pa.Array | None:
    numbers = values.astype(float)
    if not (np.abs(numbers) < limit).all():  # also NaN and infinity
        return None
    return _number_texts(numbers)


def _bool_texts(values: np.ndarray) -> pa.Array:
    return pa.array(np.where(values.astype(bool), "TRUE", "FALSE"), type=pa.large_string())


def _date_texts(values: np.ndarray) -> pa.Array | None:
    """Dates and date-times as ISO 8601, a date-time at midnight as its date (as :func:`_cell_text`)."""
    moments = values.astype("datetime64[us]")
    if (moments.astype(np.int64) % 1_000_000).any():
        return None
    texts = pc.cast(pa.array(moments.astype("datetime64[s]")), pa.large_string())  # YYYY-MM-DD HH:MM:SS
    midnight = pa.array(moments == moments.astype("datetime64[D]"))
    return pc.if_else(midnight, pc.utf8_slice_codeunits(texts, 0, 10), texts)


def _other_texts(values: np.ndarray) -> pa.Array | None:
    """Values of other kinds (durations, whole numbers as Python integers), each distinct value once."""
    codes, distinct = pd.factorize(values)
    shown = []
    for value in distinct:
        if isinstance(value, time) or getattr(value, "microseconds", 0):
            return None
        shown.append(_cell_text(value))
    return pa.array(np.array(shown, dtype=object)[codes], type=pa.large_string())


def _openpyxl_records(data: bytes, sheet: str | int | None, path: Path) -> tuple[str, np.ndarray, list, list[int]]:
    """The chosen sheet read by openpyxl row by row: its name, the rows that are not blank (as text,
    :func:`_cell_text`) and their numbers, and the blank rows between them."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for damaged files
        raise InputError(
            f"the spreadsheet cannot be opened ({exc.__class__.__name__}: {exc})",
            file=path,
            expected="an .xlsx workbook saved by Excel or a survey platform (not password-protected)",
        ) from None
    try:
        ws = book[_sheet_name(sheet, [ws.title for ws in book.worksheets], book.sheetnames, path)]
        ws.reset_dimensions()  # the stored dimensions may be wrong; read every cell there is
        records, blank, number = [], [], 0
        try:
            for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in row]
                if any(c.strip() for c in cells):
                    records.append((number, cells))
                elif records:
                    blank.append(number)
        except Exception as exc:  # a damaged cell (a number that is none, a missing shared string)
            raise InputError(
                f"the spreadsheet cannot be read ({exc.__class__.__name__}: {exc})",
                file=path,
                row=number + 1,  # openpyxl gives a row once all its cells are read
                expected="an .xlsx workbook saved by Excel or a survey platform",
                hint="open the file in a spreadsheet program and save it again, or re-export it",
            ) from None
        title = ws.title
    finally:
        book.close()
    if not records:
        raise InputError(f"the sheet '{title}' is empty", file=path, expected="a header row and at least one response")
    last = records[-1][0]
    lines = np.array([line for line, _ in records], dtype=np.int64)
    return title, lines, [fields for _, fields in records], [b for b in blank if b < last]


def _sheet_name(sheet: str | int | None, worksheets: list[str], names: list[str], path: Path) -> str:
    """The name of the sheet to read: ``sheet`` by name (any of the workbook's ``names``) or by 0-based index
    among its ``worksheets`` (openpyxl's count, without chart sheets), the first worksheet by default."""
    if sheet is None:
        return worksheets[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(worksheets):
            raise InputError(
                f"the workbook has no sheet number {sheet}",
                file=path,
                expected=f"a sheet index from 0 to {len(worksheets) - 1} (0 is the first sheet)",
                hint="fix 'sheet' in the codebook's file section",
            )
        return worksheets[sheet]
    if sheet not in names:
        raise InputError(
            f"the workbook has no sheet named '{sheet}'",
            file=path,
            expected="one of " + ", ".join(repr(s) for s in names),
            hint="fix 'sheet' in the codebook's file section",
        )
    return sheet


# --------------------------------------------------------------------------------------------- SPSS and Stata


def _number_texts(numbers: np.ndarray) -> pa.Array:
    """Numbers as :func:`_cell_text` shows them, worked out at once: whole numbers through Arrow's integer
    formatting, each distinct fraction formatted once; a missing (NaN) or infinite number as ""."""
    finite = np.isfinite(numbers)
    whole = finite & (numbers == np.round(numbers)) & (np.abs(numbers) < 2.0**62)
    texts = pc.cast(pa.array(np.where(whole, numbers, 0).astype(np.int64)), pa.large_string())
    if whole.all():
        return texts
    other = numbers[~whole]
    shown = np.full(len(other), "", dtype=object)  # missing, or infinite
    fractional = np.isfinite(other)
    codes, distinct = pd.factorize(other[fractional])  # each distinct number formatted once
    shown[fractional] = np.array([_cell_text(v) for v in distinct], dtype=object)[codes]
    return pc.replace_with_mask(texts, pa.array(~whole), pa.array(shown, type=pa.large_string()))


def _stat_column(values: pd.Series, letters: set[str]) -> pa.Array:
    """A column of a statistical file as text, :func:`_cell_text` of each value (worked out at once for a column
    of numbers or of text, value by value for others); Stata's extended missing values (.a–.z) shown as Stata
    does."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return _number_texts(values.to_numpy(dtype=float, na_value=np.nan))
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):  # text, and missing values
        texts = pc.fill_null(pa.array(values, type=pa.large_string(), from_pandas=True), "")
    else:
        texts = pa.array([_cell_text(v) for v in values], type=pa.large_string())
    if letters:
        extended = pc.is_in(texts, pa.array(sorted(letters), type=pa.large_string()))
        texts = pc.if_else(extended, pc.utf8_replace_slice(texts, 0, 0, "."), texts)
    return texts


def _read_stat(path: Path, kind: str, encoding: str = "auto") -> RawTable:
    import pyreadstat

    program = "SPSS" if kind == "sav" else "Stata"
    reader = pyreadstat.read_sav if kind == "sav" else pyreadstat.read_dta
    options = {} if encoding in (None, "auto") else {"encoding": encoding}
    data = read_bytes(path)
    try:
        frame, meta = reader(io.BytesIO(data), apply_value_formats=False, user_missing=True, **options)
    except Exception as exc:  # pyreadstat raises its own error types for damaged files
        raise InputError(
            f"the {program} file cannot be read ({exc})",
            file=path,
            expected=f"a .{kind} file written by {program} or a survey platform",
            hint="check 'encoding' in the codebook's file section" if options else None,
        ) from None
    extended = {c: {str(v) for v in values} for c, values in (getattr(meta, "missing_user_values", None) or {}).items()}
    if kind == "sav":
        extended = {}  # SPSS user-missing values are ordinary numbers, kept as they are
    text = pd.DataFrame(
        {
            column: pd.arrays.ArrowStringArray(_stat_column(frame[column], extended.get(column, set())), dtype=TEXT)
            for column in frame.columns
        },
        columns=list(frame.columns),
    )

    def code_text(column: str, code) -> str:
        shown = _cell_text(code)
        return f".{shown}" if shown in extended.get(column, set()) else shown

    labels = {
        column: {code_text(column, code): str(label) for code, label in mapping.items()}
        for column, mapping in (meta.variable_value_labels or {}).items()
    }
    question_text = {c: label for c, label in zip(meta.column_names, meta.column_labels or []) if label}
    rows = np.arange(1, len(text) + 1, dtype=np.int64)
    # A case with every value missing is a blank row (skipped, as a text file's blank line is), not a respondent.
    blank = text.eq("").all(axis=1).to_numpy() if len(text.columns) else np.zeros(len(text), dtype=bool)
    return RawTable(
        path,
        text[~blank].reset_index(drop=True),
        rows[~blank],
        layout="plain",
        encoding=options.get("encoding") or getattr(meta, "file_encoding", None),
        question_text=question_text,
        value_labels=labels,
        blank_rows=tuple(int(r) for r in rows[blank]),
    )
