"""The reverse-mode library of seed 003, three witnesses per op.

1. sympy (``derivations/ops.py``): the gradient sympy derives for L = Σ ∇Y ⊙ op(inputs)
   equals the seed's closed form, proven exactly for each drawn size;
2. the hand library (``impl/autodiff.py``: TensorNode, OpNode, Op and the ops), run as a
   graph and backpropagated, against that closed form lambdified at the drawn arrays;
3. torch autograd on the same expression, and the dot-product test (forward-mode JVP of the
   torch reference against the library's backward).

Seed: ``003_6e09f081ee206780.txt`` questions 1–10 (a vugrad assignment). The seed's Q4 ends
with "∇X = Σ_j ∇Y_j = ∇Y", which is false; it is recorded as refuted with a counterexample
and the corrected claim (the row sum) is proven. So is a slip in the middle of Q8.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from derivations import ops as D
from dlmath_verify.checks import assert_close, assert_vjp, record_counterexample, to_numpy
from dlmath_verify.strategies import arrays, distributions
from dlmath_verify.symbolic import prove_identity, refute_identity
from impl import autodiff as A
from impl.autodiff import TensorNode
from tests.tiers import refutation_settings

REFUTATION = refutation_settings()  # a claim false as written: tests/tiers.py

SEED = "003_6e09f081ee206780.txt"
SMALL = st.integers(1, 3)  # sympy sizes: rows/columns of the symbolic matrices


# --------------------------------------------------------------- 1. symbolic witness


def _apart(pairs, letters: str, distinct: bool) -> dict:
    """Substitutions x ↦ x + c/101 for the symbols whose name starts with one of ``letters``.

    The checker draws rationals with denominators ≤ 3, so x + 1/101 is never 0 (a divisor, a
    ReLU kink) and, with c the entry's column + 1, two entries of a row never tie (a unique
    row maximum): their difference would need a denominator of 101."""
    syms = set()
    for derived, closed in pairs:
        syms |= (derived - closed).free_symbols
    return {s: s + sp.Rational(int(s.name.split("_")[1]) + 1 if distinct else 1, 101)
            for s in syms if s.name[0] in letters}


@dataclass(frozen=True)
class Identity:
    """A claim's sympy builder, the sizes Hypothesis draws for it, special points."""

    claim: str
    builder: Callable[..., list]
    sizes: st.SearchStrategy[tuple[int, ...]]
    nonzero: str = ""  # symbols (by first letter) kept away from 0
    distinct: str = ""  # symbols (by first letter) kept pairwise distinct within a row
    points: int = 2  # exact rational points per example (1 where exp makes each one costly)
    heaviside_at_zero: Any = None  # the convention at a kink, for piecewise claims


def _two(rows=SMALL, cols=SMALL):
    return st.tuples(rows, cols)


IDENTITIES = [
    pytest.param(Identity("ops.add_gradient", D.add_gradient, _two()),
                 marks=pytest.mark.claim("ops.add_gradient", kind="symbolic"), id="add"),
    pytest.param(Identity("ops.subtract_gradient", D.subtract_gradient, _two()),
                 marks=pytest.mark.claim("ops.subtract_gradient", kind="symbolic"), id="subtract"),
    pytest.param(Identity("ops.multiply_gradient", D.multiply_gradient, _two()),
                 marks=pytest.mark.claim("ops.multiply_gradient", kind="symbolic"), id="multiply"),
    pytest.param(Identity("ops.divide_gradient", D.divide_gradient, _two(), nonzero="b"),
                 marks=pytest.mark.claim("ops.divide_gradient", kind="symbolic"), id="divide"),
    *[pytest.param(Identity("ops.elementwise_gradient",
                            lambda m, n, f=f: D.elementwise_gradient(f, m, n),
                            _two(st.integers(1, 2), st.integers(1, 2))),
                   marks=pytest.mark.claim("ops.elementwise_gradient",
                                           kind="symbolic"), id=f"elementwise-{f}")
      for f in D.ELEMENTWISE_FUNCTIONS],
    # proven by cases (x < 0, x = 0, x > 0); at the kink the library's convention ReLU'(0) = 0
    pytest.param(Identity("ops.relu_gradient", D.relu_gradient,
                          _two(st.integers(1, 2), st.integers(1, 2)), heaviside_at_zero=0),
                 marks=pytest.mark.claim("ops.relu_gradient", kind="symbolic"), id="relu"),
    pytest.param(Identity("ops.matmul_gradient", D.matmul_gradient,
                          st.tuples(SMALL, SMALL, SMALL)),
                 marks=pytest.mark.claim("ops.matmul_gradient", kind="symbolic"), id="matmul"),
    pytest.param(Identity("ops.expand_gradient", D.expand_gradient,
                          st.tuples(SMALL, st.sampled_from([1, 2, 3, 16]))),
                 marks=pytest.mark.claim("ops.expand_gradient", kind="symbolic"), id="expand"),
    pytest.param(Identity("ops.sum_gradient", D.sum_gradient, _two()),
                 marks=pytest.mark.claim("ops.sum_gradient", kind="symbolic"), id="sum"),
    pytest.param(Identity("ops.row_sum_gradient", D.row_sum_gradient, _two()),
                 marks=pytest.mark.claim("ops.row_sum_gradient", kind="symbolic"), id="row-sum"),
    # proven by cases over every order of a row's entries, ties included: with H(0) = 0
    # sympy's derivative is the strict-argmax indicator (0 for every tied entry); the
    # library's tie convention is the claim ops.row_max_ties
    pytest.param(Identity("ops.row_max_gradient", D.row_max_gradient,
                          _two(st.integers(1, 2), st.integers(1, 3)), heaviside_at_zero=0),
                 marks=pytest.mark.claim("ops.row_max_gradient", kind="symbolic"), id="row-max"),
    pytest.param(Identity("ops.normalize_gradient", D.normalize_gradient, _two()),
                 marks=pytest.mark.claim("ops.normalize_gradient",
                                         kind="symbolic"), id="normalize"),
    pytest.param(Identity("ops.log_softmax_gradient", D.log_softmax_gradient,
                          _two(st.integers(1, 2))),
                 marks=pytest.mark.claim("ops.log_softmax_gradient",
                                         kind="symbolic"), id="log-softmax"),
    pytest.param(Identity("ops.cross_entropy_gradient", D.cross_entropy_gradient,
                          _two(st.integers(1, 2), st.integers(2, 3))),
                 marks=pytest.mark.claim("ops.cross_entropy_gradient",
                                         kind="symbolic"), id="cross-entropy"),
    pytest.param(Identity("ops.gradient_accumulation", D.diamond_gradient,
                          _two(st.integers(1, 2), st.integers(1, 2))),
                 marks=pytest.mark.claim("ops.gradient_accumulation",
                                         kind="symbolic"), id="diamond"),
    pytest.param(Identity("ops.gradient_accumulation", D.self_add_gradient, _two()),
                 marks=pytest.mark.claim("ops.gradient_accumulation",
                                         kind="symbolic"), id="a-plus-a"),
    # batch 2 (∇b sums rows) or width 2 (W mixes units); both at once costs seconds per point
    pytest.param(Identity("ops.residual_block_gradient", D.residual_block_gradient,
                          st.sampled_from([(1, 1), (2, 1), (1, 2)]), points=1),
                 marks=pytest.mark.claim("ops.residual_block_gradient",
                                         kind="symbolic"), id="residual-block"),
]


