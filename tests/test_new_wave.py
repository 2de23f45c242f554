"""``survey-audit new-wave``: the description of a raw export and the draft codebook.

Oracles: for the bundled synthetic wave 2, its hand-written codebook (``config/codebooks/wave2.yaml``): the draft
must propose the same raw column → variable mapping, drops and codes, and, with its placeholders filled in,
harmonise the export exactly as the hand-written codebook does. For an SPSS file, the value labels the test
writes into it with pyreadstat. For privacy, the raw values themselves: no identifier, contact, location or
free-text value of the export may appear in anything the command writes or prints.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from conftest import ROOT
from survey_audit.cli import main
from survey_audit.config.codebook import load_codebook
from survey_audit.config.variables import load_variables
from survey_audit.errors import ConfigError
from survey_audit.formats import csv_text
from survey_audit.intake.readers import read_raw
from survey_audit.tools.new_wave import draft_codebook, phrase, summary, words

WAVE2_RAW = ROOT / "resources" / "synthetic" / "wave2.csv"
WAVE2_CODEBOOK = ROOT / "config" / "codebooks" / "wave2.yaml"
VARIABLES = ROOT / "config" / "variables.yaml"
NO_MISSING = '# TODO: missing codes (e.g. "98": dont_know) for the whole file: no value label names one'


@pytest.fixture(scope="module")
def variables():
    return load_variables(VARIABLES)


@pytest.fixture(scope="module")
def wave2(variables):
    """The hand-written wave-2 codebook, and a draft for wave 2 from its export."""
    return load_codebook(WAVE2_CODEBOOK, variables), draft_codebook(WAVE2_RAW, "wave2", variables)


def proposed_columns(draft_text: str) -> dict[str, tuple[str, ...]]:
    """Each variable of a draft → its raw column(s)."""
    specs = yaml.safe_load(draft_text)["variables"]
    return {name: tuple([spec["column"]] if "column" in spec else spec["columns"]) for name, spec in specs.items()}


def outputs(draft) -> str:
    """Everything the command writes or prints: the draft, the description and the summary."""
    return draft.codebook + csv_text(draft.columns) + summary(draft)


def test_words_and_phrases():
    assert words("RecipientLastName") == ["recipient", "last", "name"]
    assert words("IPAddress") == ["ip", "address"]
    assert words("Q14_1") == []
    assert words("age_at_survey") == ["age", "survey"]
    assert phrase("Don't know") == phrase("dont_know") == "dont know"
    assert phrase("Other (please specify)") == "other"
    assert phrase("Text messages") == phrase("Text message")


def test_wave2_draft_proposes_the_codebooks_mapping(wave2):
    book, draft = wave2
    truth = {name: tuple(mapping.raw_columns) for name, mapping in book.mappings.items()}
    proposed = proposed_columns(draft.codebook)
    agree = [name for name in truth if proposed.get(name) == truth[name]]
    # All 27 mapped variables at the time of writing: the platform export's question text is the variables'
    # labels. Misses: none.
    assert len(agree) / len(truth) >= 0.9, sorted(set(truth) - set(agree))
    draft_book = yaml.safe_load(draft.codebook)
    assert draft_book["respondent_id"] == book.respondent_id
    assert draft_book["organisation"]["column"] == book.organisation_column
    assert set(draft_book["organisation"]["codes"]) == {o.code for o in book.organisations.values()}
    # The options of one-column-per-option multi-selects come from the question text, as the codebook has them.
    for name, mapping in book.mappings.items():
        if mapping.columns:
            assert draft_book["variables"][name]["columns"] == mapping.columns


def test_wave2_draft_codes_read_the_answers_as_the_codebook_does(wave2):
    book, draft = wave2
    for name, spec in yaml.safe_load(draft.codebook)["variables"].items():
        expected = {**book.missing, **book.mappings[name].codes}
        for raw, target in spec.get("codes", {}).items():
            assert expected[raw.casefold()] == target, (name, raw)


def test_wave2_draft_drops_identifiers_contact_location_and_metadata(wave2):
    book, draft = wave2
    drops = yaml.safe_load(draft.codebook)["drop"]
    assert drops == book.drop
    # Confident: the platform's own columns need no review.
    assert not [line for line in draft.codebook.splitlines() if "TODO: review" in line]
    # The free-text columns are mapped to the text variables, which ingest drops (never stored), as the codebook
    # does; their values are withheld from the description.
    free = {book.mappings[name].column for name in ("other_specify", "final_comments")}
    described = draft.columns.set_index("column")
    assert set(described.loc[sorted(free), "withheld"]) == {"free text"}
    assert described.loc[sorted(free), "values"].eq("").all()


def test_wave2_never_shows_an_identifier_or_free_text(wave2):
    book, draft = wave2
    raw = read_raw(WAVE2_RAW)
    text = outputs(draft)
    sensitive = [c for c, reason in book.drop.items() if reason in ("identifier", "contact", "location")]
    sensitive += [book.respondent_id, book.mappings["other_specify"].column, book.mappings["final_comments"].column]
    values = pd.unique(raw.frame[sensitive].to_numpy().ravel())
    assert len(values) > 2000
    leaked = [v for v in values if v.strip() and v in text]
    assert not leaked, leaked[:5]
    assert "synthetic" not in text.casefold()  # every synthetic free-text answer holds the word
    # Nor any value of a column the description withholds (dates, durations...), long enough to be told apart.
    withheld = draft.columns.loc[draft.columns["withheld"] != "", "column"].tolist()
    long_values = [v for v in pd.unique(raw.frame[withheld].to_numpy().ravel()) if len(v) >= 6]
    assert not [v for v in long_values if v in text]


def test_wave2_description(wave2):
    _, draft = wave2
    columns = draft.columns.set_index("column")
    assert list(draft.columns["column"]) == read_raw(WAVE2_RAW).columns
    assert columns.loc["gender", "type"] == "integer"
    assert columns.loc["gender", "values"].startswith('"1" (')
    assert columns.loc["groom", ["type", "delimiter"]].tolist() == ["categorical", ","]
    assert columns.loc["StartDate", "type"] == "date"
    assert columns.loc["consent", "question_text"] == "Consent to take part"
    assert columns.loc["pid", "withheld"] and columns.loc["pid", "values"] == ""
    assert columns.loc["comments", "distinct"] == 55
    assert draft.mapped + draft.dropped + draft.review == len(columns)


def test_draft_is_deterministic(variables, wave2):
    _, first = wave2
    again = draft_codebook(WAVE2_RAW, "wave2", variables)
    assert again.codebook == first.codebook
    assert csv_text(again.columns) == csv_text(first.columns)


def test_names_alone_still_propose_most_of_the_mapping(tmp_path, variables, wave2):
    """Without the question-text rows, names and answers carry the matching (closer calls get TODOs)."""
    book, _ = wave2
    lines = WAVE2_RAW.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    plain = tmp_path / "plain.csv"
    plain.write_text("".join([lines[0], *lines[3:]]), encoding="utf-8")
    draft = draft_codebook(plain, "wave2", variables)
    truth = {name: tuple(mapping.raw_columns) for name, mapping in book.mappings.items()}
    proposed = proposed_columns(draft.codebook)
    agree = [name for name in truth if proposed.get(name) == truth[name]]
    # 25 of 27: Status (response_type) and race_4_TEXT (other_specify) have names no variable shares.
    assert len(agree) >= 25, sorted(set(truth) - set(agree))
    # age and age_first both fit both age variables by name: the draft says so.
    assert "as likely: age_entered" in draft.columns.set_index("column").loc["age", "todo"]


def test_the_wave2_draft_ingests_as_the_hand_written_codebook(tmp_path, wave2):
    """(d) The draft parses as YAML; with the organisations' regions and the file's missing codes filled in (the
    two placeholders a reader of the questionnaire completes), it loads and harmonises the export exactly as the
    hand-written codebook does: same respondents, same answers, same findings (region aside: the test fills in
    one for every organisation)."""
    from survey_audit.stages.ingest import ingest_wave

    book, draft = wave2
    assert isinstance(yaml.safe_load(draft.codebook), dict)
    assert NO_MISSING in draft.codebook
    filled = draft.codebook.replace("region: TODO", "region: west").replace(
        NO_MISSING, 'missing: {"98": dont_know, "99": refused}'
    )
    path = tmp_path / "wave2.yaml"
    path.write_text(filled, encoding="utf-8")
    loaded = load_codebook(path, load_variables(VARIABLES), wave="wave2")
    assert set(loaded.mappings) == set(book.mappings)
    runs = {}
    for name, codebook in (("draft", path), ("hand", WAVE2_CODEBOOK)):
        out = tmp_path / name
        ingest_wave(
            raw=str(WAVE2_RAW),
            codebook=str(codebook),
            variables=str(VARIABLES),
            wave="wave2",
            cleaning_defaults={},
            respondents_out=out / "respondents.parquet",
            findings_out=out / "findings.csv",
            summary_out=out / "summary.json",
        )
        runs[name] = out
    drafted, hand = (pd.read_parquet(runs[n] / "respondents.parquet") for n in ("draft", "hand"))
    pd.testing.assert_frame_equal(drafted.drop(columns="region"), hand.drop(columns="region"))
    assert (runs["draft"] / "findings.csv").read_bytes() == (runs["hand"] / "findings.csv").read_bytes()


@pytest.fixture
def small_sav(tmp_path):
    """An SPSS file with variable labels and value labels, as a statistical package exports a wave."""
    pyreadstat = pytest.importorskip("pyreadstat")
    frame = pd.DataFrame(
        {
            "case_id": ["K7Q2", "M3X9", "P8W4", "T2Z6", "B5N1", "H9R3"],
            "agency": [1, 1, 2, 2, 3, 3],
            "sex": [1, 2, 1, 1, 98, 2],
            "cellphone": [1, 2, 98, 1, 1, 2],
            "age_now": [19, 23, 31, 27, 98, 22],
            "email": ["k.person@example.org", "", "p.person@example.org", "", "", "h.person@example.org"],
            "remarks": ["it was hard to leave", "", "they helped me a lot", "", "", ""],
        }
    )
    path = tmp_path / "wave3.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        column_labels={
            "case_id": "Participant code",
            "agency": "Recruiting organisation",
            "sex": "Gender identity",
            "cellphone": "Had a cell phone while in the life",
            "age_now": "Age at the time of the survey",
            "email": "Contact e-mail",
            "remarks": "Anything else you want to say",
        },
        variable_value_labels={
            "agency": {1: "North shelter", 2: "South outreach", 3: "East clinic"},
            "sex": {1: "Female", 2: "Male", 98: "Don't know"},
            "cellphone": {1: "Yes", 2: "No", 98: "Don't know"},
            "age_now": {98: "Don't know"},
        },
    )
    return path, frame


def test_sav_codes_come_from_the_value_labels(small_sav, variables, tmp_path):
    path, frame = small_sav
    draft = draft_codebook(path, "wave3", variables)
    book = yaml.safe_load(draft.codebook)
    assert book["file"]["layout"] == "plain"
    assert book["respondent_id"] == "case_id"
    assert book["organisation"]["column"] == "agency"
    assert set(book["organisation"]["codes"]) == {"1", "2", "3"}
    assert "# North shelter" in draft.codebook  # the organisations' labels, for the analyst
    assert book["variables"]["gender"] == {"column": "sex", "codes": {"1": "female", "2": "male"}}
    assert book["variables"]["had_cell_phone"] == {"column": "cellphone", "codes": {"1": "yes", "2": "no"}}
    assert book["variables"]["age_at_survey"] == {"column": "age_now"}
    assert book["variables"]["final_comments"] == {"column": "remarks"}
    assert book["missing"] == {"98": "dont_know"}  # "Don't know" in every labelled column
    assert book["drop"] == {"email": "contact"}
    # The labelled codes need no review; the e-mail column's drop is confident too (its values are addresses).
    assert draft.review == 0
    text = outputs(draft)
    for column in ("case_id", "email", "remarks"):
        assert not [v for v in frame[column] if v and v in text], column
    path_out = tmp_path / "wave3.yaml"
    path_out.write_text(draft.codebook.replace("region: TODO", "region: west"), encoding="utf-8")
    loaded = load_codebook(path_out, variables, wave="wave3")
    assert loaded.mappings["gender"].codes == {"1": "female", "2": "male"}
    assert loaded.missing == {"98": "dont_know"}


def test_unlabelled_and_unmatched_proposals_are_marked_todo(tmp_path, variables):
    raw = tmp_path / "export.csv"
    rows = [f"R{i:03d},{i % 2 + 1},{1 + i % 3},{i % 4}" for i in range(60)]
    raw.write_text("respondent,org,gender,mystery\n" + "\n".join(rows) + "\n", encoding="utf-8")
    draft = draft_codebook(raw, "wave3", variables)
    lines = draft.codebook.splitlines()
    gender = lines.index("  gender:  # score 0.50 (text 0.00, name 1.00, answers 1.00)")
    assert lines[gender + 1].startswith("    # TODO: the export has no value labels")
    assert "  mystery: unused  # TODO: review" in lines
    assert draft.review == 2 and draft.dropped == 0


def test_unresolved_codes_and_options_are_placeholders_the_codebook_refuses(tmp_path, variables):
    """A code or option the draft cannot name is written as TODO, so the codebook cannot load unreviewed."""
    raw = tmp_path / "export.csv"
    header = "pid,org,consent,adv_1,adv_7"
    texts = "Participant code,Organisation,Consent to take part"
    texts += ",Where the respondent was advertised or sold - Online,Where the respondent was advertised or sold - Radio"
    rows = [f"P{i:02d},{i % 2 + 1},{'Yes' if i % 3 else 'Maybe'},1,{'1' if i % 2 else ''}" for i in range(12)]
    imports = ",".join(['"{""ImportId"":""QID1""}"'] * 5)
    raw.write_text("\n".join([header, texts, imports, *rows]) + "\n", encoding="utf-8")
    draft = draft_codebook(raw, "wave3", variables)
    book = yaml.safe_load(draft.codebook)
    assert book["variables"]["consent"]["codes"] == {"Yes": "yes", "Maybe": "TODO"}
    assert book["variables"]["advertised"]["columns"] == {"adv_1": "online", "adv_7": "TODO"}
    path = tmp_path / "wave3.yaml"
    path.write_text(draft.codebook.replace("region: TODO", "region: west"), encoding="utf-8")
    with pytest.raises(ConfigError, match="TODO"):
        load_codebook(path, variables)


def test_cli_writes_the_description_and_the_draft_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "variables.yaml").write_bytes(VARIABLES.read_bytes())
    monkeypatch.chdir(project)
    assert main(["new-wave", "wave3", str(WAVE2_RAW)]) == 0
    out = capsys.readouterr().out
    codebook = project / "config" / "codebooks" / "wave3.yaml"
    described = project / "results" / "new-wave" / "wave3.columns.csv"
    assert codebook.is_file() and described.is_file()
    assert "draft codebook written to config/codebooks/wave3.yaml" in out
    assert "left for review" in out
    first = codebook.read_bytes()

    codebook.write_text("# the analyst's edits\n", encoding="utf-8")
    assert main(["new-wave", "wave3", str(WAVE2_RAW)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert codebook.read_text(encoding="utf-8") == "# the analyst's edits\n"

    assert main(["new-wave", "wave3", str(WAVE2_RAW), "--force"]) == 0
    assert codebook.read_bytes() == first  # the same export drafts the same bytes


def test_cli_paths_and_bad_wave_id(tmp_path, capsys):
    out_book, out_csv = tmp_path / "drafts" / "w.yaml", tmp_path / "w.csv"
    args = ["new-wave", "w3", str(WAVE2_RAW), "--variables", str(VARIABLES)]
    assert main([*args, "--codebook-out", str(out_book), "--describe-out", str(out_csv)]) == 0
    assert yaml.safe_load(out_book.read_text(encoding="utf-8"))["wave"] == "w3"
    assert pd.read_csv(out_csv)["column"].tolist() == read_raw(WAVE2_RAW).columns
    capsys.readouterr()
    for wave in ("../w3", "pooled", "wave-3"):  # a path, a reserved scope, a comparison's separator
        assert main(["new-wave", wave, str(WAVE2_RAW), "--variables", str(VARIABLES)]) == 2
        assert f"'{wave}' is not a usable wave id" in capsys.readouterr().err
