"""Table specifications (config/tables.py): a table's model, how it is read, checked and handed to the jobs.
Oracle: the specs written in each test, and the bundled configuration."""

from __future__ import annotations

import pytest

from conftest import ROOT, bundled_plan
from survey_audit.config.tables import ModelSpec, load_table_specs, spec_document, spec_from_document
from survey_audit.config.variables import load_variables
from survey_audit.errors import ConfigError

MODEL = """
chapter: buyers
title: Buyers
tables:
  - id: buyers_mean
    title: Mean buyers per day
    kind: mean
    variable: buyers_per_day
    by: advertised_online
    model:
      formula: '{formula}'
      test: {{terms: [{terms}], family: exploratory}}
"""


def specs(
    tmp_path, formula='buyers_per_day ~ relevel(advertised_online, ref = "no") + region', terms="advertised_online"
):
    path = tmp_path / "buyers.yaml"
    path.write_text(MODEL.format(formula=formula, terms=terms))
    variables = load_variables(ROOT / "config" / "variables.yaml")
    carried = {"w1": {"buyers_per_day", "advertised_online", "advertised"}, "w2": {"buyers_per_day"}}
    return load_table_specs([path], variables, carried)


def test_a_model_is_read_with_the_schemas_default_family_and_survives_the_plan(tmp_path):
    (spec,) = specs(tmp_path)
    assert spec.model == ModelSpec(
        formula='buyers_per_day ~ relevel(advertised_online, ref = "no") + region',
        family="gaussian",  # the schema's default
        terms=("advertised_online",),
        test_family="exploratory",
    )
    assert spec.waves == ("w1",)  # w2 does not carry advertised_online, which the model names
    assert spec_from_document(spec_document(spec)) == spec


@pytest.mark.parametrize(
    ("formula", "terms", "message"),
    [
        (
            "buyers_per_day ~ advertised_online * region",
            "advertised_online",
            "a term of the model formula is not supported",
        ),
        (
            "buyers_per_day ~ advertised_online + nonsense",
            "advertised_online",
            "naming nonsense, which is not a variable",
        ),
        ("buyers_per_day ~ advertised + region", "advertised", "naming advertised, which is not a variable"),
        ("buyers_per_day ~ advertised_online + region", "org", "tests org, which is not a term of its model"),
    ],
)
def test_a_model_that_cannot_be_fitted_is_refused_with_its_row(tmp_path, formula, terms, message):
    with pytest.raises(ConfigError) as info:
        specs(tmp_path, formula, terms)
    assert message in info.value.problem
    assert info.value.row is not None and str(info.value.file).endswith("buyers.yaml")


def test_the_bundled_online_ads_claim_cites_the_model_of_buyers_per_day_adjusted_for_region():
    plan = bundled_plan()
    entry = next(e for r in plan.registries for e in r.entries if e["id"] == "t18-online-ads-more-buyers")
    assert entry["claim"] == {
        "type": "association",
        "test": "buyers_per_day_mean_by_online_ads:wave2:model",
        "direction": "positive",
        "alpha": 0.05,
    }
    spec = next(s for s in plan.specs if s.id == "buyers_per_day_mean_by_online_ads")
    assert spec.model.formula == 'buyers_per_day ~ relevel(advertised_online, ref = "no") + region'
    assert (spec.model.family, spec.model.terms) == ("gaussian", ("advertised_online",))
    assert "buyers_per_day_mean_by_online_ads:wave2:model" in plan.claims()
