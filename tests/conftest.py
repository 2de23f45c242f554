"""Shared fixtures: the project's paths and small, hand-written waves for unit tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from survey_audit import formats
from survey_audit.config.tables import TableSpec
from survey_audit.provenance import CODE_PATHS
from survey_audit.stages.conventions import Significance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))


@pytest.fixture
def root() -> Path:
    return ROOT


def copy_project(root: Path, target: Path) -> Path:
    """A copy of what a run reads of the project (``CODE_PATHS``: workflow, configuration, bundled data; no
    results, no releases, no git)."""
    for part in CODE_PATHS:
        source = root / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    return target


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project / "workflow")}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/default", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
    )


@pytest.fixture(scope="session")
def workflow_run(tmp_path_factory, request) -> Path:
    """The bundled workflow, run once per test session in a temporary copy of the project: the tests that read
    its outputs share it (the workflow tests, the browser test of the report); its run log is ``run.log``."""
    target = copy_project(Path(request.config.rootpath), tmp_path_factory.mktemp("project"))
    result = snakemake(target, "--cores", "2")
    assert result.returncode == 0, result.stderr[-4000:]
    target.joinpath("run.log").write_text(result.stdout + result.stderr)
    return target


def bundled_plan():
    """The plan of the bundled project: every declared file read and cross-checked, as the workflow does."""
    from survey_audit.config.plan import build_plan
    from survey_audit.config.settings import load_config

    return build_plan(load_config(ROOT / "config" / "config.yaml"), ROOT)


def default_config() -> dict:
    """A configuration whose every analysis choice takes its schema default (the one place defaults are set)."""
    from survey_audit.config.loading import validate

    config = {"waves": "waves.tsv", "variables": "variables.yaml", "tables": ["tables.yaml"], "published": []}
    validate(config, "config")
    return config


def estimation(**changes):
    """The default estimation settings, with ``changes``."""
    import dataclasses

    from survey_audit.stages.conventions import Estimation

    config = default_config()
    return dataclasses.replace(Estimation.from_config(config["estimation"], config["tabulation"]), **changes)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


VARIABLES = """
missing_codes:
  dont_know: Don't know
  refused: Refused
variables:
  response_type:
    label: Response type
    type: single
    role: admin
    categories: {survey: Survey, preview: Preview, test: Test}
    waves: [w1]
  consent:
    label: Consent
    type: yesno
    role: admin
    waves: [w1]
  survey_year:
    label: Survey year
    type: integer
    role: admin
    range: [2010, 2020]
    waves: [w1]
  gender:
    label: Gender
    type: single
    categories: {female: Female, male: Male, other: Other}
    waves: [w1]
  age_at_survey:
    label: Age at survey
    type: integer
    range: [12, 80]
    waves: [w1]
  age_entered:
    label: Age entered
    type: integer
    range: [1, 40]
    waves: [w1]
  year_entered:
    label: Year entered
    type: integer
    range: [1960, 2020]
    waves: [w1]
  entry_cohort:
    label: Entry cohort
    type: single
    categories: {before_2004: Before 2004, from_2004: 2004 or later}
    derive: {bins: {variable: year_entered, breaks: [2004]}}
    waves: [w1]
  under_12:
    label: Under 12
    type: yesno
    derive: {below: {variable: age_entered, value: 12}}
    waves: [w1]
  had_phone:
    label: Had a phone
    type: yesno
    waves: [w1]
  phone_monitored:
    label: Phone monitored
    type: yesno
    waves: [w1]
  advertised:
    label: Advertised
    type: multi
    options: {online: Online, street: Street}
    waves: [w1]
  sites:
    label: Sites
    type: multi
    options: {backpage: Backpage, craigslist: Craigslist, other: Other}
    waves: [w1]
  comments:
    label: Comments
    type: text
    waves: [w1]
"""

CODEBOOK = """
wave: w1
file: {layout: plain}
respondent_id: pid
organisation:
  column: org
  codes:
    "A": {region: west, state: CA}
    "B": {region: south, state: TX}
missing: {"98": dont_know, "99": refused}
variables:
  response_type: {column: status, codes: {"0": survey, "1": preview, "2": test}}
  consent: {column: consent, codes: {"1": "yes", "2": "no"}}
  survey_year: {column: recorded, parse: year}
  gender: {column: gender, codes: {"1": female, "2": male, "3": other, "Female": female}}
  age_at_survey: {column: age}
  age_entered: {column: age_entered}
  year_entered: {column: year_entered}
  had_phone: {column: phone, codes: {"1": "yes", "2": "no"}}
  phone_monitored:
    column: monitored
    codes: {"1": "yes", "2": "no"}
    ask_if: {variable: had_phone, in: ["yes"]}
  advertised:
    columns: {adv_online: online, adv_street: street}
  sites:
    column: sites
    delimiter: ","
    codes: {"1": backpage, "2": craigslist, "3": other}
    ask_if: {variable: advertised, option: online}
  comments: {column: comments}
drop:
  ip: identifier
