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

__all__ = ["REGISTRY", "Claim", "Verdict", "claim"]

Verdict = Literal["holds", "refuted"]


@dataclass(frozen=True)
class Claim:
    id: str
    source: str
    statement: str
    formula: Callable[[], sp.Basic] | None = None
    verdict: Verdict = "holds"
    corrected_by: str | None = None

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
) -> Claim:
    """Register a claim and return it. Ids are unique; a second registration is an error."""
    if id in REGISTRY:
        raise ValueError(f"claim id {id!r} is registered twice")
    if "." not in id:
        raise ValueError(f"claim id {id!r} must be '<topic>.<name>'")
    if verdict not in ("holds", "refuted"):
        raise ValueError(f"verdict must be 'holds' or 'refuted', got {verdict!r}")
    if verdict == "refuted" and corrected_by is None:
        raise ValueError(f"refuted claim {id!r} must name the claim that corrects it")
    c = Claim(id, source, statement, formula, verdict, corrected_by)
    REGISTRY[id] = c
    return c