@pytest.mark.parametrize("case", IDENTITIES)
@given(data=st.data())
def test_sympy_gradient_of_each_op_is_the_seeds_closed_form(case, data):
    """For L = Σ U ⊙ op(inputs), sympy's ∂L/∂input equals the closed form, for every input:
    e.g. seed Q1 ∇X = ∇Z ⊙ 1/Y, ∇Y = −∇Z ⊙ X/Y²; Q3 ∇X = ∇Y Wᵀ, ∇W = Xᵀ∇Y (``003_…`` Q1–10)."""
    sizes = data.draw(case.sizes, label="sizes")
    pairs = case.builder(*sizes)
    subs = _apart(pairs, case.nonzero, False) | _apart(pairs, case.distinct, True)
    for derived, closed in pairs:
        prove_identity(derived, closed, claim=case.claim, data=data, substitutions=subs,
                       points=case.points, heaviside_at_zero=case.heaviside_at_zero)


@pytest.mark.claim("ops.expand_gradient_as_written", kind="symbolic")
@REFUTATION
@given(n=SMALL, k=st.sampled_from([2, 3, 4, 16]), data=st.data())
def test_seed_q4_expand_gradient_equals_grad_y_is_false(n, k, data):
    r"""Seed Q4 ends "∇X = Σ_j ∇Y_j = ∇Y". For k ≥ 2 columns ∇Y is n×k and ∇x is n×1; read
    column by column (∇x broadcast to k columns against ∇Y) it is still false: sympy's ∇x is
    the row sum Σ_j ∇Y_{:, j} (claim ``ops.expand_gradient``, proven above)."""
    derived, written = D.expand_gradient_as_written(n, k)
    cex = refute_identity(derived, written, claim="ops.expand_gradient_as_written", data=data)
    record_counterexample("ops.expand_gradient_as_written", f"n={n}, k={k}: {cex}")


@pytest.mark.claim("ops.expand_gradient_as_written", "ops.expand_gradient", kind="autograd")
def test_seed_q4_with_sixteen_columns_autograd_gives_sixteen_not_one():
    """The seed's own setting, 16 identical columns, with ∇Y = 1: autograd (an independent
    witness) gives ∇x = 16 per entry, the row sum, where "∇X = ∇Y" would give 1."""
    x = torch.zeros(3, 1, requires_grad=True)
    (grad,) = torch.autograd.grad(x.expand(3, 16), x, torch.ones(3, 16))
    assert_close(grad, torch.full((3, 1), 16.0), claim="ops.expand_gradient",
                 what="autograd of expand to 16 columns")
    node = TensorNode(np.zeros((3, 1)))
    A.Expand.do_forward(node, repeats=16).backward(np.ones((3, 16)))
    assert_close(node.grad, grad, claim="ops.expand_gradient", what="library vs autograd")
    assert not np.array_equal(node.grad, np.ones((3, 1))), "the seed's '= ∇Y' would give 1"


@pytest.mark.claim("ops.normalize_intermediate_as_written", kind="symbolic")
@REFUTATION
@given(m=SMALL, n=SMALL, data=st.data())
def test_seed_q8_middle_step_has_one_over_s_squared_where_one_over_s_belongs(m, n, data):
    """Seed Q8, second line: "… + ∇y_ij · 1/(Σ_j x_ij)²"; the correct term is ∇y_ij/Σ_j x_ij
    (the seed's third line and final formula have it right: ``ops.normalize_gradient``)."""
    derived, written = D.normalize_intermediate_as_written(m, n)
    cex = refute_identity(derived, written, claim="ops.normalize_intermediate_as_written",
                          data=data)
    record_counterexample("ops.normalize_intermediate_as_written", f"m={m}, n={n}: {cex}")


@pytest.mark.claim("ops.relu_gradient", kind="autograd")
def test_relu_kink_convention_zero_is_a_subgradient_and_matches_torch():
    """At x = 0 max(x, 0) has one-sided derivatives 0 (left) and 1 (right), by sympy's
    ``limit``; the library's 0 (the seed's ``np.where(input > 0, 1, 0)``) lies in [0, 1], and
    torch's relu uses the same value."""
    left, right = D.relu_one_sided_derivatives()
    assert (left, right) == (0, 1), f"one-sided derivatives at 0: {left}, {right}"
    x = TensorNode(np.array([[-1.0, 0.0, 2.0]]))
    A.ReLU.do_forward(x).backward(np.ones((1, 3)))
    xt = torch.tensor([[-1.0, 0.0, 2.0]], requires_grad=True)
    (torch_grad,) = torch.autograd.grad(torch.relu(xt).sum(), xt)
    assert left <= x.grad[0, 1] <= right
    assert_close(x.grad, torch_grad, claim="ops.relu_gradient", what="kink convention vs torch")
    assert_close(x.grad, np.array([[0.0, 0.0, 1.0]]), claim="ops.relu_gradient",
                 what="[x > 0]")


# ----------------------------------------------------- tie and kink conventions (drawn)


@st.composite
def tied_rows(draw) -> np.ndarray:
    """An (m, n) matrix of small integers (ties are common), with the maximum of one drawn row
    copied to a second position, so that every example has at least one tied maximum."""
    m, n = draw(st.integers(1, 4), label="m"), draw(st.integers(2, 6), label="n")
    x = np.array(draw(st.lists(st.lists(st.integers(-2, 2), min_size=n, max_size=n),
                               min_size=m, max_size=m)), dtype=np.float64)
    i = draw(st.integers(0, m - 1), label="tied row")
    j = draw(st.sampled_from([c for c in range(n) if c != int(np.argmax(x[i]))]), label="copy")
    x[i, j] = x[i].max()
    return x


