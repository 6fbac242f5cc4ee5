"""The claim registry: every analytic result a suite checks, in one place.

A claim is a stable id (``softmax.jacobian``), its source (for this project: seed file name and
problem), a one-line statement, and optionally a function returning the sympy object that
encodes it (rendered with ``sympy.latex``, never retyped).

A claim that a source makes and that is false *as written* is registered with
``verdict="refuted"`` and ``corrected_by=<id of the corrected claim>``.

This module needs sympy only; it is the part of the checker that a project's own
``derivations`` package registers its claims into.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sympy as sp

__all__ = ["REGISTRY", "VERDICTS", "WITNESS_KINDS", "Claim", "Verdict", "claim"]

Verdict = Literal["holds", "refuted", "not-reproduced", "reading-dependent"]
VERDICTS: tuple[str, ...] = ("holds", "refuted", "not-reproduced", "reading-dependent")

# The kinds of witness a test can be (``@pytest.mark.claim(id, kind=...)``) and a claim can
# require (``claim(..., witnesses=(...))``).
WITNESS_KINDS: tuple[str, ...] = ("symbolic", "implementation", "autograd", "experiment")


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    statement: str
    formula: Callable[[], sp.Basic] | None = None
    verdict: Verdict = "holds"
    corrected_by: str | None = None
    witnesses: tuple[str, ...] | None = None

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
    c = Claim(id, source, statement, formula, verdict, corrected_by, witnesses)
    REGISTRY[id] = c
    return c
