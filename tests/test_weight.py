"""The weight stage: unit weights without a spec, and the calibration record that lets the tabulate and
association stages use a wave's raked design without raking it again. Oracle: the raked design itself (the
restored one must give the same weights and the same calibration-aware variances, bit for bit)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from survey_audit import formats
from survey_audit.stages.conventions import scope_design
from survey_audit.stages.weight import calibration_frame, unit_weights
from survey_audit.stats import estimates as E
from survey_audit.stats import weighting as W
from survey_audit.stats.design import restore_calibration


def test_unit_weights_without_a_spec():
    frame = pd.DataFrame({"respondent_id": ["r1", "r2"], "org": ["o1", "o2"], "region": ["w", "s"], "q": [1, 2]})
    out = unit_weights(frame)
    assert list(out.columns) == ["respondent_id", "org", "region", "weight"] and out["weight"].tolist() == [1.0, 1.0]


def raked_wave():
    rng = np.random.default_rng(7)
    n = 200
    frame = pd.DataFrame(
        {
            "respondent_id": [f"r{i}" for i in range(n)],
            "org": rng.integers(0, 12, n).astype(str),
            "a": rng.choice(["x", "y", "z"], n),
            "b": rng.choice(["u", "v"], n),
            "y": rng.choice(["yes", "no"], n),
        }
    )
    design = scope_design(frame, np.ones(n), "w1", "adjust")
    raked = W.rake(design, {"a": {"x": 50.0, "y": 80.0, "z": 70.0}, "b": {"u": 120.0, "v": 80.0}}).design
    return frame, design, W.trim_weights(raked, upper=float(raked.weights.mean() * 1.1)).design


def test_a_calibration_record_restores_the_raked_design_exactly(tmp_path):
    frame, unweighted, trimmed = raked_wave()
    path = tmp_path / "w1.calibration.parquet"
    formats.write_parquet(calibration_frame(frame, trimmed), path)
    record = formats.read_parquet(path)
    assert (
        record.attrs["steps"][0]["kind"] == "rake"
        and record["respondent_id"].tolist() == frame["respondent_id"].tolist()
    )
    restored = restore_calibration(unweighted, record, record.attrs["steps"], trimmed.weights)
    assert np.array_equal(restored.weights, trimmed.weights)
    expected = E.proportions(trimmed, "y")
    got = E.proportions(restored, "y")
    assert got["se"].tolist() == expected["se"].tolist()  # the raking residual is used, bit for bit
    assert not np.allclose(got["se"], E.proportions(unweighted.with_weights(trimmed.weights), "y")["se"])


def test_unit_weights_have_an_empty_calibration_record():
    frame, unweighted, _ = raked_wave()
    record = calibration_frame(frame, unweighted)
    assert record.attrs["steps"] == [] and list(record.columns) == ["respondent_id"]


def test_missing_answers_without_a_target_stop_the_job_naming_the_spec_key():
    # Oracle, by hand: the reference wave has 3 x and 1 y (shares 0.75, 0.25); the weighted wave has 1 of 4
    # respondents without an answer. With keep_share 'missing' keeps 1/4 and x, y share the other 3/4.
    import pytest

    from survey_audit.config.weighting import WeightingSpec
    from survey_audit.errors import ConfigError
    from survey_audit.stages.weight import margin_targets

    reference = pd.DataFrame({"g": ["x", "x", "x", "y"]})
    frame = pd.DataFrame({"g": ["x", "y", None, "x"]})
    margins = ({"variable": "g", "source": {"wave": "w1"}},)
    spec = WeightingSpec("config/weighting/w2.yaml", "w2", "d", "rake", margins)
    with pytest.raises(ConfigError) as info:
        margin_targets(spec, frame, {"w1": reference})
    assert info.value.file == "config/weighting/w2.yaml" and "missing: keep_share" in info.value.hint
    keep = WeightingSpec("config/weighting/w2.yaml", "w2", "d", "rake", margins, missing="keep_share")
    kept = margin_targets(keep, frame, {"w1": reference})
    assert dict(zip(kept["category"], kept["target_share"])) == pytest.approx(
        {"missing": 0.25, "x": 0.75 * 0.75, "y": 0.25 * 0.75}
    )
    # a wave with no missing answers is raked to the reference's shares as they are
    full = margin_targets(spec, pd.DataFrame({"g": ["x", "y"]}), {"w1": reference})
    assert dict(zip(full["category"], full["target_share"])) == pytest.approx({"x": 0.75, "y": 0.25})