def first_maximal_entry(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The reference for the tie rule, by a loop: row i's u_i on the first j with x_ij = max."""
    out = np.zeros_like(x)
    for i, row in enumerate(x):
        top = max(row)
        out[i, next(j for j, v in enumerate(row) if v == top)] = u[i, 0]
    return out


@pytest.mark.claim("ops.row_max_ties", kind="symbolic")
@given(n=st.integers(1, 3), data=st.data())
def test_row_max_first_maximal_entry_rule_is_a_subgradient_by_cases(n, data):
    """The rule "all of ∇y_i to the first maximal entry" sums to ∇y_i and vanishes off the
    maximal entries, on every region of every order of the row, ties included."""
    for lhs, rhs in D.row_max_first_argmax(n):
        prove_identity(lhs, rhs, claim="ops.row_max_ties", data=data)


@pytest.mark.conventions  # which maximal entry gets a tied row's gradient (docs/proofs.md)
@pytest.mark.claim("ops.row_max_ties", kind=("implementation", "autograd"))
@given(x=tied_rows(), data=st.data())
def test_row_max_sends_a_tied_rows_gradient_to_its_first_maximal_entry_as_torch_max(x, data):
    """With ties drawn: the library's RowMax backward = the loop reference = autograd of
    ``torch.max(x, dim=1)`` (which returns the first maximal index); ``torch.amax`` splits
    ∇y_i evenly over the tied entries instead (the other common convention)."""
    u = data.draw(arrays((x.shape[0], 1), min_value=0.5, max_value=3), label="u")
    node = TensorNode(x)
    A.RowMax.do_forward(node).backward(u)
    assert_close(node.grad, first_maximal_entry(x, u), claim="ops.row_max_ties",
                 what="library vs the first maximal entry (loop)")
    xt = torch.tensor(x, requires_grad=True)
    (by_max,) = torch.autograd.grad(torch.max(xt, dim=1).values, xt, torch.tensor(u[:, 0]))
    assert_close(node.grad, by_max, claim="ops.row_max_ties", what="library vs torch.max(dim)")
    (by_amax,) = torch.autograd.grad(torch.amax(xt, dim=1), xt, torch.tensor(u[:, 0]))
    ties = (x == x.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)
    assert_close(by_amax, (x == x.max(axis=1, keepdims=True)) * u / ties,
                 claim="ops.row_max_ties", what="torch.amax splits evenly (the contrast)")


@pytest.mark.claim("ops.relu_kink_convention", kind="symbolic")
@given(data=st.data())
def test_relu_kink_value_zero_lies_between_the_one_sided_derivatives(data):
    """sympy's one-sided limits of (max(h, 0) − 0)/h are 0 and 1; the convention 0 lies
    between them, and with it sympy's derivative of max(x, 0) is [x > 0] everywhere
    (proven by cases, the kink x = 0 included)."""
    left, right = D.relu_one_sided_derivatives()
    assert (left, right) == (0, 1), f"one-sided derivatives at 0: {left}, {right}"
    assert left <= 0 <= right
    x = sp.Symbol("x", real=True)
    prove_identity(sp.diff(sp.Max(x, 0), x), sp.Piecewise((1, x > 0), (0, True)),
                   claim="ops.relu_kink_convention", data=data, heaviside_at_zero=0)


@pytest.mark.claim("ops.relu_kink_convention", kind=("implementation", "autograd"))
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=5),
                    elements=st.sampled_from([0.0, -0.0, -1.5, 2.0])))
def test_relu_gradient_is_zero_at_drawn_zeros_like_torch(x):
    """Inputs drawn with many exact zeros (±0.0): the library's ∇X is 0 there, as torch.relu's
    autograd, and 1 exactly where x > 0."""
    node = TensorNode(x)
    A.ReLU.do_forward(node).backward(np.ones_like(x))
    xt = torch.tensor(x, requires_grad=True)
    (torch_grad,) = torch.autograd.grad(torch.relu(xt).sum(), xt)
    assert_close(node.grad, (x > 0).astype(np.float64), claim="ops.relu_kink_convention",
                 what="library vs [x > 0]")
    assert_close(node.grad, torch_grad, claim="ops.relu_kink_convention",
                 what="library vs torch.relu")


# ------------------------------------- 2. library vs closed form vs autograd (one checker)

_SYMBOL = re.compile(r"([a-z]+)(\d+)_(\d+)$")
_CLOSED: dict[tuple, tuple[list, list]] = {}


def closed_forms(case: OpCase, shapes: tuple) -> tuple[list, list]:
    """The closed forms of ``case.closed(shapes)`` lambdified once per shape, with symbols."""
    key = (case.name, shapes)
    if key not in _CLOSED:
        pairs = case.closed(shapes)
        fns, syms = [], []
        for _derived, closed in pairs:
            symbols = sorted(closed.free_symbols, key=str)
            fns.append(sp.lambdify(symbols, closed, "numpy"))
            syms.append(symbols)
        _CLOSED[key] = (fns, syms)
    return _CLOSED[key]


def evaluate(fn, symbols, arrays: dict[str, np.ndarray], shape: tuple) -> np.ndarray:
    """A lambdified closed form at the drawn arrays (symbol ``x1_2`` ↦ ``arrays['x'][1, 2]``)."""
    args = []
    for s in symbols:
        name, i, j = _SYMBOL.match(s.name).groups()
        args.append(np.atleast_2d(arrays[name])[int(i), int(j)])
    out = np.array(fn(*args), dtype=np.float64)
    return np.broadcast_to(out, shape) if out.ndim == 0 else out.reshape(shape)


@dataclass(frozen=True)
class OpCase:
    """One op (or small graph) of the library: how to build it from nodes, its torch reference,
    its input shapes and domains, and the sympy builder of its closed-form gradients."""

    name: str
    claim: str
    build: Callable[..., TensorNode]
    reference: Callable[..., torch.Tensor]
    shapes: Callable[[Any], tuple[tuple[int, ...], ...]]  # draw -> input shapes
    names: tuple[str, ...]  # the inputs' symbol names in ``closed``
    closed: Callable[[tuple], list] | None = None  # input shapes -> [(derived, closed)]
    domains: tuple[str, ...] = ()  # per input: real (default), positive, away, distinct
    float32: bool = False  # element-wise: float32 is compared at float32's tolerance


def _same(draw, lo: int = 1, hi: int = 3, k: int = 2):
    shape = (draw(st.integers(lo, hi)), draw(st.integers(lo, hi)))
    return (shape,) * k


def _matmul_shapes(draw):
    n, f, m = (draw(st.integers(1, 3)) for _ in range(3))
    return (n, f), (f, m)


def _column(draw):
    return ((draw(st.integers(1, 4)), 1),)


def _row(draw):
    return ((1, draw(st.integers(1, 4))),)


def _residual_shapes(draw):
    batch, width = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    return (batch, width), (width, width), (1, width)


def _residual_block(h, w, b):
    bias = A.Expand.do_forward(b, repeats=h.shape[0], dim=0)
    return A.Sigmoid.do_forward(h @ w + bias) + h


def _unary(op):
    return lambda x: op.do_forward(x)


