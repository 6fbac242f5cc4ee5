"""The project's claim registry: every claim of ``derivations/`` registered into the checker's
registry (``dlmath_verify.registry``), plus the loader and the generated claims table.

This module imports sympy and the checker's registry only: ``derivations/`` never imports
``impl/``.
"""

from __future__ import annotations

import importlib
import pkgutil

from dlmath_verify.registry import REGISTRY, Claim, Evidence, Verdict, claim

__all__ = ["REGISTRY", "Claim", "Evidence", "Verdict", "claim", "load_all", "markdown_table"]


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
