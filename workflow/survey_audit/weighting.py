"""Survey weights.

Without weighting targets every respondent carries weight 1: the reports' published percentages are
unweighted shares of respondents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import formats

WEIGHT_COLUMNS = ["respondent_id", "org", "region", "weight"]


def unit_weights(frame: pd.DataFrame) -> pd.DataFrame:
    """One weight of 1 per analysed respondent, with the design variables beside it."""
    out = frame[["respondent_id", "org", "region"]].copy()
    out["weight"] = np.ones(len(frame))
    return out.reset_index(drop=True)


def weight_wave(*, analysed: str, weights_out: str) -> None:
    """Analysed respondents → survey weights (unit weights when no targets are configured)."""
    frame = formats.read_parquet(analysed)
    formats.write_parquet(unit_weights(frame), weights_out)
