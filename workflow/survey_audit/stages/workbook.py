"""The Excel workbook a reviewer opens beside the report: every public table, the audit, the tests and the
cleaning, one sheet each.

``results/report/tables.xlsx`` opens on a contents sheet that lists every sheet, what it holds and the file it
comes from, with the code version and whether the data are synthetic. Each table's sheet shows its cells with
the labels of ``config/variables.yaml`` (the question, its answers and the by-variable's groups) instead of
codes, then the percentage (or mean) with its standard error, confidence interval and method, the unweighted
numerator and base, the design effect, the degrees of freedom and the flags, and the category's code last so
that a row can be matched to its CSV. The audit and the tests keep the columns of their CSVs
(``docs/columns.md``), the tests ordered with the family of the reports' claims first; the cleaning sheets
stack each wave's exclusion flow, cleaning log and weighting margins.

The workbook reads only the public outputs, so disclosure control holds in it as in them: a number a CSV leaves
blank because it is withheld (a row flagged ``suppressed`` or ``cell suppressed``; any blank count of a flow,
log or margin) shows as ``[c]``, as in the HTML report, and a number that does not apply stays blank. Numbers
are stored as numbers with a display format (one decimal for percentages), never as text (an infinite one,
the denominator df of a chi-square test, as the CSVs' ``inf``); a text cell that a
spreadsheet would take for a formula gets the leading apostrophe of the CSVs (:func:`formats.neutralise_formula`).
Sheet names follow Excel's rules (at most 31 characters, none of ``[]:*?/\\``, unique ignoring case). The
header rows are frozen. The bytes are deterministic (:func:`formats.write_xlsx`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__, formats
from ..config.loading import load_yaml
from ..config.variables import VariableSet, load_variables
from .report import CONFIDENTIAL

SHEET_NAME_LENGTH = 31
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
CLAIMS_FAMILY = "claims"
SUPPRESSED_FLAGS = ("suppressed", "cell suppressed")
WIDTH_LIMITS = (6, 60)

PERCENT = "0.0"
MEAN = "0.00"
COUNT = "0"
SHARE = "0.0%"
P_VALUE = "[<0.001]0.00E+00;0.000"
DEFAULT_FLOAT = "0.000"
# Display formats of the audit's and the tests' numeric columns (any other number: DEFAULT_FLOAT, or COUNT when
# every value is whole).
COLUMN_FORMATS = {
    "recomputed": MEAN,
    "difference": "+0.00;-0.00;0.00",
    "p": P_VALUE,
    "p_adjusted": P_VALUE,
    "estimate": "0.0000",
}


@dataclass
class Sheet:
    """One sheet: a few lines about it, then a header row and the rows (numbers as numbers, ``[c]`` where a
    number is withheld), with a display format per numeric column."""

    name: str
    holds: str
    source: str
    notes: list[str]
    frame: pd.DataFrame
    number_formats: dict[str, str] = field(default_factory=dict)


def sheet_names(wanted: list[str]) -> list[str]:
    """Excel sheet names for ``wanted``, in order: forbidden characters replaced by ``_``, at most 31
    characters, unique ignoring case (a later name that clashes gets ``~2``, ``~3``, ...)."""
    seen: set[str] = set()
    names = []
    for name in wanted:
        clean = SHEET_NAME_FORBIDDEN.sub("_", name).strip("'")[:SHEET_NAME_LENGTH] or "sheet"
        candidate, number = clean, 2
        while candidate.casefold() in seen:
            suffix = f"~{number}"
            candidate = clean[: SHEET_NAME_LENGTH - len(suffix)] + suffix
            number += 1
        seen.add(candidate.casefold())
        names.append(candidate)
    return names


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.fillna("").astype(str)


def _numbers(values: pd.Series) -> pd.Series:
    """A CSV column as numbers (blank: NaN)."""
    return pd.to_numeric(values.replace("", None), errors="coerce").astype(float)


def _withheld(values: pd.Series, hidden: pd.Series) -> pd.Series:
    """Numbers, with ``[c]`` where a number is blank on a withheld row."""
    return values.astype(object).mask(values.isna() & hidden, CONFIDENTIAL)


def _suppressed_rows(flags: pd.Series) -> pd.Series:
    return flags.fillna("").str.split(";").map(lambda items: any(f.strip() in SUPPRESSED_FLAGS for f in items))


def _is_numeric(values: pd.Series) -> bool:
    present = values[values != ""]
    return len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().all()


def _csv_sheet_frame(text: pd.DataFrame, hidden: pd.Series) -> tuple[pd.DataFrame, dict[str, str]]:
    """A CSV read as text, its numeric columns (every value a number or blank) as numbers, ``[c]`` where a
    number of a withheld row is blank; with each numeric column's display format."""
    frame = text.copy()
    number_formats = {}
    for column in text.columns:
        if not _is_numeric(text[column]):
            continue
        values = _numbers(text[column])
        frame[column] = _withheld(values, hidden)
        whole = values.dropna().map(float.is_integer).all()
        number_formats[column] = COLUMN_FORMATS.get(column, COUNT if whole else DEFAULT_FLOAT)
    return frame, number_formats