def _elementwise(name: str, op, reference, domain="real"):
    return OpCase(name, "ops.elementwise_gradient", _unary(op), reference,
                  lambda d: _same(d, k=1), ("x",),
                  lambda s, f=name: D.elementwise_gradient(f, *s[0]), (domain,), float32=True)


OP_CASES = [
    pytest.param(OpCase("add", "ops.add_gradient", lambda a, b: a + b, torch.add, _same,
                        ("a", "b"), lambda s: D.add_gradient(*s[0]), float32=True),
                 marks=pytest.mark.claim("ops.add_gradient",
                                         kind=("implementation", "autograd")), id="add"),
    pytest.param(OpCase("subtract", "ops.subtract_gradient", lambda a, b: a - b, torch.sub,
                        _same, ("a", "b"), lambda s: D.subtract_gradient(*s[0]), float32=True),
                 marks=pytest.mark.claim("ops.subtract_gradient",
                                         kind=("implementation", "autograd")), id="subtract"),
    pytest.param(OpCase("multiply", "ops.multiply_gradient", lambda a, b: a * b, torch.mul,
                        _same, ("a", "b"), lambda s: D.multiply_gradient(*s[0]), float32=True),
                 marks=pytest.mark.claim("ops.multiply_gradient",
                                         kind=("implementation", "autograd")), id="multiply"),
    pytest.param(OpCase("divide", "ops.divide_gradient", lambda a, b: a / b, torch.div, _same,
                        ("a", "b"), lambda s: D.divide_gradient(*s[0]), ("real", "away"),
                        float32=True),
                 marks=pytest.mark.claim("ops.divide_gradient",
                                         kind=("implementation", "autograd")), id="divide"),
    pytest.param(_elementwise("sigmoid", A.Sigmoid, torch.sigmoid),
                 marks=pytest.mark.claim("ops.elementwise_gradient",
                                         kind=("implementation", "autograd")), id="sigmoid"),
    pytest.param(_elementwise("tanh", A.Tanh, torch.tanh),
                 marks=pytest.mark.claim("ops.elementwise_gradient",
                                         kind=("implementation", "autograd")), id="tanh"),
    pytest.param(_elementwise("exp", A.Exp, torch.exp),
                 marks=pytest.mark.claim("ops.elementwise_gradient",
                                         kind=("implementation", "autograd")), id="exp"),
    pytest.param(_elementwise("log", A.Log, torch.log, "positive"),
                 marks=pytest.mark.claim("ops.elementwise_gradient",
                                         kind=("implementation", "autograd")), id="log"),
    pytest.param(OpCase("relu", "ops.relu_gradient", _unary(A.ReLU), torch.relu,
                        lambda d: _same(d, k=1), ("x",), lambda s: D.relu_gradient(*s[0]),
                        float32=True),
                 marks=pytest.mark.claim("ops.relu_gradient",
                                         kind=("implementation", "autograd")), id="relu"),
    pytest.param(OpCase("matmul", "ops.matmul_gradient", lambda x, w: x @ w, torch.matmul,
                        _matmul_shapes, ("x", "w"),
                        lambda s: D.matmul_gradient(*s[0], s[1][1])),
                 marks=pytest.mark.claim("ops.matmul_gradient",
                                         kind=("implementation", "autograd")), id="matmul"),
    pytest.param(OpCase("expand-columns", "ops.expand_gradient",
                        lambda x: A.Expand.do_forward(x, repeats=16),
                        lambda x: x.expand(-1, 16), _column, ("x",),
                        lambda s: D.expand_gradient(s[0][0], 16)),
                 marks=pytest.mark.claim("ops.expand_gradient",
                                         kind=("implementation", "autograd")),
                 id="expand-16-columns"),
    pytest.param(OpCase("expand-rows", "ops.expand_gradient",
                        lambda x: A.Expand.do_forward(x, repeats=3, dim=0),
                        lambda x: x.expand(3, -1), _row, ("x",)),
                 marks=pytest.mark.claim("ops.expand_gradient",
                                         kind=("implementation", "autograd")), id="expand-3-rows"),
    pytest.param(OpCase("sum", "ops.sum_gradient", _unary(A.Sum), torch.sum,
                        lambda d: _same(d, k=1), ("x",), lambda s: D.sum_gradient(*s[0])),
                 marks=pytest.mark.claim("ops.sum_gradient",
                                         kind=("implementation", "autograd")), id="sum"),
    pytest.param(OpCase("row-sum", "ops.row_sum_gradient", _unary(A.RowSum),
                        lambda x: x.sum(1, keepdim=True), lambda d: _same(d, k=1), ("x",),
                        lambda s: D.row_sum_gradient(*s[0])),
                 marks=pytest.mark.claim("ops.row_sum_gradient",
                                         kind=("implementation", "autograd")), id="row-sum"),
    pytest.param(OpCase("row-max", "ops.row_max_gradient", _unary(A.RowMax),
                        lambda x: x.amax(1, keepdim=True), lambda d: _same(d, k=1), ("x",),
                        lambda s: D.row_max_gradient(*s[0]), ("distinct",)),
                 marks=pytest.mark.claim("ops.row_max_gradient",
                                         kind=("implementation", "autograd")), id="row-max"),
    pytest.param(OpCase("normalize", "ops.normalize_gradient", _unary(A.Normalize),
                        lambda x: x / x.sum(1, keepdim=True), lambda d: _same(d, k=1), ("x",),
                        lambda s: D.normalize_gradient(*s[0]), ("positive",)),
                 marks=pytest.mark.claim("ops.normalize_gradient",
                                         kind=("implementation", "autograd")), id="normalize"),
    pytest.param(OpCase("log-softmax", "ops.log_softmax_gradient", _unary(A.LogSoftmax),
                        lambda x: torch.log_softmax(x, 1), lambda d: _same(d, k=1), ("x",),
                        lambda s: D.log_softmax_gradient(*s[0])),
                 marks=pytest.mark.claim("ops.log_softmax_gradient",
                                         kind=("implementation", "autograd")),
                 id="log-softmax-fused"),
    pytest.param(OpCase("log-softmax-composed", "ops.log_softmax_gradient", A.log_softmax,
                        lambda x: torch.log_softmax(x, 1), lambda d: _same(d, k=1), ("x",),
                        lambda s: D.log_softmax_gradient(*s[0])),
                 marks=pytest.mark.claim("ops.log_softmax_gradient", "ops.gradient_accumulation",
                                         kind=("implementation", "autograd")),
                 id="log-softmax-composed"),
    pytest.param(OpCase("diamond", "ops.gradient_accumulation",
                        lambda x: A.Sigmoid.do_forward(x) * A.Exp.do_forward(x),
                        lambda x: torch.sigmoid(x) * torch.exp(x), lambda d: _same(d, k=1),
                        ("x",), lambda s: D.diamond_gradient(*s[0])),
                 marks=pytest.mark.claim("ops.gradient_accumulation",
                                         kind=("implementation", "autograd")), id="diamond"),
    pytest.param(OpCase("a-plus-a", "ops.gradient_accumulation", lambda a: a + a,
                        lambda a: a + a, lambda d: _same(d, k=1), ("a",),
                        lambda s: D.self_add_gradient(*s[0])),
                 marks=pytest.mark.claim("ops.gradient_accumulation",
                                         kind=("implementation", "autograd")), id="a-plus-a"),
    pytest.param(OpCase("residual-block", "ops.residual_block_gradient", _residual_block,
                        lambda h, w, b: torch.sigmoid(h @ w + b) + h, _residual_shapes,
                        ("h", "w", "b"), lambda s: D.residual_block_gradient(*s[0])),
                 marks=pytest.mark.claim("ops.residual_block_gradient",
                                         "ops.gradient_accumulation",
                                         kind=("implementation", "autograd")),
                 id="residual-block"),
]