cleaning:
  eligibility:
    - name: trafficked_as_minor
      require: age_entered < 18
      reason: not trafficked before 18
  inconsistent:
    - name: entered_after_survey_age
      when: age_entered > age_at_survey
      reason: age entered above age at survey
      action: exclude
"""

HEADER = "pid,org,status,consent,recorded,gender,age,age_entered,year_entered,phone,monitored,adv_online,adv_street,sites,comments,ip"

CLEANING_DEFAULTS = {
    "test_responses": {"variable": "response_type", "exclude": ["preview", "test"]},
    "consent": {"variable": "consent", "require": "yes"},
    "duplicates": {"same_id": True, "same_answers": True, "keep": "most_complete"},
    "completeness": {"min_share_answered": 0.5},
    "out_of_range": "set_missing",
    "skip_violations": "set_missing",
}


@pytest.fixture
def small_wave(tmp_path: Path):
    """Paths of a small hand-written wave: variables, codebook and a raw CSV (rows chosen by each test)."""

    def make(rows: list[str], *, codebook: str = CODEBOOK, variables: str = VARIABLES, header: str = HEADER):
        var_path = write(tmp_path / "variables.yaml", variables)
        book_path = write(tmp_path / "codebook.yaml", codebook)
        raw_path = tmp_path / "raw.csv"
        raw_path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        return var_path, book_path, raw_path

    return make


@pytest.fixture
def variables(tmp_path):
    """The hand-written harmonised variables of :data:`VARIABLES`."""
    from survey_audit.config.variables import load_variables

    return load_variables(write(tmp_path / "variables.yaml", VARIABLES))


def frame_of(rows: list[tuple]):
    """Respondents (org, gender, online, street, entry_cohort) as the respondent frame holds them."""
    import pandas as pd

    org, gender, online, street, cohort = zip(*rows)
    return pd.DataFrame(
        {
            "org": pd.Categorical(org),
            "region": pd.Categorical(["west"] * len(rows)),
            "wave": "w1",
            "gender": pd.Categorical(gender, categories=["female", "male", "other"]),
            "advertised__online": pd.array(online, dtype="boolean"),
            "advertised__street": pd.array(street, dtype="boolean"),
            "entry_cohort": pd.Categorical(cohort, categories=["before_2004", "from_2004"]),
        }
    )


ROWS = [  # 4 organisations; gender missing once; the multi-select unanswered once
    ("A", "female", True, False, "from_2004"),
    ("A", "female", True, True, "from_2004"),
    ("A", "male", False, True, "before_2004"),
    ("B", "female", False, True, "before_2004"),
    ("B", "female", True, False, "from_2004"),
    ("C", "female", True, True, "from_2004"),
    ("C", None, None, None, "from_2004"),
    ("C", "female", False, True, "before_2004"),
    ("D", "male", True, False, "from_2004"),
    ("D", "female", False, False, "before_2004"),
]


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` (a throwaway repository of a test), with a fixed author."""
    import subprocess

    environment = {
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
        "HOME": str(repo),
        "PATH": __import__("os").environ["PATH"],
    }
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=environment)
    return done.stdout.strip()


def git_project(root: Path) -> Path:
    """A throwaway repository holding a project's code, configuration and a release, all committed."""
    write(root / "workflow" / "survey_audit" / "module.py", "VALUE = 1\n")
    write(root / "config" / "config.yaml", "waves: config/waves.tsv\n")
    write(root / "results" / "releases" / "CHANGELOG.md", "# Releases\n")
    write(root / "README.md", "# project\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


# ---- the golden block 'models' (tests/golden/make_golden.R): its data and designs ------------------------------


def models_golden():
    """The R values of the golden block 'models' (NA as NaN)."""
    import json
    import math

    def decode(value):
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, dict):
            return {k: decode(v) for k, v in value.items()}
        return math.nan if value is None else value

    return decode(json.loads((ROOT / "tests" / "golden" / "models.json").read_text(encoding="utf-8")))


def models_api_designs() -> dict:
    """The api designs of the block 'models': apiclus1 (with a missing ell every 9th and enroll every 11th
    school), apistrat, and apiclus1 raked to school type and sch.wide."""
    import numpy as np
    import pandas as pd

    from survey_audit.stats import weighting
    from survey_audit.stats.design import svydesign

    data = ROOT / "tests" / "golden" / "data"
    clus1 = pd.read_csv(data / "apiclus1.csv", dtype={"cds": str})
    strat = pd.read_csv(data / "apistrat.csv", dtype={"cds": str})
    row = np.arange(1, len(clus1) + 1)
    clus1["ell_na"] = clus1["ell"].where(row % 9 != 0)
    clus1["enroll_na"] = clus1["enroll"].where(row % 11 != 0)
    for frame in (clus1, strat):
        frame["sch_wide_yes"] = frame["sch.wide"] == "Yes"
        frame["awards_yes"] = frame["awards"] == "Yes"
    dclus1 = svydesign(clus1, weights="pw", cluster="dnum", fpc="fpc")
    margins = {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1072, "Yes": 5122}}
    return {
        "clus1": clus1,
        "dclus1": dclus1,
        "dstrat": svydesign(strat, weights="pw", strata="stype", fpc="fpc"),
        "raked": weighting.rake(dclus1, margins, maxit=1000, epsilon=1e-10).design,
    }