def table_sheet(table_id: str, title: str, cells: pd.DataFrame, variables: VariableSet) -> Sheet:
    """A table's cells as a reviewer reads them: labels, estimate, interval, counts and flags."""
    cells = _text(cells)
    hidden = _suppressed_rows(cells["flags"])
    variable = cells["variable"].iloc[0] if len(cells) else table_id
    view = pd.DataFrame({"Wave": cells["wave"]})
    if (cells["domain"] != "all").any():
        view["Among"] = cells["domain"]
    if (cells["by_value"] != "all").any():
        by = cells["by"].iloc[0]
        view[variables.label(by)] = [variables.category_label(by, v) for v in cells["by_value"]]
    view["Category"] = [variables.category_label(variable, c) for c in cells["category"]]
    if (cells["weighting"] != "unweighted").any():
        view["Weighting"] = cells["weighting"]
    number_formats = {}
    estimate = "mean" if "mean" in cells else "pct" if "pct" in cells else None
    if estimate:
        shown, fmt = ("Mean", MEAN) if estimate == "mean" else ("%", PERCENT)
        level = _numbers(cells["level"]).dropna()
        level_text = f"{100 * level.iloc[0]:g}% CI" if len(level) else "CI"
        for column, header in (
            (estimate, shown),
            (f"{estimate}_se", "SE"),
            (f"{estimate}_ci_low", f"{level_text} low"),
            (f"{estimate}_ci_high", f"{level_text} high"),
        ):
            view[header] = _withheld(_numbers(cells[column]), hidden)
            number_formats[header] = fmt
        view["CI method"] = cells["ci_method"]
    for column, header, fmt in (("n", "n", COUNT), ("base_n", "Base", COUNT), ("deff", "Design effect", MEAN)):
        if column in cells:
            view[header] = _withheld(_numbers(cells[column]), hidden)
            number_formats[header] = fmt
    if "df" in cells:
        view["df"] = _numbers(cells["df"])
        number_formats["df"] = COUNT
    view["Flags"] = cells["flags"]
    view["Category code"] = cells["category"]
    notes = [title, f"{variables.label(variable)} ({variable}); one row per cell of results/tables/{table_id}.csv"]
    return Sheet(table_id, title, f"results/tables/{table_id}.csv", notes, view.reset_index(drop=True), number_formats)


def audit_sheet(audit: pd.DataFrame) -> Sheet:
    text = _text(audit)
    frame, number_formats = _csv_sheet_frame(text, _suppressed_rows(text.get("flags", pd.Series("", text.index))))
    return Sheet(
        "Audit",
        "The verdict on every number the reports printed",
        "results/audit/published.csv",
        ["Audit of the published numbers: printed, recomputed and the verdict (columns: docs/columns.md)"],
        frame,
        number_formats,
    )


def tests_sheet(tests: pd.DataFrame) -> Sheet:
    """The tests, the family of the reports' claims first, then by table and test."""
    text = _text(tests)
    order = text.assign(_claims=text["family"] != CLAIMS_FAMILY).sort_values(
        ["_claims", "family", "table_id", "test_id"], kind="stable"
    )
    text = order.drop(columns="_claims").reset_index(drop=True)
    frame, number_formats = _csv_sheet_frame(text, _suppressed_rows(text["flags"]))
    return Sheet(
        "Tests",
        "Tests of association, trend and wave differences, with raw and adjusted p-values",
        "results/tests.csv",
        ["Tests, the family of the reports' claims first (columns: docs/columns.md)"],
        frame,
        number_formats,
    )


def stacked_sheet(name: str, holds: str, source: str, parts: dict[str, pd.DataFrame], shares: tuple = ()) -> Sheet:
    """Each wave's public file (in the order of the wave sheet), one under the other with a wave column; a blank number is withheld (these files
    leave a number blank only for disclosure control)."""
    text = pd.concat(
        [_text(part).assign(wave=wave)[["wave", *part.columns]] for wave, part in parts.items()],
        ignore_index=True,
    )
    frame, number_formats = _csv_sheet_frame(text, pd.Series(True, index=text.index))
    number_formats.update({c: SHARE for c in shares if c in number_formats})
    return Sheet(
        name,
        holds,
        source,
        [f"{holds}, every wave (a blank number in the CSV is withheld: {CONFIDENTIAL})"],
        frame,
        number_formats,
    )


