r"""The hat function and the soft threshold as ReLU networks, three witnesses.

1. sympy (``derivations/relu_net.py``): on every piece of a cover of ℝ (s ≥ 0 symbolic),
   every ReLU resolves and the network *is* the seed's formula for that piece; the network
   equals the problem's target, proven by cases (``prove_identity``); exact agreement at
   rational points and breakpoints;
2. the hand targets and derivatives (``impl/relu_net.py``), numpy and torch;
3. the torch networks (``nn.Linear`` + ``nn.ReLU`` with the seed's weights) and their
   autograd derivatives.

Seed: ``002_f6a45d0186751a72.txt`` Q3 (Exercises 8 and 9).
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import example, given, note
from hypothesis import strategies as st

from derivations import relu_net as D
from dlmath_verify.checks import assert_close
from dlmath_verify.strategies import as_torch
from dlmath_verify.symbolic import prove_identity, refute_identity
from impl import relu_net as K
from tests.tiers import refutation_settings

REFUTATION = refutation_settings()  # a claim false as written: tests/tiers.py

RATIONAL_X = st.fractions(-3, 3, max_denominator=8).map(lambda f: sp.Rational(f.numerator,
                                                                              f.denominator))
RATIONAL_S = st.fractions(0, 2, max_denominator=8).map(lambda f: sp.Rational(f.numerator,
                                                                             f.denominator))
DTYPES = st.sampled_from([torch.float64, torch.float32])


# ------------------------------------------------------------------ 1. symbolic witness


def _prove_pieces(on_pieces, claim: str, data) -> None:
    for name, network, formula in on_pieces:
        assert not network.has(sp.Max), (
            f"claim {claim}: on {name} sympy could not decide every ReLU: {network}")
        prove_identity(network, formula, claim=f"{claim} on {name}", data=data)


@pytest.mark.slow
@pytest.mark.claim("relu_net.hat_function", kind="symbolic")
@given(data=st.data())
def test_hat_network_is_the_seed_formula_on_every_piece(data):
    """On (−∞, 0], [0, ½), [½, 1), [1, ∞) the network resolves to 0, 2x, 2(1 − x), 0."""
    _prove_pieces(D.hat_on_pieces(), "relu_net.hat_function", data)


@pytest.mark.claim("relu_net.soft_threshold", kind="symbolic")
@given(data=st.data())
def test_soft_threshold_network_is_the_seed_formula_on_every_piece_for_every_s(data):
    """For symbolic s ≥ 0, on (−∞, −s], [−s, s), [s, ∞): x + s, 0, x − s."""
    _prove_pieces(D.soft_threshold_on_pieces(), "relu_net.soft_threshold", data)


@pytest.mark.claim("relu_net.hat_function", kind="symbolic")
@given(data=st.data())
def test_hat_network_is_the_hat_function_by_cases(data):
    """The claim itself, proven by cases: ``prove_identity`` splits ℝ at the breakpoints sympy
    sees (0, ½, 1, from the ReLUs and the Piecewise target), proves each open piece and checks
    each breakpoint exactly."""
    assert prove_identity(D.hat_network(D.x), D.HAT_TARGET, claim="relu_net.hat_function",
                          data=data) == "cases"


@pytest.mark.claim("relu_net.soft_threshold", kind="symbolic")
@given(data=st.data())
def test_soft_threshold_network_is_the_soft_threshold_for_every_s_by_cases(data):
    """For symbolic s ≥ 0 (s = 0 and s > 0 both covered), split at x = ±s and x = 0."""
    assert prove_identity(D.soft_threshold_network(D.x), D.SOFT_TARGET,
                          claim="relu_net.soft_threshold", data=data) == "cases"


@pytest.mark.claim("relu_net.hat_function", "relu_net.soft_threshold", kind="symbolic")
def test_pieces_cover_the_real_line():
    """Each piece starts where the previous one ends; half-lines at both ends: a cover of ℝ."""
    for pieces, ends in [(D.hat_pieces(), D.HAT_BREAKPOINTS), (D.soft_threshold_pieces(),
                                                                (-D.s, D.s))]:
        params = [p for _, p, _ in pieces]
        assert params[0].xreplace({D.t: 0}) == ends[0] and params[0].diff(D.t) == -1
        assert params[-1].xreplace({D.t: 0}) == ends[-1] and params[-1].diff(D.t) == 1
        for p, a, b in zip(params[1:-1], ends[:-1], ends[1:], strict=True):
            assert p.xreplace({D.w: 0}) == a and sp.limit(p, D.w, sp.oo) == b


@pytest.mark.slow
@pytest.mark.claim("relu_net.hat_function", kind="symbolic")
@given(x=RATIONAL_X)
@example(x=sp.S.Zero)
@example(x=sp.Rational(1, 2))
@example(x=sp.S.One)
def test_hat_network_equals_hat_exactly_at_rational_points(x):
    assert D.hat_network(x) == D.HAT_TARGET.xreplace({D.x: x})


@pytest.mark.slow
@pytest.mark.claim("relu_net.soft_threshold", kind="symbolic")
@given(x=RATIONAL_X, s=RATIONAL_S)
@example(x=sp.Rational(1, 2), s=sp.Rational(1, 2))
@example(x=-sp.Rational(1, 2), s=sp.Rational(1, 2))
@example(x=sp.S.Zero, s=sp.S.Zero)
@example(x=sp.S.Zero, s=sp.S.One)
def test_soft_threshold_network_equals_soft_threshold_exactly_at_rational_points(x, s):
    for point in (x, s, -s):  # the drawn x and the breakpoints ±s
        assert D.soft_threshold_network(point, s) == D.SOFT_TARGET.xreplace({D.x: point,
                                                                             D.s: s})


@pytest.mark.slow
@pytest.mark.claim("relu_net.soft_threshold", kind="symbolic")
@REFUTATION
@given(data=st.data())
def test_soft_threshold_network_fails_for_negative_s(data):
    """With s = −q < 0 the network is 2x on (−q, q), not sign(x)(|x| + q): s ≥ 0 is needed
    (hence the ValueError for s < 0)."""
    q = sp.Symbol("q", positive=True)
    x = D.x
    net = D.soft_threshold_network(x, -q)
    target = sp.sign(x) * sp.Max(sp.Abs(x) + q, 0)
    text = refute_identity(net, target, claim="relu_net.soft_threshold", data=data)
    note(f"s = −q < 0: {text}")


# ------------------------------------------------------- 2./3. networks, hand targets


@cache
def _lambdified(name: str):
    expr = {"hat": D.HAT_TARGET, "soft": D.SOFT_TARGET, "dhat": D.hat_derivative(),
            "dsoft": D.soft_threshold_derivative()}[name]
    return sp.lambdify((D.x, D.s), expr, "math")


def sympy_values(name: str, xs: np.ndarray, s: float = 0.0) -> np.ndarray:
    """The sympy target (or derivative) evaluated per point, float64."""
    fn = _lambdified(name)
    return np.array([float(fn(float(v), s)) for v in xs])


def batches(lo: float, hi: float):
    return st.lists(st.floats(lo, hi), min_size=1, max_size=8).map(np.array)


@pytest.mark.claim("relu_net.hat_function", kind="implementation")
@given(xs=batches(-2, 3), dtype=DTYPES)
@example(xs=np.array([0.0, 0.5, 1.0, -1e-300, 1 + 1e-12]), dtype=torch.float64)
@example(xs=np.array([0.0, 0.5, 1.0]), dtype=torch.float32)
def test_hat_network_equals_the_hat_function(xs, dtype):
    x = torch.tensor(xs, dtype=dtype)
    out = K.network_forward(K.hat_network(dtype), x)
    truth = sympy_values("hat", x.double().numpy())
    assert_close(out, truth, claim="relu_net.hat_function", what="network vs sympy target",
                 dtype=dtype, check_dtype=False)
    assert_close(K.hat(x), out, claim="relu_net.hat_function", what="hand target vs network")
    assert_close(K.hat(x.double().numpy()), truth, claim="relu_net.hat_function",
                 what="numpy hand target vs sympy")


@pytest.mark.claim("relu_net.soft_threshold", kind="implementation")
@given(xs=batches(-5, 5), s=st.floats(0, 3), dtype=DTYPES)
@example(xs=np.array([0.0]), s=0.0, dtype=torch.float64)
@example(xs=np.array([0.0, 1.5, -1.5]), s=1.5, dtype=torch.float32)
def test_soft_threshold_network_equals_the_soft_threshold(xs, s, dtype):
    xs = np.concatenate([xs, [s, -s]])  # the breakpoints ±s in every batch
    x = torch.tensor(xs, dtype=dtype)
    s_used = float(torch.tensor(s, dtype=dtype))  # the threshold the float32 net holds
    out = K.network_forward(K.soft_threshold_network(s, dtype), x)
    truth = sympy_values("soft", x.double().numpy(), s_used)
    assert_close(out, truth, claim="relu_net.soft_threshold", what="network vs sympy target",
                 dtype=dtype, check_dtype=False)
    assert_close(K.soft_threshold(x, s_used), out, claim="relu_net.soft_threshold",
                 what="hand target vs network")


def _autograd_slope(net: torch.nn.Module, xs: np.ndarray) -> torch.Tensor:
    x = torch.tensor(xs, requires_grad=True)
    (grad,) = torch.autograd.grad(K.network_forward(net, x).sum(), x)
    return grad


def batches_off(breakpoints, lo: float, hi: float, gap: float = 1e-9):
    """Batches of points in [lo, hi] more than ``gap`` from every breakpoint: each point is
    drawn inside one of the open pieces between them (drawn, not rejected)."""
    edges = [lo, *sorted(breakpoints), hi]
    pieces = [st.floats(a + 2 * gap, b - 2 * gap)
              for a, b in pairwise(edges) if b - a > 8 * gap]
    return st.lists(st.one_of(pieces), min_size=1, max_size=8).map(np.array)


@st.composite
def soft_threshold_cases(draw):
    """(points off ±s, s): s first, then the points."""
    s = draw(st.floats(0, 3), label="s")
    return draw(batches_off((-s, s), -5, 5), label="xs"), s


@pytest.mark.claim("relu_net.derivatives", "relu_net.hat_function", kind="autograd")
@given(xs=batches_off((0.0, 0.5, 1.0), -2, 3))
@example(xs=np.array([-0.25, 0.25, 0.75, 1.25]))
def test_hat_network_autograd_derivative_is_the_piecewise_derivative(xs):
    """Off {0, ½, 1}: autograd of the network = sympy's d/dx of the Piecewise = hand slope."""
    grad = _autograd_slope(K.hat_network(), xs)
    truth = sympy_values("dhat", xs)
    assert_close(grad, truth, claim="relu_net.derivatives", what="autograd vs sympy")
    assert_close(K.hat_derivative(xs), truth, claim="relu_net.derivatives", what="hand")


