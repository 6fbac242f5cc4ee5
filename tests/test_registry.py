"""The registry is consistent: every claim has a witness, and README.md shows the current table."""

from __future__ import annotations

import importlib
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest
import sympy as sp

from derivations import ops as O
from derivations.registry import REGISTRY, markdown_table

ROOT = Path(__file__).resolve().parent.parent


def _claim_marks(marks) -> list[str]:
    """Claim ids in a list of marks, including those on ``pytest.param(..., marks=...)``
    values of a ``parametrize`` mark."""
    ids = []
    for mark in marks:
        if mark.name == "claim":
            ids.extend(mark.args)
        elif mark.name == "parametrize":
            for value in mark.args[1]:
                ids.extend(_claim_marks(getattr(value, "marks", ())))
    return ids


@cache
def witnesses() -> dict[str, list[str]]:
    """claim id → the tests marked with it, read from the marks pytest itself uses (so a
    marker written as ``claim(*ids)`` counts), over every ``tests/test_*.py``."""
    found = defaultdict(list)
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, obj in vars(module).items():
            if name.startswith("test") and callable(obj):
                for claim_id in _claim_marks(getattr(obj, "pytestmark", ())):
                    found[claim_id].append(f"{path.name}::{name}")
    return found


@pytest.mark.parametrize("claim_id", sorted(REGISTRY))
def test_every_registered_claim_is_named_by_a_test(claim_id):
    """A claim with no test marked ``@pytest.mark.claim(<id>)`` would be a stub called done."""
    assert witnesses().get(claim_id), (
        f"claim {claim_id} is registered but no test is marked with it")


def test_refuted_claims_name_a_corrected_claim_that_holds():
    for c in REGISTRY.values():
        if c.verdict == "refuted":
            assert REGISTRY[c.corrected_by].verdict == "holds", (
                f"{c.id} is corrected by {c.corrected_by}, which is not a claim that holds")


def test_readme_claims_table_is_the_registry():
    """README.md carries ``python -m derivations`` output between the claims markers."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- claims:start -->\n(.*?)\n<!-- claims:end -->", readme, re.S)
    assert match, "README.md has no <!-- claims:start --> … <!-- claims:end --> block"
    assert match.group(1).strip() == markdown_table().strip(), (
        "README.md's claims table is stale: regenerate it with `python -m derivations`")


@pytest.mark.parametrize("claim_id", sorted(REGISTRY))
def test_every_registered_formula_renders_with_sympy_latex(claim_id):
    """Claim.latex() (the claims table's formula column) runs for every claim: a formula that
    sympy cannot print would break the table."""
    c = REGISTRY[claim_id]
    text = c.latex()
    assert (text != "") == (c.formula is not None), f"{claim_id}: rendered {text!r}"


def _as_matrices(formula_eqs, names: dict) -> list:
    """Substitute the builder's explicit matrices for the formula's matrix symbols (by name)
    and evaluate both sides of each equation."""
    out = []
    for eq in formula_eqs:
        syms = {s: names[s.name] for s in eq.atoms(sp.MatrixSymbol) if s.name in names}
        out.append((eq.lhs, sp.ImmutableMatrix(eq.rhs.xreplace(syms).doit())))
    return out


@pytest.mark.parametrize("sizes", [(1, 1, 1), (2, 3, 1), (2, 3, 4)])
def test_rendered_matmul_formula_is_the_closed_form_the_tests_prove(sizes):
    """ops.matmul_gradient renders ∇X = ∇Y Wᵀ and ∇W = Xᵀ∇Y from non-commutative matrix
    symbols; with the builder's matrices substituted they are its closed forms, in order."""
    n, f, m = sizes
    names = {"X": O.matrix("x", n, f), "W": O.matrix("w", f, m), r"\nabla Y": O.matrix("u", n, m)}
    rendered = _as_matrices(O.matmul_formula(n, f, m), names)
    for (_, rhs), (_, closed) in zip(rendered, O.matmul_gradient(n, f, m), strict=True):
        assert rhs == closed, f"rendered {rhs} != builder {closed}"
    assert r"\nabla Y W^{T}" in REGISTRY["ops.matmul_gradient"].latex()


@pytest.mark.parametrize("sizes", [(1, 1), (2, 1), (1, 2), (2, 3)])
def test_rendered_residual_block_formula_is_the_closed_form_the_tests_prove(sizes):
    batch, width = sizes
    parts = O.residual_block_parts(batch, width)
    names = {"H_1": parts["h"], "W": parts["w"], r"\nabla H_2": parts["u"],
             r"\sigma'(A)": parts["sigma_prime"], r"\mathbf{1}": sp.ones(batch, 1)}
    rendered = _as_matrices(O.residual_block_formula(batch, width), names)
    for (_, rhs), (_, closed) in zip(rendered, O.residual_block_gradient(batch, width),
                                     strict=True):
        assert rhs == closed, f"rendered {rhs} != builder {closed}"
    assert r"\right) W^{T} + \nabla H_{2}" in REGISTRY["ops.residual_block_gradient"].latex()
