"""The clean stage: a wave's harmonised respondents → the analysed respondents, with the cleaning log, the
quarantine (every excluded response with its rule and reason), the exclusion flow and every row-level action
(see :mod:`survey_audit.intake.cleaning` for the rules and their order).
"""

from __future__ import annotations

from .. import formats
from ..config.codebook import load_codebook
from ..config.variables import load_variables
from ..intake.cleaning import clean


def clean_wave(
    *,
    respondents: str,
    findings: str,
    codebook: str,
    variables: str,
    wave: str,
    cleaning_defaults: dict,
    analysed_out: str,
    log_out: str,
    quarantine_out: str,
    flow_out: str,
    actions_out: str,
) -> None:
    """Harmonised respondents → analysed respondents, with the cleaning log, quarantine and exclusion flow."""
    variable_set = load_variables(variables)
    book = load_codebook(codebook, variable_set, wave=wave, cleaning_defaults=cleaning_defaults)
    found = formats.read_csv(findings, dtype={"respondent_id": str, "variable": str, "column": str, "finding": str})
    result = clean(formats.read_parquet(respondents), found, book, variable_set)  # the harmonised frame goes here
    formats.write_parquet(result.analysed, analysed_out)
    formats.write_csv(result.log, log_out)
    formats.write_csv(result.quarantine, quarantine_out)
    formats.write_csv(result.flow, flow_out)
    formats.write_csv(result.actions, actions_out)