@pytest.mark.slow
@pytest.mark.claim("relu_net.derivatives", "relu_net.soft_threshold", kind="autograd")
@given(case=soft_threshold_cases())
@example(case=(np.array([-2.0, -0.5, 0.5, 2.0]), 1.0))
def test_soft_threshold_network_autograd_derivative_is_the_piecewise_derivative(case):
    """Off ±s: autograd = 1 for |x| > s, 0 for |x| < s (sympy's slope of each piece)."""
    xs, s = case
    grad = _autograd_slope(K.soft_threshold_network(s), xs)
    truth = sympy_values("dsoft", xs, s)
    assert_close(grad, truth, claim="relu_net.derivatives", what="autograd vs sympy")
    assert_close(K.soft_threshold_derivative(as_torch(xs), s), grad,
                 claim="relu_net.derivatives", what="hand vs autograd")
    slopes = D.piece_slopes()["soft"]  # (1, 0, 1) on the three pieces
    piece = np.where(xs < -s, 0, np.where(xs < s, 1, 2))
    assert_close(grad, np.array([float(slopes[p]) for p in piece]),
                 claim="relu_net.derivatives", what="autograd vs slope of the piece")


@pytest.mark.slow
@pytest.mark.claim("relu_net.derivatives", kind="autograd")
@given(s=st.floats(0, 3), dtype=DTYPES)
@example(s=0.0, dtype=torch.float64)
def test_derivatives_at_the_breakpoints_are_the_networks_autograd_derivatives(s, dtype):
    """At the kinks {0, ½, 1} and ±s, where the docstrings promise the network's autograd
    derivative (torch's ReLU′(0) = 0, so 0 at each kink of these two networks), the hand
    derivatives give exactly that, numpy and torch, in both float dtypes."""
    s = float(torch.tensor(s, dtype=dtype))  # the threshold the float32 net holds
    for net, hand, points in ((K.hat_network(dtype), K.hat_derivative, [0.0, 0.5, 1.0]),
                              (K.soft_threshold_network(s, dtype),
                               lambda x: K.soft_threshold_derivative(x, s), [-s, s])):
        x = torch.tensor(points, dtype=dtype, requires_grad=True)
        (grad,) = torch.autograd.grad(K.network_forward(net, x).sum(), x)
        assert torch.equal(hand(x.detach()), grad), (points, hand(x.detach()), grad)
        np.testing.assert_array_equal(hand(x.detach().numpy()), grad.numpy())


