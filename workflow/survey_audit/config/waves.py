"""The wave sheet (``config/waves.tsv``): one row per survey wave, naming its raw export, codebook, fielding
years, report and weighting.

Read with the standard library (no pandas), because the workflow reads it every time it starts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..provenance import read_bytes
from .loading import validate

WAVE_COLUMNS = ["wave", "label", "raw", "codebook", "fielded_from", "fielded_to", "report", "synthetic", "weighting"]
UNPUBLISHED = "unpublished"


@dataclass(frozen=True)
class Wave:
    """One row of the wave sheet."""

    wave: str
    label: str
    raw: str
    codebook: str
    fielded_from: int
    fielded_to: int
    synthetic: bool
    report: str = ""  # the report that published the wave; "" when none has yet
    weighting: str = ""  # a weighting spec, or "" for unit weights

    @property
    def release_scope(self) -> str:
        """The report whose numbers the wave's tests belong to (``unpublished`` for a wave no report printed)."""
        return self.report or UNPUBLISHED


def load_wave_sheet(path: str | Path, root: str | Path = ".") -> dict[str, Wave]:
    """Read and check the wave sheet: the waves by id, in fielding order. Its paths are relative to the project
    directory ``root``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("the wave sheet does not exist", file=path, hint="check 'waves' in config/config.yaml")
    reader = csv.reader(io.StringIO(read_bytes(path).decode("utf-8"), newline=""), delimiter="\t")
    header = next(reader, [])
    records = [(line, row) for line, row in enumerate(reader, start=2) if any(cell.strip() for cell in row)]
    unknown = [c for c in header if c not in WAVE_COLUMNS]
    if unknown:
        raise ConfigError(
            f"unknown column(s) {', '.join(unknown)}",
            file=path,
            row=1,
            column=unknown[0],
            expected="the columns " + ", ".join(WAVE_COLUMNS),
        )
    if not records:
        raise ConfigError("the wave sheet lists no waves", file=path, expected="one row per wave")
    waves: dict[str, Wave] = {}
    for row, cells in records:
        if len(cells) > len(header):
            raise ConfigError(
                f"the row has {len(cells)} tab-separated cells but the header names {len(header)} columns",
                file=path,
                row=row,
                expected="one cell per column of the header (cells left out at the end count as empty)",
            )
        values = {k: v for k, v in zip(header, cells) if v != ""}
        for key in ("fielded_from", "fielded_to"):
            if key in values:
                try:
                    values[key] = int(values[key])
                except ValueError:
                    raise ConfigError(
                        "the year is not a whole number",
                        file=path,
                        row=row,
                        column=key,
                        value=values[key],
                        expected="a four-digit year",
                    ) from None
        try:
            validate(values, "waves", path=path)
        except ConfigError as exc:
            raise ConfigError(exc.problem, file=path, row=row, expected=exc.expected) from None
        if values["fielded_from"] > values["fielded_to"]:
            raise ConfigError(
                "fielding ends before it starts",
                file=path,
                row=row,
                column="fielded_to",
                value=values["fielded_to"],
                expected=f"a year from {values['fielded_from']}",
            )
        for key in ("raw", "codebook") + (("weighting",) if "weighting" in values else ()):
            if not (Path(root) / values[key]).is_file():
                raise ConfigError(
                    f"the {key} file does not exist",
                    file=path,
                    row=row,
                    column=key,
                    value=values[key],
                    expected="the path of an existing file, relative to the project",
                )
        if values["wave"] in waves:
            raise ConfigError(
                "a wave id is listed twice",
                file=path,
                row=row,
                column="wave",
                value=values["wave"],
                expected="one row per wave",
            )
        waves[values["wave"]] = Wave(**{**values, "synthetic": values["synthetic"] == "yes"})
    # In fielding order (ties by id): the order of pools, of comparisons and of trends across waves.
    return dict(sorted(waves.items(), key=lambda item: (item[1].fielded_from, item[1].fielded_to, item[0])))
