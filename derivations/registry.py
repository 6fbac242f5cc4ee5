"""The claim registry: every analytic result the suite checks, in one place.

A claim is a stable id (``softmax.jacobian``), its source in the seeds (file name and
problem), a one-line statement, and a function returning the sympy object that encodes it.
The report and the README's claims table render the statement from that sympy object
(``sympy.latex``), never from retyped text.

A claim that a seed makes and that is false *as written* is registered with
``verdict="refuted"`` and ``corrected_by=<id of the corrected claim>``; its tests demonstrate
the counterexample, and pass when the refutation holds.

This module imports sympy only: ``derivations/`` never imports ``impl/``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import sympy as sp

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


def load_all() -> dict[str, Claim]:
    """Import every module of ``derivations`` so that all claims are registered."""
    import derivations

    for mod in pkgutil.iter_modules(derivations.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"derivations.{mod.name}")
    for c in REGISTRY.values():
        if c.corrected_by is not None and c.corrected_by not in REGISTRY:
            raise ValueError(f"claim {c.id!r} is corrected by unknown claim {c.corrected_by!r}")
    return REGISTRY


def _cell(text: str) -> str:
    return text.replace("|", r"\vert ").replace("\n", " ")


def markdown_table() -> str:
    """The README's claims table, generated from the registry (``python -m derivations``)."""
    rows = [
        "| claim | statement | formula | verdict | source |",
        "|---|---|---|---|---|",
    ]
    for c in sorted(load_all().values(), key=lambda c: c.id):
        formula = f"${_cell(c.latex())}$" if c.formula is not None else ""
        verdict = c.verdict if c.corrected_by is None else f"{c.verdict} → `{c.corrected_by}`"
        rows.append(
            f"| `{c.id}` | {_cell(c.statement)} | {formula} | {verdict} | {_cell(c.source)} |"
        )
    return "\n".join(rows)