@pytest.mark.slow
@given(xs=batches(-2, 3))
def test_network_forward_applies_a_network_without_parameters(xs):
    """A parameter-free scalar network (a bare ReLU) is a valid ``net``: there is no dtype to
    match, and the answer is max(x, 0) per point."""
    x = torch.tensor(xs)
    assert torch.equal(K.network_forward(torch.nn.ReLU(), x), torch.clamp(x, min=0))


# ------------------------------------------------------------------ bad input


@pytest.mark.conventions
@pytest.mark.parametrize("s", [-0.1, -1.0, float("nan"), float("inf")])
def test_negative_threshold_is_a_value_error(s):
    for build in (lambda: K.soft_threshold_network(s),
                  lambda: K.soft_threshold(np.zeros(2), s),
                  lambda: K.soft_threshold_derivative(np.zeros(2), s)):
        with pytest.raises(ValueError, match=r"s \(the threshold\) must be a finite number >= 0"):
            build()


@pytest.mark.conventions
def test_network_input_of_the_wrong_shape_is_a_value_error():
    with pytest.raises(ValueError, match=r"x must be 1-D with shape \(N,\)"):
        K.network_forward(K.hat_network(), torch.zeros(3, 1))
    with pytest.raises(TypeError, match="x must be a torch tensor"):
        K.network_forward(K.hat_network(), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        K.hat(np.array([np.nan]))


@pytest.mark.conventions
def test_network_input_of_another_dtype_or_device_than_the_net_is_a_type_error():
    """Either mismatch alone is refused by name (float32 points into a float64 net; CPU points
    into a net moved to ``meta``), not left to torch's matmul error."""
    x = torch.linspace(-1, 2, 5, dtype=torch.float64)
    for net, points in ((K.hat_network(torch.float64), x.float()),
                        (K.hat_network(torch.float64).to("meta"), x)):
        with pytest.raises(TypeError, match="x must have the dtype and device of net's"):
            K.network_forward(net, points)