def draw_values(data, shape: tuple[int, ...], domain: str, dtype, label: str) -> np.ndarray:
    """Values of an input on its domain: real [−10, 10]; positive [0.125, 10]; away from zero
    (a divisor) 0.5 ≤ |y| ≤ 10; distinct (a unique row maximum)."""
    if domain == "positive":
        return data.draw(arrays(shape, dtype=dtype, min_value=0.125, max_value=10), label=label)
    if domain == "away":
        size = data.draw(arrays(shape, dtype=dtype, min_value=0.5, max_value=10), label=label)
        sign = data.draw(hnp.arrays(np.bool_, shape), label=f"sign of {label}")
        return np.where(sign, -size, size).astype(dtype)
    if domain == "distinct":
        width = 32 if dtype == np.float32 else 64
        return data.draw(hnp.arrays(dtype, shape, unique=True, elements=st.floats(
            -10, 10, allow_nan=False, allow_infinity=False, width=width)), label=label)
    return data.draw(arrays(shape, dtype=dtype), label=label)


def draw_inputs(data, case: OpCase, dtype) -> list[np.ndarray]:
    shapes = data.draw(st.composite(lambda draw: case.shapes(draw))(), label="input shapes")
    domains = case.domains or ("real",) * len(shapes)
    return [draw_values(data, s, d, dtype, n)
            for s, d, n in zip(shapes, domains, case.names, strict=True)]


def library(case: OpCase, xs: list[np.ndarray], u: np.ndarray | None):
    """Run the case through the library: (output value, [grad of each input]).

    With ``u`` None only the forward runs (to learn the output's shape)."""
    nodes = [TensorNode(x) for x in xs]
    out = case.build(*nodes)
    if u is None:
        return out.value, None
    out.backward(u)
    return out.value, [n.grad for n in nodes]


def autograd(case: OpCase, xs: list[np.ndarray], u: np.ndarray):
    """The torch reference in float64 and autograd's gradients for the upstream u."""
    xt = [torch.from_numpy(x.astype(np.float64)).requires_grad_(True) for x in xs]
    out = case.reference(*xt)
    grads = torch.autograd.grad(out, xt, torch.from_numpy(u.astype(np.float64)))
    return out.detach(), grads


@pytest.mark.parametrize("case", OP_CASES)
@given(data=st.data())
def test_library_backward_matches_closed_form_and_autograd(case, data):
    """One checker for every op: the graph's gradients = autograd = the seed's closed form.

    Float64 (the truth) always; element-wise ops also in float32, where the library must
    keep float32 and agree with the float64 truth at float32's tolerance."""
    dtype = data.draw(st.sampled_from([np.float64, np.float32]) if case.float32
                      else st.just(np.float64), label="dtype")
    xs = draw_inputs(data, case, dtype)
    out_shape = library(case, xs, None)[0].shape
    u = data.draw(arrays(out_shape, dtype=dtype, min_value=-5, max_value=5), label="∇Y")
    value, grads = library(case, xs, u)
    ref, ref_grads = autograd(case, xs, u)
    assert value.dtype == dtype and all(g.dtype == dtype for g in grads), (
        f"claim {case.claim}: dtype {dtype.__name__} not kept: output {value.dtype}, "
        f"gradients {[g.dtype for g in grads]}")
    assert_close(value, ref, claim=case.claim, what=f"{case.name} forward vs torch",
                 dtype=dtype, check_dtype=False)
    for name, g, r in zip(case.names, grads, ref_grads, strict=True):
        assert_close(g, r, claim=case.claim, what=f"{case.name}: ∇{name} vs autograd",
                     dtype=dtype, check_dtype=False)
    if case.closed is not None and dtype == np.float64:
        fns, syms = closed_forms(case, tuple(x.shape for x in xs))
        named = dict(zip(case.names, xs, strict=True)) | {"u": u}
        for name, g, fn, symbols in zip(case.names, grads, fns, syms, strict=True):
            assert_close(g, evaluate(fn, symbols, named, g.shape), claim=case.claim,
                         what=f"{case.name}: ∇{name} vs the closed form (sympy, lambdified)")


@pytest.mark.slow  # test_library_backward_matches_closed_form_and_autograd is the quick witness
@pytest.mark.parametrize("case", OP_CASES)
@given(data=st.data())
def test_library_backward_passes_the_dot_product_test(case, data):
    """⟨u, J v⟩ (forward-mode JVP of the torch reference) = ⟨Jᵀu, v⟩ (the library's
    backward) for random u, v: a transposed or missing term cannot hide."""
    xs = draw_inputs(data, case, np.float64)
    out_shape = library(case, xs, None)[0].shape
    u = data.draw(arrays(out_shape, min_value=-5, max_value=5), label="u")
    v = [data.draw(arrays(x.shape, min_value=-5, max_value=5), label=f"v_{n}")
         for x, n in zip(xs, case.names, strict=True)]
    assert_vjp(case.reference, lambda ut: library(case, xs, to_numpy(ut))[1],
               [torch.from_numpy(x) for x in xs], torch.from_numpy(np.asarray(u)),
               [torch.from_numpy(vk) for vk in v], claim=case.claim)


# ------------------------------------------------------------ 3. the graph's bookkeeping


