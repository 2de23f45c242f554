"""Rules list the library modules their script imports, so a change to one reruns exactly what uses it; every
file is read through one place, which hashes the bytes it hands to the parser; a job records the hashes of the
bytes it read and wrote, and the manifest is made of those records. Oracle: hashlib on the bytes each test
wrote, and hand-made records."""

from __future__ import annotations

import ast
import hashlib
import json
import logging
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import git, git_project
from survey_audit import adapter, formats
from survey_audit.errors import InputError
from survey_audit.provenance import _import_statements, git_state, module_closure, read_bytes, recording, sha256_file
from survey_audit.stages.manifest import build_manifest


def names(script):
    return {p.name for p in module_closure(script)}


def test_closure_follows_imports_transitively(root):
    ingest = names(root / "workflow" / "scripts" / "ingest.py")
    assert {"harmonise.py", "readers.py", "codebook.py", "loading.py", "errors.py", "__init__.py"} <= ingest
    assert "audit.py" not in ingest and "tabulate.py" not in ingest and "design.py" not in ingest


def imports_of(tree: ast.Module) -> set[tuple]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(0, None, alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found |= {(node.level, node.module, alias.name) for alias in node.names}
    return found


def test_import_statements_are_those_of_the_whole_module(root):
    """Oracle: Python's parser over the whole file, for every module of the library and every script."""
    files = [*(root / "workflow" / "survey_audit").rglob("*.py"), *(root / "workflow" / "scripts").glob("*.py")]
    assert len(files) > 50
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert imports_of(_import_statements(text, str(path))) == imports_of(ast.parse(text)), path


def test_import_statements_over_several_lines_inside_functions_and_continued():
    text = (
        '"""A module.\n\nimport is a word a docstring may begin a line with.\n"""\n'
        "from .a import (\n    b,  # a comment (with brackets)\n    c,\n)\n"
        "def f():\n    from ..d import e\n    import f.g as h\n"
        "from .i import j, \\\n    k\n"
    )
    expected = imports_of(ast.parse(text))
    assert {(1, "a", "b"), (1, "a", "c"), (2, "d", "e"), (0, None, "f.g"), (1, "i", "k")} <= expected
    assert imports_of(_import_statements(text, "m.py")) == expected


def test_weight_stage_does_not_depend_on_ingest_code(root):
    weight = names(root / "workflow" / "scripts" / "weight.py")
    assert "weighting.py" in weight and "readers.py" not in weight


# --------------------------------------------------------------------------------------------- what a job read


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def job_dir(tmp_path, monkeypatch):
    """A job's working directory; the root logger's handlers (the adapter replaces them) restored afterwards."""
    monkeypatch.chdir(tmp_path)
    handlers = logging.root.handlers[:]
    yield tmp_path
    for handler in logging.root.handlers:
        if handler not in handlers:
            handler.close()
    logging.root.handlers[:] = handlers


def job(**inputs):
    """A Snakemake job as a script sees it: inputs by name, one output, one log."""
    from snakemake.iocontainers import InputFiles, Log, OutputFiles, Params, Wildcards

    return SimpleNamespace(
        rule="derive",
        input=InputFiles(fromdict=inputs),
        output=OutputFiles(fromdict={"out": "out.csv"}),
        log=Log(fromdict={"log": "job.log"}),
        params=Params(fromdict={"threshold": 3}),
        wildcards=Wildcards(fromdict={"wave": "w1"}),
    )


def test_a_job_records_the_bytes_it_read_though_the_file_changed_before_it_ended(job_dir):
    (job_dir / "raw.csv").write_bytes(b"a,b\n1,2\n")
    (job_dir / "spare.csv").write_bytes(b"x\n")
    (job_dir / "module.py").write_bytes(b"VALUE = 1\n")

    def main():
        frame = formats.read_csv("raw.csv")
        (job_dir / "raw.csv").write_bytes(b"a,b\n9,9\n")  # the file changes while the job runs
        formats.write_csv(frame.assign(c=frame["a"] + frame["b"]), "out.csv")

    adapter.run(job(raw="raw.csv", spare="spare.csv", code=["module.py"]), main)
    record = json.loads((job_dir / "job.provenance.json").read_text())
    assert record["inputs"] == {"raw": {"raw.csv": sha(b"a,b\n1,2\n")}}
    assert sha256_file(job_dir / "raw.csv") == sha(b"a,b\n9,9\n")  # what a hash taken at the end would say
    assert record["inputs_not_read"] == {"spare": ["spare.csv"]}
    assert record["reads_not_declared"] == {}
    assert record["modules"] == {"module.py": sha(b"VALUE = 1\n")}
    assert record["outputs"] == {"out.csv": sha(b"a,b,c\n1,2,3\n")}
    assert (record["rule"], record["wildcards"], record["params"]) == ("derive", {"wave": "w1"}, {"threshold": 3})


def test_what_a_job_prints_from_c_goes_to_its_log_not_the_console(job_dir, capfd):
    import os

    def main():
        logging.getLogger("survey_audit").info("first")
        os.write(1, b"Running a C library: its banner\n")  # as a C library prints, below Python's sys.stdout
        logging.getLogger("survey_audit").info("last")
        formats.write_csv(pd.DataFrame({"a": [1]}), "out.csv")

    adapter.run(job(), main)
    lines = (job_dir / "job.log").read_text().splitlines()
    assert lines[:3] == ["INFO first", "Running a C library: its banner", "INFO last"]
    assert lines[3].startswith("INFO job resources: wall ")
    assert capfd.readouterr().out == ""
    os.write(1, b"after the job\n")  # standard output is the console's again
    assert capfd.readouterr().out == "after the job\n"


def test_a_file_read_twice_with_different_contents_stops_the_job(job_dir):
    path = job_dir / "codebook.yaml"
    path.write_bytes(b"wave: w1\n")
    with recording() as ledger:
        read_bytes(path)
        path.write_bytes(b"wave: w2\n")
        with pytest.raises(InputError) as caught:
            read_bytes(path)
    assert caught.value.file == "codebook.yaml" and "changed while the job was reading it" in caught.value.problem
    assert ledger.read == {"codebook.yaml": sha(b"wave: w1\n")}


def test_every_reader_hashes_the_bytes_it_parses(job_dir, small_wave):
    from survey_audit.config.variables import load_variables
    from survey_audit.intake.readers import read_raw

    variables, _, raw = small_wave(["1,A,0,1,2014,1,20,15,2003,1,2,1,0,1,,"])
    formats.write_parquet(pd.DataFrame({"x": [1, 2]}), "frame.parquet")
    with recording() as ledger:
        read_raw(raw)
        load_variables(variables)
        formats.read_parquet("frame.parquet")
    assert ledger.read["raw.csv"] == sha(raw.read_bytes())
    assert ledger.read["variables.yaml"] == sha(variables.read_bytes())
    assert ledger.read["frame.parquet"] == sha((job_dir / "frame.parquet").read_bytes())
    assert ledger.written == {}  # written before the recording began


# --------------------------------------------------------------------------------------------- the manifest

H = {n: f"{n}" * 64 for n in "12345"}  # hashes, told apart by their digit


def record(rule, wildcards, inputs, outputs):
    return {
        "rule": rule,
        "wildcards": wildcards,
        "inputs": inputs,
        "inputs_not_read": {},
        "reads_not_declared": {},
        "modules": {"workflow/survey_audit/stages/x.py": H["5"]},
        "params": {},
        "outputs": outputs,
        "writes_not_declared": {},
    }


def test_the_manifest_is_made_of_the_records_without_hashing_a_file(job_dir):
    records = [
        record("ingest", {"wave": "w1"}, {"raw": {"data/w1.csv": H["1"]}}, {"results/ingest/w1.parquet": H["2"]}),
        record("clean", {"wave": "w1"}, {"respondents": {"results/ingest/w1.parquet": H["2"]}}, {"out.csv": H["3"]}),
    ]
    git = {"commit": "c" * 40, "dirty": False, "changed": []}
    manifest = build_manifest(
        config={}, records=records, outputs=["out.csv"], registries={}, synthetic=True, code_version=git
    )
    # none of these files exists: every hash comes from the records
    assert manifest["inputs"] == {"data/w1.csv": {"sha256": H["1"], "read_by": ["ingest (wave=w1)"]}}
    assert set(manifest["outputs"]) == {"results/ingest/w1.parquet", "out.csv"}
    out = manifest["outputs"]["out.csv"]
    assert (out["sha256"], out["rule"], out["wildcards"]) == (H["3"], "clean", {"wave": "w1"})
    assert out["inputs"] == {"respondents": {"results/ingest/w1.parquet": H["2"]}}
    assert manifest["library_modules"] == {"workflow/survey_audit/stages/x.py": H["5"]}
    assert manifest["code_version"]["git"] == git  # as the run read it when it started, not read again


def test_the_manifest_refuses_records_that_saw_a_file_two_ways():
    records = [
        record("clean", {"wave": "w1"}, {"codebook": {"cb.yaml": H["1"]}}, {"results/clean/w1.parquet": H["2"]}),
        record("tabulate", {"scope": "w1"}, {"analysed": {"results/clean/w1.parquet": H["3"]}}, {"c.parquet": H["4"]}),
        record("weight", {"wave": "w1"}, {"analysed": {"results/clean/w1.parquet": H["2"]}}, {"w.parquet": H["4"]}),
    ]
    with pytest.raises(InputError) as caught:
        build_manifest(config={}, records=records, outputs=[], registries={}, synthetic=True, code_version={})
    error = caught.value
    assert error.file == "results/clean/w1.parquet"
    assert error.problem == (
        "the jobs of this run saw different contents of the file, so it changed while the workflow ran: "
        "written by clean (wave=w1) as sha256 222222222222…; read by weight (wave=w1) as sha256 222222222222…; "
        "read by tabulate (scope=w1) as sha256 333333333333…"
    )


def test_git_state_names_the_commit_and_the_changed_code_or_configuration(tmp_path):
    repo = git_project(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    assert git_state(repo) == {"commit": head, "dirty": False, "changed": []}
    # a release written, the README edited, a scratch file added: no code or configuration changed
    (repo / "results" / "releases" / "CHANGELOG.md").write_text("# Releases\n\n## v1\n")
    (repo / "README.md").write_text("# project, documented\n")
    (repo / "config" / "scratch.yaml").write_text("untracked: true\n")
    assert git_state(repo) == {"commit": head, "dirty": False, "changed": []}
    (repo / "config" / "config.yaml").write_text("waves: config/other.tsv\n")
    git(repo, "add", "config/config.yaml")  # staged counts as well
    (repo / "workflow" / "survey_audit" / "module.py").write_text("VALUE = 2\n")
    assert git_state(repo) == {
        "commit": head,
        "dirty": True,
        "changed": ["config/config.yaml", "workflow/survey_audit/module.py"],
    }
    assert git_state(repo / "results") == git_state(repo)  # read from a subdirectory: the same
    git(repo, "commit", "-q", "-am", "second")
    assert git_state(repo) == {"commit": git(repo, "rev-parse", "HEAD"), "dirty": False, "changed": []}


def test_git_state_outside_a_repository(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None, "changed": []}
