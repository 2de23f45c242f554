"""Model formulas in R's notation, parsed without data: the response and main-effect terms of ``"y ~ x +
factor(g) + relevel(h, ref = "no")"`` (what is accepted is described in :mod:`survey_audit.stats.models`, which
turns a formula into a model matrix). A module of its own, light to import: the configuration layer checks the
formulas of table specifications while the workflow is parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DesignError

_NAME = r"(?:`[^`]+`|[A-Za-z_.][A-Za-z0-9_.]*)"
_TERM = re.compile(
    rf"""^(?:factor\(\s*(?P<factor>{_NAME})\s*\)"""
    rf"""|relevel\(\s*(?P<relevel>{_NAME})\s*,\s*(?:ref\s*=\s*)?(?P<ref>"[^"]*"|'[^']*')\s*\)"""
    rf"""|(?P<plain>{_NAME}))$"""
)


@dataclass(frozen=True)
class Term:
    """A term of a formula: a column, whether it is forced to be categorical (``factor()``, ``relevel()``), and
    the reference level ``relevel()`` names."""

    column: str
    factor: bool = False
    ref: str | None = None

    @property
    def label(self) -> str:
        """R's term label (``attr(terms(f), "term.labels")``), which prefixes its coefficients' names."""
        if self.ref is not None:
            return f'relevel({self.column}, ref = "{self.ref}")'
        return f"factor({self.column})" if self.factor else self.column


@dataclass(frozen=True)
class Formula:
    """A parsed model formula: the response and the terms."""

    text: str
    response: str
    terms: tuple[Term, ...]

    @property
    def labels(self) -> list[str]:
        """R's term labels."""
        return [t.label for t in self.terms]


def parse_formula(text: str) -> Formula:
    """Parse ``"y ~ x + factor(g) + z"`` (see the module docstring for what is accepted)."""
    if not isinstance(text, str) or text.count("~") != 1:
        raise DesignError(
            "the model formula needs one '~' between the outcome and the terms", value=text, expected="y ~ x + z"
        )
    lhs, rhs = (part.strip() for part in text.split("~"))

    def name_of(token: str) -> str:
        return token[1:-1] if token.startswith("`") else token

    if not re.fullmatch(_NAME, lhs):
        raise DesignError(
            "the outcome of the model formula must be one column name",
            value=lhs or "(nothing)",
            expected="a column, e.g. buyers_per_day ~ advertised_online",
            hint="derive a 0/1 or numeric column first (I() expressions are not supported)",
        )
    terms: list[Term] = []
    tokens = [t.strip() for t in rhs.split("+")]
    if tokens == ["1"]:
        return Formula(text, name_of(lhs), ())
    for token in tokens:
        if token == "1":
            continue
        m = _TERM.fullmatch(token)
        if m is None:
            raise DesignError(
                "a term of the model formula is not supported",
                value=token or "(empty term)",
                expected="main effects joined by '+': column names, factor(column) or relevel(column, ref = \"level\")",
                hint="interactions (':', '*'), I(), '-1' and transformations are not supported; derive a column",
            )
        if m["factor"]:
            term = Term(name_of(m["factor"]), factor=True)
        elif m["relevel"]:
            term = Term(name_of(m["relevel"]), factor=True, ref=m["ref"][1:-1])
        else:
            term = Term(name_of(m["plain"]))
        if term.column in [t.column for t in terms]:
            raise DesignError("a column appears in two terms of the model formula", value=token)
        terms.append(term)
    return Formula(text, name_of(lhs), tuple(terms))
