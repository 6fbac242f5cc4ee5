"""The checkers can fail: each witness rejects a wrong answer, with a message that shows why.

A suite whose comparison never fails proves nothing; these tests feed the shared checkers
(``dlmath_verify/symbolic.py``, ``dlmath_verify/checks.py``) known-false inputs.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from derivations import softmax as D
from dlmath_verify.checks import (
    VacuousToleranceError,
    assert_close,
    assert_vjp,
    is_meaningful,
    require_meaningful,
)
from dlmath_verify.symbolic import (
    ExactnessError,
    _at,
    _exp_rational_zero,
    _values,
    _zero_at,
    exact_value_is_zero,
    prove_identity,
    rational_point,
    refute_identity,
    symbolically_zero,
)


@pytest.mark.parametrize(
    ("value", "zero"),
    [
        (sp.exp(sp.Rational(1, 2)) ** 2 - sp.E, True),  # e^(1/2)·e^(1/2) = e
        (sp.exp(sp.Rational(1, 3)) / (1 + sp.exp(sp.Rational(1, 3))) - 1
         + 1 / (1 + sp.exp(sp.Rational(1, 3))), True),
        (sp.sqrt(2) + sp.sqrt(3) - sp.sqrt(5 + 2 * sp.sqrt(6)), True),  # denested radical
        (sp.tanh(sp.Rational(1, 2)) - (sp.E - 1) / (sp.E + 1), True),
        (sp.E - sp.Rational(2718281828459045, 10**15), False),  # e is not this rational
        (sp.exp(sp.Rational(1, 6)) ** 6 - sp.E - sp.Rational(1, 10**30), False),
        (sp.sqrt(2) - sp.Rational(141421356237, 10**11), False),
    ],
)
def test_exact_zero_test_decides_constants_without_rounding(value, zero):
    assert exact_value_is_zero(value) is zero


_x, _y = sp.symbols("x y", real=True)
_S = 1 / (1 + sp.exp(-_x))  # the logistic function


_FAST_CASES = [  # (expression, zero everywhere)
    (_S * (1 - _S) - sp.exp(-_x) / (1 + sp.exp(-_x)) ** 2, True),
    (sp.exp(_x) / (sp.exp(_x) + sp.exp(_y)) + sp.exp(_y) / (sp.exp(_x) + sp.exp(_y)) - 1, True),
    ((_x**2 - _y**2) / (_x - _y + 7) - (_x + _y) * (_x - _y) / (_x - _y + 7), True),
    (sp.exp(2 * _x) - sp.exp(_x) ** 2, True),
    (sp.E * sp.exp(-_x) - sp.exp(1 - _x), True),
    (_S * (1 - _S) - sp.exp(-_x) / (1 + sp.exp(-_x)) ** 2 - sp.Rational(1, 10**30), False),
    (sp.exp(_x) / (sp.exp(_x) + sp.exp(_y)) - sp.exp(_x) / (sp.exp(_x) + sp.exp(_y) + _y),
     False),  # zero only where y = 0, and y is drawn positive
    (sp.exp(_x / 2) ** 2 - sp.exp(_x) * (1 + sp.Rational(1, 10**20)), False),
    (sp.tanh(_x) - (sp.exp(2 * _x) - 1) / (sp.exp(2 * _x) + 1), True),  # general path
    (sp.sqrt(2) * _x - sp.sqrt(8) * _x / 2, True),  # algebraic: general path
    ((sp.sqrt(2) - sp.Rational(141421356237, 10**11)) * (_x**2 + 1), False),
]


@pytest.mark.slow
@given(case=st.sampled_from(_FAST_CASES), x=st.fractions(-3, 3, max_denominator=3),
       y=st.fractions(1, 3, max_denominator=3))
def test_the_fast_evaluation_in_q_of_t_decides_as_the_general_path(case, x, y):
    """``_zero_at`` evaluates the tree directly in Q(T) (T = e^{1/q}); the reference is the
    general path, ``exact_value_is_zero`` of the substituted sympy expression. Both are exact,
    so they agree at every point, and on an identity both say zero, elsewhere both nonzero."""
    expr, zero_everywhere = case
    point = {_x: sp.Rational(x.numerator, x.denominator),
             _y: sp.Rational(y.numerator, y.denominator)}
    fast = _zero_at(expr, point)
    assert fast is exact_value_is_zero(_at(expr, point))
    assert fast is zero_everywhere


_EXP_RING_CASES = [
    *[(f"{name}(n={n})", getattr(D, name)(n)[0][i] - getattr(D, name)(n)[1][i])
      for name in ("softmax_vjp", "log_softmax_vjp", "cross_entropy_gradient",
                   "cross_entropy_softmax_chain") for n in (2, 3) for i in (0, n - 1)],
    ("half exponents", (sp.exp(_x / 2) + 1) ** 2 - sp.exp(_x) - 2 * sp.exp(_x / 2) - 1),
    ("a constant inside the exp", sp.exp(_x + sp.Rational(1, 3)) - sp.exp(_x)),
    ("a near identity", sp.exp(_x) / (sp.exp(_x) + sp.exp(_y)) - 1 / (1 + sp.exp(_y - _x))
     + sp.Rational(1, 10**30) * _y),
    ("a polynomial part", _x * sp.exp(2 * _y) - _x * sp.exp(_y) ** 2 + (_x + 1) ** 2 - _x**2),
]


@pytest.mark.parametrize("expr", [e for _, e in _EXP_RING_CASES],
                         ids=[name for name, _ in _EXP_RING_CASES])
def test_the_exp_ring_decides_as_sympys_canonicalisation(expr):
    """``_exp_rational_zero`` (exp of linear forms as monomials in E_s = e^{s/q_s} and
    T = e^{1/q}) decides each case, and as ``cancel(expand(...))`` does: the derivations'
    identities zero, the perturbed ones not."""
    fast = _exp_rational_zero(expr)
    assert fast is not None, f"not decided in the ring: {expr}"
    assert fast is (sp.cancel(sp.expand(expr)) == 0)


def test_the_exp_ring_leaves_what_it_cannot_decide_to_the_general_path():
    beta = sp.Symbol("beta", positive=True)
    for expr in (sp.exp(beta * _x) - 1, sp.log(_x) - 1, sp.sqrt(2) * sp.exp(_x) - 1):
        assert _exp_rational_zero(expr) is None, expr


@given(k=st.integers(-3, 3))
def test_the_fast_evaluation_treats_a_pole_as_a_point_to_redraw(k):
    from hypothesis.errors import UnsatisfiedAssumption

    with pytest.raises(UnsatisfiedAssumption):
        _zero_at((_x + 5) / (_x - k) - sp.exp(_x), {_x: sp.Integer(k)})


def test_exact_zero_test_refuses_to_guess_about_logs():
    with pytest.raises(ExactnessError, match="compare exp of both sides"):
        exact_value_is_zero(sp.log(2) + sp.log(3) - sp.log(6) + sp.exp(sp.Rational(1, 2)))


@pytest.mark.slow
@given(n=st.integers(2, 4), data=st.data())
def test_prove_identity_rejects_the_jacobian_without_its_outer_product(n, data):
    derived, _ = D.softmax_jacobian(n)
    with pytest.raises(AssertionError, match=r"identity fails .* \(exactly nonzero\)"):
        prove_identity(derived, sp.diag(*D.softmax(n)), claim="mutant", data=data)


@given(n=st.integers(2, 4), data=st.data())
def test_refute_identity_rejects_a_true_identity(n, data):
    with pytest.raises(AssertionError, match="expected to be false but sympy proves it"):
        refute_identity(*D.softmax_jacobian(n), claim="mutant", data=data)


def test_a_wrong_symbolic_step_is_caught_by_the_exact_evaluation(monkeypatch):
    """sympy made to "prove" everything: a false identity still fails at an exact point, and
    keeps failing when Hypothesis replays it. eˣ(1 + x·y) = eˣ holds wherever x or y is 0,
    where Hypothesis's first points lie; such points do not count towards the guard's budget
    (only generic ones do), and once the guard has failed the entry is evaluated on every
    call: the run ends with the AssertionError, not with a FlakyFailure."""
    from hypothesis import settings

    import dlmath_verify.symbolic as S

    monkeypatch.setattr(S, "symbolically_zero", lambda expr: True)
    x, y = sp.symbols("x_wrong_step y_wrong_step", real=True)

    @settings(max_examples=30, derandomize=True, database=None)
    @given(data=st.data())
    def prove(data):
        prove_identity(sp.exp(x) * (1 + x * y), sp.exp(x), claim="mutant", data=data)

    with pytest.raises(AssertionError, match=r"identity fails .* \(exactly nonzero\)"):
        prove()


def test_an_entry_whose_guard_failed_is_evaluated_even_past_its_budget(monkeypatch):
    """A false identity "proven" by a wrong canonicaliser and already past its budget passes
    unevaluated; once its guard has failed in this process it is evaluated again, so a
    replayed failure cannot turn into a pass."""
    import dlmath_verify.symbolic as S

    monkeypatch.setattr(S, "symbolically_zero", lambda expr: True)
    x = sp.Symbol("x_memory", real=True)
    lhs, rhs = sp.exp(x) * (x + 1), sp.exp(x) * x
    monkeypatch.setitem(S._sanity_points, lhs - rhs, 99)

    @given(data=st.data())
    def prove(data):
        prove_identity(lhs, rhs, claim="mutant", data=data)

    prove()  # trusted: nothing evaluated
    monkeypatch.setattr(S, "_guard_failed", {lhs - rhs})
    with pytest.raises(AssertionError, match=r"identity fails .* \(exactly nonzero\)"):
        prove()


def test_a_proven_entry_is_evaluated_at_three_points_then_trusted(monkeypatch):
    """The guard's budget: three exact evaluations of a proven entry per process at points
    where its sides are nonzero, whatever the number of Hypothesis examples; an entry not
    proven symbolically is evaluated on every call."""
    from hypothesis import settings

    import dlmath_verify.symbolic as S

    x = sp.Symbol("x_budget", real=True)
    lhs, rhs = sp.tanh(x), (sp.exp(2 * x) - 1) / (sp.exp(2 * x) + 1)
    calls = []
    monkeypatch.setattr(S, "_zero_at", lambda e, p: calls.append((e, p)) or _zero_at(e, p))

    @settings(max_examples=10, derandomize=True, database=None)
    @given(data=st.data())
    def prove(data):
        prove_identity(lhs, rhs, claim="budget", data=data)

    prove()
    guards = [p for e, p in calls if e == lhs - rhs]
    generic = [p for p in guards if all(v != 0 for v in p.values()) and not _zero_at(lhs, p)]
    assert len(generic) == S._SANITY_POINTS, guards
    assert len(guards) < 10  # trusted before the examples ran out
    calls.clear()
    monkeypatch.setattr(S, "symbolically_zero", lambda expr: False)  # decided by points alone
    prove()
    assert len([e for e, _ in calls if e == lhs - rhs]) >= 10, len(calls)


def test_symbolic_canonicalisation_is_not_fooled_by_a_near_identity():
    x = sp.Symbol("x", real=True)
    tiny = sp.Rational(1, 10**30)
    assert symbolically_zero(sp.tanh(x) - (sp.exp(2 * x) - 1) / (sp.exp(2 * x) + 1))
    assert not symbolically_zero(sp.tanh(x) - (sp.exp(2 * x) - 1) / (sp.exp(2 * x) + 1 + tiny))


def test_polynomial_identities_are_decided_in_the_ring_and_near_identities_are_not():
    x, y, z = sp.symbols("x y z", real=True)
    cube = (x + y - 2 * z) ** 3
    expanded = sp.expand(cube)
    assert symbolically_zero(cube - expanded)
    assert not symbolically_zero(cube - expanded + sp.Rational(1, 10**30))
    assert not symbolically_zero(cube - expanded + x * y * z * sp.Rational(1, 10**30))
    assert symbolically_zero(((x + 1) ** 2) ** 3 - (x + 1) ** 6)


@pytest.mark.slow
def test_a_depth_three_cubic_conv_net_is_proven_in_the_ring():
    """The recursion of 001 Problem 4 on n0 = 5, filters (3, 3, 1), cubic activations: a
    degree-13 polynomial in 15 symbols per entry. Hypothesis's dev profile drew it and sympy's
    expand ran for over ten minutes; the ring decides it in about a second an entry."""
    from derivations import conv as C

    derived, closed = C.network_gradients(5, (3, 3, 1), "cubic")
    for lhs, rhs in zip(derived, closed, strict=True):
        assert all(symbolically_zero(a - b) for a, b in zip(lhs, rhs, strict=True))
    assert not symbolically_zero(derived[0][0] - closed[0][0] - closed[1][0])


def test_floats_are_refused_in_an_exact_proof():
    """A sympy Float rounds (1 + 1e-30 == 1.0): an identity with floats proves nothing."""
    x = sp.Symbol("x", real=True)
    with pytest.raises(ExactnessError, match="floating-point number"):
        symbolically_zero(sp.Float(0.1) * sp.exp(x) - sp.exp(x) / 3)


_X, _Y = sp.symbols("x y", real=True)
_S = sp.Symbol("s", nonnegative=True)


@pytest.mark.parametrize(
    ("lhs", "rhs", "region"),
    [
        # both held at every point of the old 25-value grid [−3, 3] (denominators ≤ 3)
        (sp.Max(_X - 3, 0), sp.S.Zero, "x - 3 > 0"),
        (sp.Heaviside(_X - sp.Rational(7, 2)), sp.S.Zero, "x - 7/2 > 0"),
        # ReLU' with its threshold moved to 1/200: false on (0, 1/200]
        (sp.Heaviside(_X), sp.Piecewise((1, _X > sp.Rational(1, 200)), (0, True)), "x > 0"),
    ],
    ids=["max-x-minus-3", "heaviside-x-minus-7/2", "relu-threshold-1/200"],
)
@given(data=st.data())
def test_prove_identity_refutes_a_piecewise_identity_on_the_region_where_it_fails(
        lhs, rhs, region, data):
    with pytest.raises(AssertionError, match=rf"identity fails .*on the region {region}.*"
                                             r"\(exactly nonzero\)"):
        prove_identity(lhs, rhs, claim="mutant", data=data, heaviside_at_zero=0)


@pytest.mark.parametrize(
    ("lhs", "rhs"),
    [
        (sp.Abs(_X - _Y), sp.Max(_X, _Y) - sp.Min(_X, _Y)),
        (sp.Max(0, _X - _S) - sp.Max(0, -_X - _S), sp.sign(_X) * sp.Max(sp.Abs(_X) - _S, 0)),
        (sp.diff(sp.Max(_X, 0), _X), sp.Piecewise((1, _X > 0), (0, True))),
    ],
    ids=["abs-is-max-minus-min", "soft-threshold-for-every-s", "relu-derivative-at-h0-zero"],
)
@given(data=st.data())
def test_prove_identity_proves_piecewise_identities_by_cases(lhs, rhs, data):
    assert prove_identity(lhs, rhs, claim="demo", data=data, heaviside_at_zero=0) == "cases"


@pytest.mark.parametrize(
    ("lhs", "message"),
    [
        (sp.sin(_X) ** 2 + sp.cos(_X) ** 2 - 1, r"containing (sin|cos)"),
        (sp.Max(_X * _Y, 0), r"sign of .*x\*y.*not linear"),
        (sp.diff(sp.Max(_X, 0), _X) - sp.Piecewise((1, _X > 0), (0, True)),
         r"Heaviside\(x\) at its breakpoint x = 0: .*heaviside_at_zero="),
        (sp.Function("f")(_X), r"containing f"),
        (sp.DiracDelta(_X), r"containing DiracDelta"),
    ],
    ids=["trigonometric", "nonlinear-condition", "heaviside-without-convention",
         "undefined-function", "dirac-delta"],
)
@given(data=st.data())
def test_prove_identity_refuses_what_it_cannot_decide_and_names_it(lhs, message, data):
    with pytest.raises(ExactnessError, match=message):
        prove_identity(lhs, 0, claim="demo", data=data)


@given(data=st.data())
def test_a_point_where_both_sides_vanish_proves_nothing(data):
    """x·y = 0 holds at the all-zero point; with the symbolic step failing, that point does
    not count and the next one (zeros replaced) shows the identity false."""
    origin = st.just({_X: sp.S.Zero, _Y: sp.S.Zero})
    with pytest.raises(AssertionError, match=r"identity fails .*\(exactly nonzero\)"):
        prove_identity(_X * _Y, 0, claim="mutant", data=data, point_strategy=origin)


def test_assert_close_message_names_claim_shape_largest_difference_index_and_both_values():
    actual = np.zeros((2, 3))
    expected = actual.copy()
    expected[1, 2] = 0.25
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, claim="demo.claim", what="kernel vs truth")
    msg = str(info.value)
    for part in ("demo.claim", "kernel vs truth", "shape (2, 3)", "largest difference 0.25",
                 "index (1, 2)", "actual 0.0", "expected 0.25"):
        assert part in msg, f"{part!r} missing from: {msg}"


def test_assert_close_checks_shape_and_dtype_before_values():
    with pytest.raises(AssertionError, match=r"shape \(3,\) != expected shape \(1, 3\)"):
        assert_close(np.zeros(3), np.zeros((1, 3)), claim="demo")
    with pytest.raises(AssertionError, match="dtype float32 != expected dtype float64"):
        assert_close(np.zeros(3, np.float32), np.zeros(3), claim="demo")


@pytest.mark.slow
@given(data=st.data())
def test_dot_product_test_catches_a_wrong_matmul_weight_gradient(data):
    n, k, m = (data.draw(st.integers(2, 4)) for _ in range(3))
    ints = st.integers(-3, 3).map(float)  # integer entries: the error below is never tiny
    x, w, u, vx, vw = (torch.tensor(data.draw(st.lists(st.lists(ints, min_size=c, max_size=c),
                                                        min_size=r, max_size=r)))
                       for r, c in ((n, k), (k, m), (n, m), (n, k), (k, m)))
    right = lambda g: (g @ w.T, x.T @ g)  # noqa: E731  ∇X = ∇Y Wᵀ, ∇W = Xᵀ ∇Y
    assert_vjp(torch.matmul, right, [x, w], u, [vx, vw], claim="demo")
    wrong = lambda g: (g @ w.T, (x.T @ g) * 1.5)  # noqa: E731  a scaled weight gradient
    if float((x.T @ u * vw).sum()) != 0:  # otherwise the two agree exactly in this direction
        with pytest.raises(AssertionError, match="dot-product test fails"):
            assert_vjp(torch.matmul, wrong, [x, w], u, [vx, vw], claim="demo")


def test_assert_close_without_a_claim_still_names_what_shapes_and_values():
    """Outside this suite ``claim=`` is optional; the message keeps everything else."""
    with pytest.raises(AssertionError) as info:
        assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.5]), what="dx")
    msg = str(info.value)
    assert "claim" not in msg
    for part in ("dx", "shape (2,)", "largest difference 0.5", "index (1,)", "actual 2.0",
                 "expected 2.5"):
        assert part in msg, f"{part!r} missing from: {msg}"


@pytest.mark.parametrize(
    ("dtype", "rtol", "atol"),
    # torch.testing.assert_close's documented defaults for the half precisions
    [(torch.float16, 1e-3, 1e-5), (torch.bfloat16, 1.6e-2, 1e-5)],
)
def test_half_precision_rows_follow_torch_testing_and_reject_one_ulp_too_far(dtype, rtol, atol):
    from dlmath_verify.checks import tolerance

    assert (tolerance(dtype).rtol, tolerance(dtype).atol) == (rtol, atol)
    expected = torch.tensor([1.0, -3.0, 0.0], dtype=dtype)
    assert_close(expected.clone(), expected)  # equal tensors pass, no claim needed
    # 1 + 2·rtol is outside the band |a − e| ≤ atol + rtol·|e| at e = 1
    wrong = torch.tensor([1.0 + 4 * rtol, -3.0, 0.0], dtype=dtype)
    with pytest.raises(AssertionError, match=f"values differ.*dtype {dtype}"):
        assert_close(wrong, expected)


def test_assertion_helpers_hide_their_frames_so_a_failure_points_at_the_callers_line(
        pytester):
    pytester.makepyfile(test_user="""
        import numpy as np
        from dlmath_verify.checks import assert_close

        def test_mine():
            assert_close(np.zeros(2), np.ones(2), what="my kernel")  # the user's line
    """)
    # The file is named: in-process, the registry holds this suite's claims, whose required
    # witness kinds a run of the whole (foreign) directory would rightly find missing.
    result = pytester.runpytest("test_user.py", "-p", "dlmath_verify.plugin",
                                "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "the user's line" in out
    assert "checks.py" not in out, out  # no frame of the helper itself


def test_tolerance_policy_refuses_an_assertion_that_cannot_fail():
    """The former float32 log-softmax check allowed 0.1 absolute (atol 1e-5 × growth 1e4): on
    values of size 0.69 that is 14% of the magnitude, refused; at the table's own tolerance
    it is a check."""
    values = np.log(np.array([0.5, 0.5], dtype=np.float32))
    with pytest.raises(VacuousToleranceError, match=r"allowed error 0\.1.* exceeds 10%"):
        require_meaningful(values, claim="demo", dtype=np.float32, growth=1e4)
    require_meaningful(values, claim="demo", dtype=np.float32)
    assert not is_meaningful(np.zeros(3), dtype=np.float64)


@given(data=st.data())
def test_rational_points_are_the_small_fractions_of_each_symbols_domain(data):
    """A drawn point gives a real symbol a fraction p/q in [−3, 3] with q ≤ 3, a positive one
    a value in (0, 3], a nonnegative one [0, 3]; and every such value can be drawn: the
    domain of a real symbol has 7 + 6 + 12 = 25 values (q = 1: −3…3; q = 2: odd p in
    −5…5; q = 3: p in −8…8 not divisible by 3), of a positive one 3 + 3 + 6 = 12."""
    real, pos, nonneg = (sp.Symbol("a", real=True), sp.Symbol("b", positive=True),
                         sp.Symbol("c", nonnegative=True))
    point = data.draw(rational_point([real, pos, nonneg]))
    assert all(v.is_Rational and v.q <= 3 for v in point.values()), point
    assert -3 <= point[real] <= 3 and 0 < point[pos] <= 3 and 0 <= point[nonneg] <= 3, point
    assert len(_values(Fraction(-3), Fraction(3), 3)) == 25
    assert len(_values(Fraction(1, 3), Fraction(3), 3)) == 12
    assert _values(Fraction(-3), Fraction(3), 3)[:3] == (0, 1, -1)  # shrinks towards 0, ±1