def models_wave_designs() -> dict:
    """The wave designs of the block 'models': organisations as clusters; wave 2 also raked to wave 1's gender
    and race shares (a missing answer its own category) and trimmed to 0.2 to 5 times the mean weight."""
    import pandas as pd

    from survey_audit.stats import weighting
    from survey_audit.stats.design import svydesign

    data = pd.read_csv(
        ROOT / "tests" / "golden" / "data" / "waves.csv", dtype=str, keep_default_na=False, na_values=["NA"]
    )
    data["buyers_per_day"] = data["buyers_per_day"].astype(float)
    data["online"] = data["advertised_online"] == "yes"
    data = data.fillna({"gender": "missing", "race": "missing"})
    w1, w2 = (part.reset_index(drop=True) for _, part in data.groupby("wave"))
    targets = {margin: (w1[margin].value_counts(normalize=True) * len(w2)).to_dict() for margin in ("gender", "race")}
    raked = weighting.rake(svydesign(w2, cluster="org"), targets, maxit=1000, epsilon=1e-10).design
    mean_w = raked.weights.mean()
    return {
        "wave1": svydesign(w1, cluster="org"),
        "wave2_unweighted": svydesign(w2, cluster="org"),
        "wave2_weighted": weighting.trim_weights(raked, lower=0.2 * mean_w, upper=5 * mean_w).design,
    }


# The multiplicity settings the associations and families tests share.
SIGNIFICANCE = Significance(
    families={"claims": "holm", "exploratory": "bh"},
    claims_family="claims",
    wave_family="exploratory",
    wave_df="satterthwaite",
)


def spec(**fields) -> TableSpec:
    """A table spec with the fields the tests of stages set (id t, variable gender, wave w1 by default)."""
    return TableSpec(**{"id": "t", "title": "t", "chapter": "c", "variable": "gender", "waves": ("w1",), **fields})


# A table worked by hand for the disclosure stages: gender by wave, wave 1 with 3 men (a small count), the pool
# the sum of the waves.
DISCLOSURE_COUNTS = {
    "wave1": {"female": 40, "male": 3, "other": 7},
    "wave2": {"female": 60, "male": 20, "other": 10},
    "wave1+wave2": {"female": 100, "male": 23, "other": 17},
}


def disclosure_cells():
    """The full internal cells of the two-wave gender table worked by hand (:data:`DISCLOSURE_COUNTS`)."""
    import pandas as pd

    rows = []
    for wave, counts in DISCLOSURE_COUNTS.items():
        base = sum(counts.values())
        common = {"wave": wave, "domain": "all", "by": "", "by_value": "all", "weighting": "unweighted"}
        rows.append({**common, "table_id": "sample", "variable": "sample", "category": "respondents", "n": base,
                     "base_n": base, "excluded_n": 0, "pct": None})  # fmt: skip
        for category, n in counts.items():
            rows.append({**common, "table_id": "gender", "variable": "gender", "category": category, "n": n,
                         "base_n": base, "excluded_n": 0, "pct": 100 * n / base})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["flags"] = ""
    return frame


@pytest.fixture
def inputs(tmp_path):
    """The internal results of that table as the disclosure stages read them (cells, each wave's flow, the
    variables, the tables' specs, tests and an audit), in ``tmp_path``: (directory, cells, flows)."""
    import json

    import pandas as pd

    cells = disclosure_cells()
    formats.write_parquet(cells, tmp_path / "cells.parquet")
    flows = {}
    for wave in ("wave1", "wave2"):
        base = sum(DISCLOSURE_COUNTS[wave].values())
        flow = pd.DataFrame({"step": [0, 1], "rule": ["raw responses", "consent"], "excluded": [0, 10],
                             "remaining": [base + 10, base]})  # fmt: skip
        flows[wave] = flow
        formats.write_csv(flow, tmp_path / f"{wave}.flow.csv")
        formats.write_csv(flow, tmp_path / f"{wave}.public-flow.csv")
    (tmp_path / "variables.yaml").write_text(
        "missing_codes: {}\nvariables:\n  gender:\n    label: Gender\n    type: single\n"
        "    categories: {female: Female, male: Male, other: Other}\n",
        encoding="utf-8",
    )
    (tmp_path / "tables.json").write_text(json.dumps({"tables": []}), encoding="utf-8")
    formats.write_csv(pd.DataFrame({"test_id": ["gender:wave1-wave2"], "n": ["140"]}), tmp_path / "tests.csv")
    formats.write_csv(
        pd.DataFrame({"entry_id": ["x"], "recomputed_display": ["14.00% (7/50)"]}), tmp_path / "audit.csv"
    )
    return tmp_path, cells, flows
