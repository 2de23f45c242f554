"""Weighting specs (``config/weighting/{wave}.yaml``): the margins a wave is raked (or post-stratified) to, for a
weighted sensitivity version of the tables, and the source of each margin's targets: another wave's
composition, or external shares with their citation and year.

The reports' percentages are unweighted; a wave without a spec has unit weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .loading import load_validated
from .variables import VariableSet

MISSING_CATEGORY = "missing"  # respondents without an answer to a weighting variable form their own category


@dataclass(frozen=True)
class WeightingSpec:
    """A wave's weighting targets (``config/weighting/{wave}.yaml``)."""

    path: str
    wave: str
    description: str
    method: str
    margins: tuple[dict, ...]
    trim: dict | None = None
    tolerance: float = 1e-10
    max_iterations: int = 1000
    missing: str = "target"

    @property
    def reference_waves(self) -> list[str]:
        return sorted({m["source"]["wave"] for m in self.margins if "wave" in m["source"]})


def read_weighting_spec(path: str | Path) -> WeightingSpec:
    """A weighting spec as its file declares it (checked against its schema only; the workflow checks it
    against the variables and waves when it starts, with :func:`load_weighting_spec`)."""
    return _spec(path, load_validated(path, "weighting").data)


def load_weighting_spec(path: str | Path, variables: VariableSet, carried: dict[str, set[str]]) -> WeightingSpec:
    """Read and check a weighting spec against the harmonised variables and the waves (``carried``: each
    wave's carried variables)."""
    doc = load_validated(path, "weighting")
    data = doc.data
    if data["wave"] not in carried:
        raise ConfigError(
            f"the weighting spec is for wave '{data['wave']}', which the wave sheet does not list",
            file=path,
            row=doc.line_of(("wave",)),
            expected="a wave of config/waves.tsv",
        )
    for index, margin in enumerate(data["margins"]):
        keys = ("margins", index)
        name = margin["variable"]
        if name not in variables or not variables[name].is_categorical:
            raise ConfigError(
                f"the weighting variable '{name}' is not a single-choice or yes/no variable",
                file=path,
                row=doc.line_of(keys + ("variable",)),
                expected="e.g. gender, race, region",
            )
        if name not in carried.get(data["wave"], ()):
            raise ConfigError(
                f"wave '{data['wave']}' does not carry the weighting variable '{name}'",
                file=path,
                row=doc.line_of(keys + ("variable",)),
                expected="a variable the wave carries",
            )
        source = margin["source"]
        if "wave" in source:
            if source["wave"] not in carried or source["wave"] == data["wave"]:
                raise ConfigError(
                    f"targets from wave '{source['wave']}'",
                    file=path,
                    row=doc.line_of(keys + ("source",)),
                    expected="another wave of config/waves.tsv",
                )
            if "targets" in margin:
                raise ConfigError(
                    "a margin has both targets and a source wave",
                    file=path,
                    row=doc.line_of(keys),
                    expected="targets with a citation, or a source wave",
                )
        elif "targets" not in margin:
            raise ConfigError(
                "an external source without targets",
                file=path,
                row=doc.line_of(keys),
                expected="targets: {category: share}",
            )
        else:
            allowed = set(variables[name].categories) | {MISSING_CATEGORY}
            unknown = set(margin["targets"]) - allowed
            if unknown:
                raise ConfigError(
                    f"targets for categories {sorted(unknown)} of '{name}'",
                    file=path,
                    row=doc.line_of(keys + ("targets",)),
                    expected="one of " + ", ".join(sorted(allowed)),
                )
    return _spec(path, data)


def _spec(path: str | Path, data: dict) -> WeightingSpec:
    return WeightingSpec(
        str(path),
        data["wave"],
        data["description"],
        data["method"],
        tuple(data["margins"]),
        data.get("trim"),
        data["tolerance"],
        data["max_iterations"],
        data["missing"],
    )
