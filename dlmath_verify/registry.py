"""The claim registry: every analytic result a suite checks, in one place.

A claim is a stable id (``softmax.jacobian``), its source (for this project: seed file name and
problem), a one-line statement, and optionally a function returning the sympy object that
encodes it (rendered with ``sympy.latex``, never retyped).

Verdicts (DESIGN.md, "Verdicts mean exactly what they say"):

* ``"refuted"``: false *as written*, with an exact counterexample; registered with
  ``corrected_by=<id of the corrected claim>``. If the claim declares ``witnesses``, one of
  them is ``"symbolic"``, ``"implementation"`` or ``"autograd"`` (a witness that computes the
  counterexample, e.g. an exact gradient support); an experiment that fails to reproduce
  refutes nothing.
* ``"not-reproduced"``: an experiment that does not reproduce at this scale, registered with
  ``evidence=Evidence(ours=..., seed=..., figures=...)``: our setting, the seed's setting and
  the figures measured.
* ``"reading-dependent"``: a statement with more than one reading, registered with
  ``readings=((reading, verdict), ...)``: each reading with its own verdict, at least two
  different verdicts. A reading is either one the seed itself makes, written
  ``"seed (<where>): ..."``, or ours, written ``"our reading: ..."``; never a reading
  attributed to the seed that it did not make.

This module needs sympy only; it is the part of the checker that a project's own
``derivations`` package registers its claims into.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sympy as sp

__all__ = ["COUNTEREXAMPLE_KINDS", "READING_VERDICTS", "REGISTRY", "VERDICTS", "WITNESS_KINDS",
           "Claim", "Evidence", "Verdict", "claim"]

Verdict = Literal["holds", "refuted", "not-reproduced", "reading-dependent"]
VERDICTS: tuple[str, ...] = ("holds", "refuted", "not-reproduced", "reading-dependent")

# The verdict a single reading of a reading-dependent statement can have.
READING_VERDICTS: tuple[str, ...] = ("holds", "refuted", "not-reproduced")
# How a reading names whose it is: the seed's own (with where the seed makes it) or ours.
_READING_OWNER = re.compile(r"^(seed \([^)]+\)|our reading): \S")
# Witness kinds that produce an exact counterexample (what "refuted" needs).
COUNTEREXAMPLE_KINDS: tuple[str, ...] = ("symbolic", "implementation", "autograd")

# The kinds of witness a test can be (``@pytest.mark.claim(id, kind=...)``) and a claim can
# require (``claim(..., witnesses=(...))``).
WITNESS_KINDS: tuple[str, ...] = ("symbolic", "implementation", "autograd", "experiment")


@dataclass(frozen=True)
class Evidence:
    """Why an experiment is ``not-reproduced``: our setting, the seed's, and what we measured."""

    ours: str
    seed: str
    figures: str

    def __post_init__(self) -> None:
        for name in ("ours", "seed", "figures"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"Evidence.{name} must be a non-empty string, got {value!r}")

    def __str__(self) -> str:
        return f"ours: {self.ours}; seed: {self.seed}; figures: {self.figures}"


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    statement: str
    formula: Callable[[], sp.Basic] | None = None
    verdict: Verdict = "holds"
    corrected_by: str | None = None
    witnesses: tuple[str, ...] | None = None
    evidence: Evidence | None = None
    readings: tuple[tuple[str, str], ...] | None = None

    def latex(self) -> str:
        """The claim's formula rendered by sympy (empty where the claim is not a formula)."""
        return sp.latex(self.formula()) if self.formula is not None else ""


REGISTRY: dict[str, Claim] = {}


def claim(
    id: str,
    *,
    source: str,
    statement: str,
    formula: Callable[[], sp.Basic] | None = None,
    verdict: Verdict = "holds",
    corrected_by: str | None = None,
    witnesses: tuple[str, ...] | None = None,
    evidence: Evidence | None = None,
    readings: tuple[tuple[str, str], ...] | None = None,
) -> Claim:
    """Register a claim and return it. Ids are unique; a second registration is an error."""
    if id in REGISTRY:
        raise ValueError(f"claim id {id!r} is registered twice")
    if "." not in id:
        raise ValueError(f"claim id {id!r} must be '<topic>.<name>'")
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    if witnesses is not None:
        witnesses = tuple(witnesses)
        unknown = [k for k in witnesses if k not in WITNESS_KINDS]
        if unknown or not witnesses:
            raise ValueError(f"claim {id!r}: witnesses must be a non-empty tuple of "
                             f"{WITNESS_KINDS}, got {witnesses!r}")
    if verdict == "refuted" and corrected_by is None:
        raise ValueError(f"refuted claim {id!r} must name the claim that corrects it")
    if verdict != "refuted" and corrected_by is not None:
        raise ValueError(f"claim {id!r}: corrected_by belongs to a refuted claim, not to a "
                         f"{verdict!r} one")
    if verdict == "refuted" and witnesses is not None and not set(witnesses) & set(
            COUNTEREXAMPLE_KINDS):
        raise ValueError(f"refuted claim {id!r} needs a witness that produces an exact "
                         f"counterexample ({' or '.join(COUNTEREXAMPLE_KINDS)}), got "
                         f"{witnesses!r}; an experiment that does not reproduce is "
                         f"'not-reproduced'")
    if (verdict == "not-reproduced") != (evidence is not None):
        raise ValueError(f"claim {id!r}: evidence= (our setting, the seed's, the figures) is "
                         f"required for a 'not-reproduced' verdict and only for it")
    if evidence is not None and not isinstance(evidence, Evidence):
        raise TypeError(f"claim {id!r}: evidence must be an Evidence(ours=, seed=, figures=), "
                        f"got {type(evidence).__name__}")
    if (verdict == "reading-dependent") != (readings is not None):
        raise ValueError(f"claim {id!r}: readings= (each reading with its verdict) is required "
                         f"for a 'reading-dependent' verdict and only for it")
    if readings is not None:
        readings = _check_readings(id, readings)
    c = Claim(id, source, statement, formula, verdict, corrected_by, witnesses, evidence,
              readings)
    REGISTRY[id] = c
    return c


def _check_readings(id: str, readings: object) -> tuple[tuple[str, str], ...]:
    """Each reading is (text, verdict), the text says whose reading it is, ≥ 2 verdicts differ."""
    try:
        pairs = tuple((r, v) for r, v in readings)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError(f"claim {id!r}: readings must be a tuple of (reading, verdict) pairs, "
                        f"got {readings!r}") from None
    for text, verdict in pairs:
        if not isinstance(text, str) or not _READING_OWNER.match(text):
            raise ValueError(f"claim {id!r}: reading {text!r} must say whose it is: "
                             f"'seed (<where the seed makes it>): ...' or 'our reading: ...'")
        if verdict not in READING_VERDICTS:
            raise ValueError(f"claim {id!r}: the verdict of reading {text!r} must be one of "
                             f"{READING_VERDICTS}, got {verdict!r}")
    if len({v for _, v in pairs}) < 2:
        raise ValueError(f"claim {id!r}: a reading-dependent claim needs readings with "
                         f"different verdicts, got {pairs!r}")
    return pairs