@pytest.mark.claim("ops.graph_structure", kind="implementation")
@given(data=st.data())
def test_c_equals_a_plus_b_builds_the_graph_the_seed_describes(data):
    """Seed Q5–6 (and Q3): c = a + b; c.value is the sum, c.source an OpNode of Add whose
    inputs are (a, b) and outputs (c); a.grad is zero until backward, then ∇c."""
    shape = data.draw(st.tuples(st.integers(1, 4), st.integers(1, 4)), label="shape")
    a_val, b_val, u = (data.draw(arrays(shape), label=n) for n in ("a", "b", "∇c"))
    a, b = TensorNode(a_val), TensorNode(b_val)
    c = a + b
    assert isinstance(c.source, A.OpNode) and c.source.op is A.Add
    assert c.source.inputs[0] is a and c.source.inputs[1] is b
    assert c.source.outputs == [c] and a.source is None
    assert c.value.shape == shape
    assert_close(c.value, a_val + b_val, claim="ops.graph_structure", what="c.value")
    assert_close(a.grad, np.zeros(shape), claim="ops.graph_structure", what="a.grad before")
    c.backward(u)
    assert_close(a.grad, u, claim="ops.graph_structure", what="a.grad after backward")
    assert_close(b.grad, u, claim="ops.graph_structure", what="b.grad after backward")


@pytest.mark.slow
@pytest.mark.claim("ops.gradient_accumulation", kind=("implementation", "autograd"))
@given(k=st.integers(1, 6), data=st.data())
def test_a_node_used_k_times_gets_k_times_the_gradient(k, data):
    """y = a + a + … + a (k terms, the node a an input of k Add ops): ∇a = k ∇y, the sum over
    the k paths (autograd agrees)."""
    shape = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)), label="shape")
    a_val, u = data.draw(arrays(shape), label="a"), data.draw(arrays(shape), label="∇y")
    a = TensorNode(a_val)
    y = a
    for _ in range(k - 1):
        y = y + a
    y.backward(u)
    at = torch.from_numpy(a_val).requires_grad_(True)
    (ref,) = torch.autograd.grad(sum([at] * k), at, torch.from_numpy(u))
    assert_close(a.grad, ref, claim="ops.gradient_accumulation", what=f"{k} uses of a")
    assert_close(a.grad, k * u, claim="ops.gradient_accumulation", what=f"k∇y, k = {k}")


@pytest.mark.slow
@pytest.mark.conventions  # torch's accumulation convention across backward calls
@given(data=st.data())
def test_repeated_backward_accumulates_into_leaves_like_torch(data):
    """Two backward calls from the same loss: leaves hold twice the gradient (torch's
    convention), intermediate nodes are recomputed, not doubled; zero_grad clears."""
    shape = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)), label="shape")
    x_val = data.draw(arrays(shape, min_value=-3, max_value=3), label="x")
    x = TensorNode(x_val)
    loss = A.Sum.do_forward(A.Sigmoid.do_forward(x) * A.Exp.do_forward(x))
    xt = torch.from_numpy(x_val).requires_grad_(True)
    (torch.sigmoid(xt) * torch.exp(xt)).sum().backward()
    loss.backward()
    once = x.grad.copy()
    loss.backward()
    assert_close(once, xt.grad, claim="ops.gradient_accumulation", what="one backward")
    assert_close(x.grad, 2 * xt.grad, claim="ops.gradient_accumulation", what="two backwards")
    loss.zero_grad()
    assert not x.grad.any(), "zero_grad left a nonzero gradient"


# ----------------------------------------- 4. cross-entropy from ops, the residual MLP


@st.composite
def targets(draw, rows: int, cols: int) -> np.ndarray:
    return draw(distributions(rows, cols, one_hot=draw(st.booleans(), label="one-hot")))


CROSS_ENTROPY = OpCase("cross-entropy", "ops.cross_entropy_gradient", A.cross_entropy,
                       torch.nn.functional.cross_entropy, lambda d: (), ("x", "t"),
                       lambda s: D.cross_entropy_gradient(*s[0]))


@pytest.mark.claim("ops.cross_entropy_gradient", "ops.log_softmax_gradient",
                   kind=("implementation", "autograd"))
@given(composed=st.booleans(), data=st.data())
def test_cross_entropy_from_ops_has_gradient_softmax_minus_targets_over_n(composed, data):
    """L = −(1/N) Σ T ⊙ logsoftmax(X) from ops (fused LogSoftmax, or composed of RowMax,
    Expand, Subtract, Exp, RowSum, Log): ∇X = (softmax(X) − T)/N = autograd's gradient of
    ``torch.nn.functional.cross_entropy`` with probability targets (seed Q10's loss)."""
    shape = data.draw(st.tuples(st.integers(1, 3), st.integers(2, 3)), label="shape")
    x_val = data.draw(arrays(shape, min_value=-20, max_value=20), label="x")
    t = data.draw(targets(*shape), label="targets")
    x = TensorNode(x_val)
    log_p = A.log_softmax(x) if composed else A.LogSoftmax.do_forward(x)
    loss = A.cross_entropy(log_p, t)
    loss.backward()
    xt = torch.from_numpy(x_val).requires_grad_(True)
    ref = torch.nn.functional.cross_entropy(xt, torch.from_numpy(t))
    (ref_grad,) = torch.autograd.grad(ref, xt)
    assert_close(loss.value, ref.detach(), claim="ops.cross_entropy_gradient", what="loss")
    assert_close(x.grad, ref_grad, claim="ops.cross_entropy_gradient", what="∇X vs autograd")
    (closed,), (symbols,) = closed_forms(CROSS_ENTROPY, (shape,))
    assert_close(x.grad, evaluate(closed, symbols, {"x": x_val, "t": t}, shape),
                 claim="ops.cross_entropy_gradient", what="∇X vs (S − T)/N (sympy, lambdified)")


@pytest.mark.claim("ops.residual_mlp_gradient", "ops.gradient_accumulation", kind="autograd")
@given(residual=st.booleans(), data=st.data())
def test_residual_mlp_parameter_gradients_equal_autograd(residual, data):
    """Seed Q10: h₁ = σ(x W₁ + b₁), h₂ = σ(h₁W₂ + b₂) + h₁ (with ``residual``), output
    log-softmax(h₂W₃ + b₃), cross-entropy loss. Every parameter gradient of the library's
    graph equals autograd's on the same network written in torch; h₁ feeds two ops when
    residual, so its gradient must sum both paths."""
    d, out = data.draw(st.integers(1, 3), label="input size"), data.draw(
        st.integers(2, 4), label="classes")
    mult, batch = data.draw(st.integers(1, 2), label="hidden_mult"), data.draw(
        st.integers(1, 4), label="batch")
    mlp = A.ResidualMLP(d, out, residual, mult, rng=np.random.default_rng(0))
    for k, p in enumerate(mlp.parameters()):  # every value drawn by Hypothesis
        p.value = data.draw(arrays(p.shape, min_value=-2, max_value=2), label=f"param {k}")
    x_val = data.draw(arrays((batch, d), min_value=-3, max_value=3), label="x")
    t = data.draw(targets(batch, out), label="targets")
    loss = A.cross_entropy(mlp(TensorNode(x_val)), t)
    loss.backward()
    w1, b1, w2, b2, w3, b3 = ps = [torch.from_numpy(p.value).requires_grad_(True)
                                   for p in mlp.parameters()]
    h1 = torch.sigmoid(torch.from_numpy(x_val) @ w1 + b1)
    h2 = torch.sigmoid(h1 @ w2 + b2) + (h1 if residual else 0)
    ref = -(torch.from_numpy(t) * torch.log_softmax(h2 @ w3 + b3, 1)).sum() / batch
    ref_grads = torch.autograd.grad(ref, ps)
    assert_close(loss.value, ref.detach(), claim="ops.residual_mlp_gradient", what="loss")
    names = ("W1", "b1", "W2", "b2", "W3", "b3")
    for name, p, g in zip(names, mlp.parameters(), ref_grads, strict=True):
        assert_close(p.grad, g, claim="ops.residual_mlp_gradient", what=f"∇{name} vs autograd")
    note(f"residual={residual}, loss={float(loss.value):.4g}")


