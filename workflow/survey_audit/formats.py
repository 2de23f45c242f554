"""Canonical, deterministic output files.

The same frame always gives the same bytes: rows in the order given (callers sort by their key columns),
floats written with a fixed number of significant digits, UTF-8 with ``\\n`` line ends, no index, no
timestamps. Files are written to a temporary name and renamed into place, so a failed job never leaves a
partial output behind; the sha256 of the bytes put in place is noted in the job's ledger as they are (see
:mod:`survey_audit.provenance`). The readers parse a file's bytes as :func:`~survey_audit.provenance.read_bytes`
read and hashed them.

A text cell that a spreadsheet would read as a formula (it begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, and is not a number) is written with a leading apostrophe, the OWASP defence against CSV
injection: a registry wording or a category label can never run as a formula in the reviewer's spreadsheet.
Numbers, and text that is a number (``-1.5``), are written as they are.

An Excel workbook (:func:`write_xlsx`) is a zip of XML parts, and openpyxl stamps the time into two places: the
document properties (created, modified) and each zip entry's date. Both are fixed (1980-01-01 00:00, the
earliest date a zip entry can carry) and the parts are stored in name order, so the same sheets give the same
bytes.

NumPy, pandas and Arrow are imported by the functions that use them, not with the module: every job imports
this module (through :mod:`survey_audit.adapter`), and the jobs that write only JSON or text (the manifest, the
verdict check) then start without them. A value can only be one of NumPy's scalars or pandas' ``NA`` if that
library is loaded, so the JSON and scalar writers ask ``sys.modules`` rather than import it.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

from .provenance import read_bytes, record_written, sha256_file

SIGNIFICANT_DIGITS = 12
_UMASK = os.umask(0)
os.umask(_UMASK)


def format_float(value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """A float as text with ``digits`` significant digits; integers without a decimal point; NaN as ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or _is_pandas_na(value):
        return ""
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.{digits}g}"
    if "e" not in text and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return text


def _is_pandas_na(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and value is pandas.NA


def _numpy_scalar(value: Any, kind: str) -> bool:
    """Whether ``value`` is a NumPy scalar of ``kind`` (``bool_``, ``integer`` or ``floating``)."""
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, getattr(numpy, kind))


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """``text``, with a leading apostrophe if a spreadsheet would take it for a formula."""
    if not text.startswith(FORMULA_PREFIXES):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text


def _column_text(series: pd.Series) -> pd.Series:
    """A column's cells as text, each as :func:`_scalar_text` writes it (missing as ''), without Python per cell:
    booleans, integers and strings by array kernels, categories and floats once per distinct value. An object
    column of mixed values goes cell by cell."""
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        text = _by_codes(series.cat.codes.to_numpy(), [_scalar_text(v) for v in dtype.categories])
    elif pd.api.types.is_bool_dtype(dtype):
        codes = series.fillna(False).to_numpy(dtype=bool).astype(np.int8)
        text = _by_codes(np.where(series.isna().to_numpy(), -1, codes), ["false", "true"])
    elif pd.api.types.is_integer_dtype(dtype):
        missing = series.isna().to_numpy()
        text = (series.fillna(0) if missing.any() else series).to_numpy().astype(str).astype(object)
        text[missing] = ""
    elif pd.api.types.is_float_dtype(dtype):
        codes, distinct = pd.factorize(series, use_na_sentinel=True)  # equal floats print alike; -0.0 as 0
        text = _by_codes(codes, [format_float(v) for v in distinct])
    elif isinstance(dtype, pd.StringDtype) or pd.api.types.infer_dtype(series, skipna=False) == "string":
        text = series.to_numpy(dtype=object, na_value="")
        formula = series.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
        text[formula] = [neutralise_formula(v) for v in text[formula]]  # the few cells a spreadsheet would run
    else:
        text = series.astype(object).map(
            lambda v: (
                "" if v is None or _is_pandas_na(v) or (isinstance(v, float) and math.isnan(v)) else _scalar_text(v)
            )
        )
    return pd.Series(text, index=series.index, dtype=object)