def contents_sheet(sheets: list[Sheet], synthetic: bool, code_version: str) -> Sheet:
    frame = pd.DataFrame(
        {
            "Sheet": [s.name for s in sheets],
            "What it holds": [s.holds for s in sheets],
            "Rows": [len(s.frame) for s in sheets],
            "From": [s.source for s in sheets],
        }
    )
    data = (
        "SYNTHETIC DATA: every number is computed from the generated stand-in for the confidential survey"
        if synthetic
        else "Computed from the survey data"
    )
    notes = [
        "Survivor surveys: recomputed tables and audit of the published numbers",
        f"{data}. Synthetic: {'yes' if synthetic else 'no'}. Code version: survey-audit {code_version}.",
        f"{CONFIDENTIAL}: withheld by disclosure control (a count of 1 to 4 people, or a number that would give "
        "one back by subtraction); a blank cell does not apply. Columns and flags: docs/columns.md.",
    ]
    return Sheet("Contents", "This list", "", notes, frame, {"Rows": COUNT})


def build_workbook(sheets: list[Sheet], synthetic: bool, code_version: str):
    """The openpyxl workbook: the contents sheet, then ``sheets`` in order."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.hyperlink import Hyperlink

    names = sheet_names(["Contents", *(s.name for s in sheets)])
    for sheet, name in zip(sheets, names[1:]):
        sheet.name = name
    contents = contents_sheet(sheets, synthetic, code_version)
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for sheet in [contents, *sheets]:
        ws = book.create_sheet(sheet.name)
        for line in sheet.notes:
            ws.append([formats.neutralise_formula(line)])
        ws["A1"].font = bold
        header_row = len(sheet.notes) + 1
        ws.append([formats.neutralise_formula(str(c)) for c in sheet.frame.columns])
        for cell in ws[header_row]:
            cell.font = bold
        for record in sheet.frame.itertuples(index=False):
            ws.append([_cell_value(v) for v in record])
        for index, column in enumerate(sheet.frame.columns, start=1):
            letter = get_column_letter(index)
            if column in sheet.number_formats:
                for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=index, max_col=index):
                    if not isinstance(cell.value, str):
                        cell.number_format = sheet.number_formats[column]
            widest = max([len(str(column)), *(len(_shown(v)) for v in sheet.frame[column])])
            ws.column_dimensions[letter].width = min(max(widest + 2, WIDTH_LIMITS[0]), WIDTH_LIMITS[1])
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate
        if sheet is contents:
            for row, name in enumerate(contents.frame["Sheet"], start=header_row + 1):
                cell = ws.cell(row=row, column=1)
                cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"{quote_sheetname(name)}!A1")
    return book


def _cell_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return formats.neutralise_formula(value) if value else None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isinf(value):
        return formats.format_float(value)  # a worksheet cannot hold an infinite number: 'inf' as in the CSVs
    return value


def _shown(value) -> str:
    """Roughly what a cell shows, for its column's width."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.2f}"
    return str(value)


def write_workbook(
    *,
    tables: list[str],
    specs: list[str],
    variables: str,
    tests: str,
    audit: str,
    flows: list[str],
    logs: list[str],
    margins: list[str],
    synthetic: bool,
    workbook_out: str,
) -> None:
    """Stage function: read the public results and the labels, and write the workbook."""
    labels = load_variables(variables)
    read = {"dtype": str, "keep_default_na": False}
    cells = {Path(p).stem: formats.read_csv(p, **read) for p in tables}
    table_sheets = []
    for path in specs:
        for item in load_yaml(path).data["tables"]:
            if item["id"] in cells:
                table_sheets.append(table_sheet(item["id"], item["title"], cells[item["id"]], labels))

    def stem(path: str) -> str:
        return Path(path).name.split(".")[0]

    sheets = [
        audit_sheet(formats.read_csv(audit, **read)),
        *table_sheets,
        tests_sheet(formats.read_csv(tests, **read)),
        stacked_sheet(
            "Cleaning flow",
            "The exclusion flow: raw responses, after each cleaning rule, analysed",
            "results/public/flow/{wave}.csv",
            {stem(p): formats.read_csv(p, **read) for p in flows},
        ),
        stacked_sheet(
            "Cleaning log",
            "Each cleaning rule in order, the rows it touched and what it did",
            "results/public/log/{wave}.csv",
            {stem(p): formats.read_csv(p, **read) for p in logs},
        ),
    ]
    if margins:
        sheets.append(
            stacked_sheet(
                "Weighting margins",
                "Weighting targets against achieved margins (a sensitivity analysis)",
                "results/public/margins/{wave}.csv",
                {stem(p): formats.read_csv(p, **read) for p in margins},
                shares=("target_share", "achieved", "difference", "unweighted_share"),
            )
        )
    formats.write_xlsx(build_workbook(sheets, synthetic, __version__), workbook_out)
