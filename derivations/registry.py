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


def _verdict(c: Claim) -> str:
    text = c.verdict
    if c.corrected_by is not None:
        text += f" → `{c.corrected_by}`"
    readings = getattr(c, "readings", None)
    if readings:
        text += "<br>" + "<br>".join(f"{_cell(r)}: {v}" for r, v in readings)
    evidence = getattr(c, "evidence", None)
    if evidence:
        text += (f"<br>our setting: {_cell(evidence.ours)}<br>the seed's: {_cell(evidence.seed)}"
                 f"<br>measured: {_cell(evidence.figures)}")
    return text


def markdown_table(topics: tuple[str, ...] = ()) -> str:
    """The claims catalogue, generated from the registry (``python -m derivations``).

    One table per topic (the part of the id before the dot): id, statement, the formula as
    GitHub-renderable LaTeX, the witness kinds the claim requires, its verdict (with the claim
    that corrects a refuted one), and its source. ``topics`` keeps the topics whose name
    starts with one of the given prefixes.
    """
    claims = sorted(load_all().values(), key=lambda c: c.id)
    if topics:
        claims = [c for c in claims if c.id.startswith(tuple(topics))]
    out: list[str] = []
    topic = None
    for c in claims:
        t = c.id.split(".", 1)[0]
        if t != topic:
            topic = t
            out += ["", f"## {t}", "",
                    "| claim | statement | formula | witnesses | verdict | source |",
                    "|---|---|---|---|---|---|"]
        formula = f"${_cell(c.latex())}$" if c.formula is not None else ""
        kinds = ", ".join(c.witnesses) if c.witnesses else ""
        out.append(f"| `{c.id}` | {_cell(c.statement)} | {formula} | {kinds} | {_verdict(c)} "
                   f"| {_cell(c.source)} |")
    return "\n".join(out).strip("\n")


CATALOGUE_HEADER = """# Claims catalogue

Generated from the registry by `python -m derivations --write docs/claims.md`; do not edit by
hand (`tests/test_docs.py` fails while it is stale). Each claim's source names the homework
write-up and problem it comes from ([sources](sources.md)). *witnesses* are the kinds of
witness the claim requires before a run may call it `verified`; *verdict* is what the claim is
registered as: `holds`, `refuted` (false as written, with the claim that corrects it),
`not-reproduced` or `reading-dependent`. What a particular run found is printed at the end of
that run (see the README, "Reading a run").
"""


def catalogue() -> str:
    """The whole of ``docs/claims.md``."""
    return CATALOGUE_HEADER + "\n" + markdown_table() + "\n"
