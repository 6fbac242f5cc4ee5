"""The registry is consistent: every claim has a test of each witness kind it requires, every
claim marker declares its kind, and README.md shows the current table."""

from __future__ import annotations

import importlib
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest
import sympy as sp

from derivations import ops as O
from derivations.registry import REGISTRY
from dlmath_verify.registry import WITNESS_KINDS

ROOT = Path(__file__).resolve().parent.parent


def _claim_marks(marks) -> list[tuple[tuple[str, ...], object]]:
    """(claim ids, kind) of every claim mark in a list of marks, including those on
    ``pytest.param(..., marks=...)`` values of a ``parametrize`` mark."""
    found = []
    for mark in marks:
        if mark.name == "claim":
            found.append((mark.args, mark.kwargs.get("kind")))
        elif mark.name == "parametrize":
            for value in mark.args[1]:
                found.extend(_claim_marks(getattr(value, "marks", ())))
    return found


def _kinds(kind) -> tuple:
    return (kind,) if isinstance(kind, str) else tuple(kind or ())


@cache
def witnesses() -> dict[str, dict[str, list[str]]]:
    """claim id → witness kind → the tests marked with it, read from the marks pytest itself
    uses (so a marker written as ``claim(*ids)`` counts), over every ``tests/test_*.py``."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for test, ids, kind in _marked_tests():
        for claim_id in ids:
            for k in _kinds(kind):
                found[claim_id][k].append(test)
    return found


@cache
def _marked_tests() -> list[tuple[str, tuple[str, ...], object]]:
    out = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, obj in vars(module).items():
            if name.startswith("test") and callable(obj):
                for ids, kind in _claim_marks(getattr(obj, "pytestmark", ())):
                    out.append((f"{path.name}::{name}", ids, kind))
    return out


@pytest.mark.parametrize("claim_id", sorted(REGISTRY))
def test_every_registered_claim_has_a_test_of_each_witness_kind_it_requires(claim_id):
    """A claim with no test of a kind it requires could never be verified (the plugin makes
    this a usage error at collection too); a claim that requires nothing would be a stub."""
    required = REGISTRY[claim_id].witnesses
    assert required, f"claim {claim_id} declares no witnesses=(...)"
    missing = [k for k in required if not witnesses().get(claim_id, {}).get(k)]
    assert not missing, (f"claim {claim_id} requires witness kind(s) {missing}, but no test is "
                         f"marked @pytest.mark.claim({claim_id!r}, kind=...) with them")


def test_every_claim_marker_declares_valid_witness_kinds():
    bad = [(test, ids, kind) for test, ids, kind in _marked_tests()
           if not _kinds(kind) or any(k not in WITNESS_KINDS for k in _kinds(kind))]
    assert not bad, f"claim markers without a valid kind=: {bad}"


def test_refuted_claims_name_a_corrected_claim_that_holds():
    for c in REGISTRY.values():
        if c.verdict == "refuted":
            assert REGISTRY[c.corrected_by].verdict == "holds", (
                f"{c.id} is corrected by {c.corrected_by}, which is not a claim that holds")


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


@pytest.mark.slow
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


# ------------------------------------------------------------------ the tiers (tests/tiers.py)


def test_the_quick_tier_must_keep_a_witness_of_every_kind_ci_has():
    from tests.tiers import quick_tier_gaps

    required = {"demo.a": ("symbolic", "autograd"), "demo.b": ("implementation",)}
    items = [("t::sym", "slow", {"demo.a": ("symbolic",)}),
             ("t::auto", "quick", {"demo.a": ("autograd",)}),
             ("t::impl", "nightly", {"demo.b": ("implementation",)}),  # CI never has it
             ("t::extra", "slow", {"demo.b": ("autograd",)})]  # a kind demo.b does not require
    (gap,) = quick_tier_gaps(items, required)
    assert gap.startswith("claim demo.a: its symbolic witnesses are all marked slow (t::sym)")
    items.append(("t::sym_small", "quick", {"demo.a": ("symbolic",)}))
    assert quick_tier_gaps(items, required) == []


def test_slow_except_marks_all_but_the_quick_cases_and_refuses_unknown_ones():
    from tests.tiers import slow_except

    params = slow_except(["a", "b", "c"], ["b"])
    assert params[1] == "b"
    assert [m.name for p in (params[0], params[2]) for m in p.marks] == ["slow", "slow"]
    with pytest.raises(ValueError, match=r"\['z'\] are not among the values"):
        slow_except(["a"], ["z"])