def _by_codes(codes: np.ndarray, texts: list[str]) -> np.ndarray:
    """The text of each distinct value, put in place by its code (-1: missing, '')."""
    import numpy as np

    return np.array([*texts, ""], dtype=object)[codes]


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool) or _numpy_scalar(value, "bool_"):
        return "true" if value else "false"
    if isinstance(value, float) or _numpy_scalar(value, "floating"):
        return format_float(float(value))
    if isinstance(value, int) or _numpy_scalar(value, "integer"):
        return str(value)
    return neutralise_formula(str(value))


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes files private; outputs get the usual permissions
    try:
        yield tmp_path
        record_written(path, sha256_file(tmp_path))
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def csv_text(frame: pd.DataFrame) -> str:
    """The canonical CSV text of a frame."""
    import pandas as pd

    text = pd.DataFrame({c: _column_text(frame[c]) for c in frame.columns}, columns=list(frame.columns))
    return text.to_csv(index=False, lineterminator="\n")


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a frame as canonical CSV."""
    data = csv_text(frame).encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


XLSX_TIME = (1980, 1, 1, 0, 0, 0)  # the fixed time of a workbook's properties and zip entries


def xlsx_bytes(workbook: Any) -> bytes:
    """The bytes of an openpyxl workbook, with no time in them: fixed document times, every zip entry dated
    :data:`XLSX_TIME`, the entries in name order (``[Content_Types].xml`` sorts first, as readers expect)."""
    import datetime as dt
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    fixed = dt.datetime(*XLSX_TIME)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    workbook.properties.creator = "survey-audit"
    first = io.BytesIO()
    # ExcelWriter, not Workbook.save: save() stamps the modification time after the properties are set.
    ExcelWriter(workbook, zipfile.ZipFile(first, "w", zipfile.ZIP_DEFLATED)).save()
    out = io.BytesIO()
    with zipfile.ZipFile(first) as source, zipfile.ZipFile(out, "w") as target:
        for name in sorted(source.namelist()):
            entry = zipfile.ZipInfo(name, date_time=XLSX_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(name), compresslevel=6)
    return out.getvalue()


def write_xlsx(workbook: Any, path: str | Path) -> None:
    """Write an openpyxl workbook deterministically (see :func:`xlsx_bytes`)."""
    data = xlsx_bytes(workbook)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a frame as Parquet (no index, fixed compression), keeping categorical and nullable dtypes."""
    with atomic_path(path) as tmp:
        frame.reset_index(drop=True).to_parquet(tmp, index=False, compression="zstd", engine="pyarrow")


def read_parquet(path: str | Path) -> pd.DataFrame:
    import pandas as pd

    frame = pd.read_parquet(io.BytesIO(read_bytes(path)), engine="pyarrow")
    release_memory()
    return frame


def release_memory() -> None:
    """Give back the memory Arrow's allocator keeps after a file is read (the decoded table, once the frame is
    made) or a frame's Arrow-backed columns are dropped: otherwise kept for Arrow's own later use, and so out of
    reach of numpy's."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def read_csv(path: str | Path, **options: Any) -> pd.DataFrame:
    """A CSV file as a frame (``options`` go to :func:`pandas.read_csv`)."""
    import pandas as pd

    return pd.read_csv(io.BytesIO(read_bytes(path)), **options)


def read_csv_records(path: str | Path) -> list[dict[str, str]]:
    """A small CSV file as one record (column → text) per row, without pandas: for the jobs that read a few
    hundred rows and nothing else (see the module's note on imports)."""
    import csv

    return list(csv.DictReader(io.StringIO(read_bytes(path).decode("utf-8"), newline="")))


def json_text(obj: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, UTF-8, trailing newline; NaN and infinities (which JSON
    cannot hold) as null."""
    return (
        json.dumps(_finite(obj), indent=2, sort_keys=True, ensure_ascii=False, default=_json_default, allow_nan=False)
        + "\n"
    )


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) or _numpy_scalar(obj, "floating"):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _json_default(value: Any) -> Any:
    if _numpy_scalar(value, "integer"):
        return int(value)
    if _numpy_scalar(value, "floating"):
        return float(value)
    if isinstance(value, Path):
        return value.as_posix()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_json(obj: Any, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json_text(obj), encoding="utf-8")


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