# ---------------------------------------------------------------------------- bad input


def _node(*shape, dtype=np.float64):
    return TensorNode(np.ones(shape, dtype=dtype))


BAD_INPUTS = [
    ("Add of different shapes", lambda: _node(2, 3) + _node(3, 2), ValueError,
     r"Add: input a has shape \(2, 3\) but input b has shape \(3, 2\)"),
    ("Subtract of different shapes", lambda: _node(2, 3) - _node(2, 1), ValueError,
     r"Subtract: input a has shape \(2, 3\) but input b has shape \(2, 1\)"),
    ("Multiply of different shapes", lambda: _node(4) * _node(2, 2), ValueError,
     r"Multiply: input a has shape \(4,\) but input b has shape \(2, 2\)"),
    ("Divide of different shapes", lambda: _node(1, 3) / _node(3, 1), ValueError,
     r"Divide: input x has shape \(1, 3\) but input y has shape \(3, 1\)"),
    ("Divide by zero", lambda: _node(2) / TensorNode(np.array([1.0, 0.0])), ValueError,
     r"Divide: the divisor y has zero entries"),
    ("float32 + float64", lambda: _node(2, dtype=np.float32) + _node(2), TypeError,
     r"Add: inputs a and b must share a dtype, got float32 and float64"),
    ("MatMul with inner sizes 3 ≠ 2", lambda: _node(2, 3) @ _node(2, 3), ValueError,
     r"MatMul: x has shape \(2, 3\) and w has shape \(2, 3\)"),
    ("MatMul of a vector", lambda: _node(3) @ _node(3, 2), ValueError,
     r"MatMul: x must be 2-D"),
    ("Expand of a non-singleton axis", lambda: A.Expand.do_forward(_node(2, 2), repeats=3),
     ValueError, r"Expand: x must have a singleton axis dim=1, got shape \(2, 2\)"),
    ("Expand zero times", lambda: A.Expand.do_forward(_node(2, 1), repeats=0), ValueError,
     r"Expand: repeats must be a positive int, got 0"),
    ("Expand a float number of times", lambda: A.Expand.do_forward(_node(2, 1), repeats=2.0),
     ValueError, r"Expand: repeats must be a positive int, got 2.0"),
    ("backward with a context no forward filled",
     lambda: A.Sigmoid.backward({}, np.ones((2, 2))), ValueError,
     r"Sigmoid.backward needs the context its forward filled"),
    ("Log of a non-positive input", lambda: A.Log.do_forward(TensorNode(np.array([1.0, 0.0]))),
     ValueError, r"Log: x must be positive"),
    ("Normalize with a zero row", lambda: A.Normalize.do_forward(
        TensorNode(np.array([[1.0, -1.0]]))), ValueError, r"Normalize: a row of x sums to zero"),
    ("backward on a non-scalar without ∇", lambda: (_node(2, 3) + _node(2, 3)).backward(),
     ValueError, r"backward\(\) without an output gradient needs a scalar node .* shape \(2, 3\)"),
    ("backward with ∇ of the wrong shape",
     lambda: (_node(2, 3) + _node(2, 3)).backward(np.ones((3, 2))), ValueError,
     r"goutput has shape \(3, 2\) but the node has shape \(2, 3\)"),
    ("Linear on the wrong width", lambda: A.Linear(3, 4)(_node(2, 5)), ValueError,
     r"Linear: input x has shape \(2, 5\), but the weight has shape \(3, 4\)"),
    ("cross-entropy targets of the wrong shape",
     lambda: A.cross_entropy(_node(2, 3), np.ones((2, 2))), ValueError,
     r"targets have shape \(2, 2\) but log_probs have shape \(2, 3\)"),
    ("op on a raw array", lambda: A.Sigmoid.do_forward(np.ones(2)), TypeError,
     r"Sigmoid: input 0 must be a TensorNode, got ndarray"),
    ("TensorNode of a list", lambda: TensorNode([1.0, 2.0]), TypeError,
     r"value must be a numpy array"),
    ("TensorNode of integers", lambda: TensorNode(np.ones(2, dtype=np.int64)), TypeError,
     r"value must be float32 or float64, got int64"),
]


@pytest.mark.conventions
@pytest.mark.parametrize(("call", "error", "message"), [b[1:] for b in BAD_INPUTS],
                         ids=[b[0] for b in BAD_INPUTS])
def test_ops_reject_bad_input_with_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------- slips of Q3 and Q8 (the words and the case split)


@pytest.mark.claim("ops.matmul_entry", kind="symbolic")
@given(n=SMALL, f=SMALL, m=SMALL, data=st.data())
def test_matmul_entry_is_row_i_of_x_times_column_j_of_w(n, f, m, data):
    """Seed 003 Q3 corrected: y_ij = Σ_{r=1}^{f} x_ir w_rj for every entry."""
    y, x, w = D.matmul_entry(n, f, m)
    rows = sp.ImmutableMatrix(n, m, lambda i, j: sum(x[i, r] * w[r, j] for r in range(f)))
    prove_identity(y, rows, claim="ops.matmul_entry", data=data)


@pytest.mark.claim("ops.matmul_entry_words_as_written", kind="symbolic")
@REFUTATION
@given(data=st.data())
def test_seed_q3_column_i_of_w_times_row_j_of_x_is_y_ji_not_y_ij(data):
    """n = f = m = 2: column 1 of W times row 2 of X is y_21, not y_12 (exact, at a drawn
    rational point)."""
    y, x, w = D.matmul_entry(2, 2, 2)
    words = D.matmul_entry_words(x, w, 0, 1)
    assert sp.expand(words - y[1, 0]) == 0
    text = refute_identity(y[0, 1], words, claim="ops.matmul_entry_words_as_written", data=data)
    record_counterexample("ops.matmul_entry_words_as_written", f"n = f = m = 2, y_12: {text}")


@pytest.mark.claim("ops.matmul_entry_sum_to_n_as_written", kind="symbolic")
@REFUTATION
@given(data=st.data())
def test_seed_q3_sum_to_n_drops_terms_when_n_is_below_f(data):
    """n = 1, f = 2, m = 1: Σ_{r=1}^{1} x_1r w_r1 misses x_12 w_21; with n > f the sum needs
    columns X does not have."""
    y, x, w = D.matmul_entry(1, 2, 1)
    text = refute_identity(y[0, 0], D.matmul_entry_sum_to_n(x, w, 0, 0),
                           claim="ops.matmul_entry_sum_to_n_as_written", data=data)
    with pytest.raises(IndexError):
        D.matmul_entry_sum_to_n(*D.matmul_entry(3, 2, 1)[1:], 0, 0)
    record_counterexample("ops.matmul_entry_sum_to_n_as_written", f"n = 1, f = 2: {text}")


@pytest.mark.claim("ops.normalize_partials", kind="symbolic")
@given(m=st.integers(1, 2), n=st.integers(1, 3), data=st.data())
def test_normalize_partials_vanish_exactly_off_the_row(m, n, data):
    """∂y_kl/∂x_ij = δ_ik (δ_jl s_k − x_kl)/s_k² for every index tuple (seed 003 Q8)."""
    derived, closed, _ = D.normalize_partials(m, n)
    keys = sorted(derived)
    prove_identity(sp.ImmutableMatrix([derived[t] for t in keys]),
                   sp.ImmutableMatrix([closed[t] for t in keys]),
                   claim="ops.normalize_partials", data=data)


@pytest.mark.claim("ops.normalize_cases_as_written", kind="symbolic")
@REFUTATION
@given(data=st.data())
def test_seed_q8_zero_case_needs_i_not_k_alone(data):
    """m = n = 2. Comma as 'and': (k, l, i, j) = (2, 1, 1, 1) (i ≠ k, j = l) is in no case,
    though the derivative is 0 there. Comma as 'or': (1, 2, 1, 1) (i = k, j ≠ l) gets 0,
    but ∂y_12/∂x_11 = −x_12/s_1² ≠ 0 (exact, at a drawn positive point)."""
    derived, _, x = D.normalize_partials(2, 2)
    c = "ops.normalize_cases_as_written"
    assert D.normalize_case_as_written(x, 1, 0, 0, 0, "and") is None and derived[(1, 0, 0, 0)] == 0
    text = refute_identity(derived[(0, 1, 0, 0)], D.normalize_case_as_written(x, 0, 1, 0, 0, "or"),
                           claim=c, data=data, point_strategy=_positive_point(x))
    record_counterexample(c, "'and': (k,l,i,j) = (2,1,1,1) uncovered; 'or': ∂y_12/∂x_11 = "
                             f"−x_12/s_1² ≠ 0 = the table's value: {text}")


def _positive_point(x: sp.MatrixBase) -> st.SearchStrategy:
    value = st.fractions(1, 5, max_denominator=4).map(lambda f: sp.Rational(f.numerator,
                                                                           f.denominator))
    return st.fixed_dictionaries({v: value for v in x})


@pytest.mark.slow
@pytest.mark.conventions  # NaN propagation is this library's contract (docs/contracts.md)
@pytest.mark.claim("ops.relu_gradient", kind="autograd")
@given(x=hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4)),
                    elements=st.floats(-3, 3) | st.just(np.nan)))
def test_relu_propagates_nan_as_torch_does(x):
    """ReLU(NaN) = NaN (torch.relu's answer; np.where(x > 0, x, 0) turned it into 0), and the
    backward passes the upstream gradient at NaN as torch's threshold_backward does (it zeroes
    only where x ≤ 0); the other entries are unchanged."""
    node = TensorNode(x)
    y = A.ReLU.do_forward(node)
    y.backward(np.ones_like(x))
    t = torch.tensor(x, requires_grad=True)
    torch.relu(t).backward(torch.ones_like(t))
    np.testing.assert_array_equal(y.value, torch.relu(t).detach().numpy())  # NaN == NaN here
    np.testing.assert_array_equal(node.grad, t.grad.numpy())


@pytest.mark.slow
@pytest.mark.claim("ops.log_softmax_gradient", kind="implementation")
@given(big=st.floats(700, 1e6), gap=st.floats(-30, 30))
def test_log_softmax_is_exact_at_logits_beyond_exps_range(big, gap):
    """exp overflows past ~709, so the row max must be subtracted before exp, in the fused
    LogSoftmax op and in the composed log_softmax: with logits (b, b + gap) the answer is the
    two-class closed form log σ(∓gap) = −log(1 + e^{±gap}) (numpy's logaddexp, not the
    kernel)."""
    x = np.array([[big, big + gap]])
    want = np.array([[-np.logaddexp(0.0, gap), -np.logaddexp(0.0, -gap)]])
    for got in (A.LogSoftmax.do_forward(TensorNode(x)).value,
                A.log_softmax(TensorNode(x)).value):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * big)


@given(n_in=st.integers(2, 40), n_out=st.integers(20, 40), seed=st.integers(0, 2**32 - 1))
def test_linear_initialisation_is_uniform_within_one_over_sqrt_in_features(n_in, n_out, seed):
    """W ~ U(−1/√in, 1/√in) (torch's ``nn.Linear`` bound), b = 0: every entry within the
    bound, and with ≥ 40 entries both signs reach past half of it (the chance that a uniform
    sample of n misses one half-tail is 0.75ⁿ < 1e-5)."""
    layer = A.Linear(n_in, n_out, rng=np.random.default_rng(seed))
    w, bound = layer.weight.value, 1 / np.sqrt(n_in)
    assert w.shape == (n_in, n_out) and np.all(np.abs(w) <= bound), (w.min(), w.max(), bound)
    assert w.max() > bound / 2 and w.min() < -bound / 2, (w.min(), w.max(), bound)
    assert np.array_equal(layer.bias.value, np.zeros((1, n_out)))


@pytest.mark.slow
@pytest.mark.conventions
@given(n_in=st.integers(1, 5), n_out=st.integers(1, 5), residual=st.booleans())
def test_residual_mlp_default_hidden_width_is_the_seeds_four_times_the_input(n_in, n_out,
                                                                            residual):
    """003 Q10's MLP: ``hidden_mult=4``, hidden width = 4 · input_size."""
    net = A.ResidualMLP(n_in, n_out, residual, rng=np.random.default_rng(0))
    assert [p.value.shape for p in net.parameters()] == [
        (n_in, 4 * n_in), (1, 4 * n_in), (4 * n_in, 4 * n_in), (1, 4 * n_in),
        (4 * n_in, n_out), (1, n_out)]
