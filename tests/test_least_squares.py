r"""Least squares and gradient descent, three witnesses.

1. sympy (``derivations/least_squares.py``): the gradient and the unrolled iterates with
   ``MatrixSymbol``s of symbolic size, the minimiser and the seed's w₁, w₂, w_k with explicit
   small matrices (exact), the induction step for symbolic k, and the spectral condition;
2. the hand kernels (``impl/least_squares.py``), numpy and torch;
3. torch autograd (the gradient) and ``numpy.linalg.lstsq`` (the minimiser).

The seed's "I − αXᵀX is positive definite" is refuted with an exact certificate, and the
corrected claim (spectral radius below one) is proven and shown sharp on both sides.

Seed: ``002_f6a45d0186751a72.txt`` Q5 (Exercises 15–18).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import assume, example, given, note
from hypothesis import strategies as st

from derivations import least_squares as D
from dlmath_verify.checks import assert_close, record_counterexample, to_numpy
from dlmath_verify.strategies import arrays, as_torch
from dlmath_verify.symbolic import prove_identity
from impl import least_squares as K

BACKENDS = st.sampled_from(["numpy", "torch"])
# explicit-matrix sizes (n, d, largest k) small enough for sympy's expansion (< 2 s each)
EXPLICIT = st.sampled_from([(1, 1, 6), (2, 1, 5), (3, 1, 4), (2, 2, 3), (3, 2, 2)])


@cache
def _simplified_induction_gap() -> sp.Expr:
    """simplify((lhs − rhs).doit()) of the symbolic-k induction step, once per run."""
    lhs, rhs, _ = D.induction_step_scalar()
    return sp.simplify((lhs - rhs).doit())


def _is_zero(expr: Any) -> bool:
    return expr == 0 or isinstance(expr, sp.ZeroMatrix)


# ------------------------------------------------------------------ 1. symbolic witness


@pytest.mark.claim("least_squares.gradient", kind="symbolic")
@given(n=st.integers(1, 3), d=st.integers(1, 3), data=st.data())
def test_gradient_of_half_squared_residual_is_Xt_residual(n, d, data):
    """∇_w ½‖Xw − y‖² = Xᵀ(Xw − y): MatrixSymbols of symbolic size, then explicit n×d."""
    assert _is_zero(D.gradient_matrix_symbols()), D.gradient_matrix_symbols()
    prove_identity(*D.loss_gradient(n, d), claim="least_squares.gradient", data=data)


@pytest.mark.claim("least_squares.minimiser", kind="symbolic")
@given(shape=st.sampled_from([(1, 1), (2, 1), (3, 1), (2, 2), (3, 2)]), data=st.data())
def test_minimiser_zeroes_the_gradient_and_hessian_is_XtX(shape, data):
    """Xᵀ(Xw* − y) ≡ 0 for w* = (XᵀX)⁻¹Xᵀy (as a rational function of X's entries: exact at
    points where det XᵀX ≠ 0), and the Hessian is XᵀX (positive definite for full column
    rank, so w* is the unique minimiser)."""
    n, d = shape
    prove_identity(D.gradient_at_minimiser(n, d), sp.zeros(d, 1),
                   claim="least_squares.minimiser", data=data, points=1)
    prove_identity(*D.hessian(n, d), claim="least_squares.minimiser", data=data, points=1)


@pytest.mark.claim("least_squares.first_iterates", kind="symbolic")
@given(shape=st.sampled_from([(1, 1), (2, 1), (3, 1), (2, 2)]), data=st.data())
def test_seed_first_and_second_iterates(shape, data):
    """Exercise 16: w₁ = (I − αXᵀX)w₀ + αXᵀy, w₂ = (I − αXᵀX)²w₀ + (I − αXᵀX)αXᵀy + αXᵀy."""
    n, d = shape
    w1, w2 = D.seed_first_iterates(n, d)
    iterates = D.gd_iterates(n, d, 2)
    prove_identity(iterates[1], w1, claim="least_squares.first_iterates", data=data)
    prove_identity(iterates[2], w2, claim="least_squares.first_iterates", data=data)


@pytest.mark.slow
@pytest.mark.claim("least_squares.iterate_closed_form", kind="symbolic")
@given(k=st.integers(0, 10))
def test_gd_unrolled_k_steps_is_the_closed_form_with_matrix_symbols(k):
    """One GD step is w ↦ (I − αXᵀX)w + αXᵀy (symbolic n, d), and k steps of w ↦ Aw + αb
    expand to A^k w₀ + α Σ_{i<k} A^i b (A, b MatrixSymbols, d symbolic)."""
    assert _is_zero(D.gd_step_is_affine_matrix_symbols()), D.gd_step_is_affine_matrix_symbols()
    diff = D.unrolled_matrix_symbols(k)
    assert _is_zero(diff), f"claim least_squares.iterate_closed_form: k={k}: {diff}"


@pytest.mark.slow
@pytest.mark.claim("least_squares.iterate_closed_form", kind="symbolic")
@given(size=EXPLICIT, data=st.data())
def test_gd_iterate_is_the_closed_form_with_explicit_matrices(size, data):
    """The same in X itself (explicit n×d), exact at rational points, for drawn k."""
    n, d, k_max = size
    k = data.draw(st.integers(0, k_max), label="k")
    prove_identity(D.gd_iterates(n, d, k)[k], D.iterate_closed_form(n, d, k),
                   claim="least_squares.iterate_closed_form", data=data, points=1)


@pytest.mark.claim("least_squares.iterate_closed_form", kind="symbolic")
@given(k=st.integers(1, 30), point=st.tuples(*[st.fractions(-3, 3, max_denominator=4)] * 4))
def test_closed_form_induction_step_for_symbolic_k(k, point):
    """a(a^k w + α Σ_{i<k} aⁱ b) + αb = a^{k+1} w + α Σ_{i≤k} aⁱ b with k a *symbol* (sympy
    sums the geometric series, both branches), then exact at a drawn integer k and rationals."""
    lhs, rhs, ksym = D.induction_step_scalar()
    assert _simplified_induction_gap() == 0
    a, w, b = sp.symbols("a w b")
    values = dict(zip((a, w, b, D.alpha), (sp.Rational(f.numerator, f.denominator)
                                           for f in point), strict=True))
    values[D.alpha] = abs(values[D.alpha]) + 1  # α > 0
    values[ksym] = k
    assert (lhs - rhs).xreplace(values).doit() == 0


@pytest.mark.claim("least_squares.converges_iff_step_below_two_over_lambda_max", kind="symbolic")
@given(k=st.integers(0, 10))
def test_gd_error_is_iteration_matrix_power_times_initial_error(k):
    """w_k − w* = A^k (w₀ − w*) for every k (MatrixSymbols; w* enters by the normal equations)."""
    diff = D.error_recursion_matrix_symbols(k)
    assert _is_zero(diff), f"claim least_squares.converges...: k={k}: {diff}"


@pytest.mark.claim("least_squares.spectral_radius_below_one", kind="symbolic")
@given(d=st.integers(1, 3), data=st.data())
def test_eigenvalues_of_iteration_matrix_are_one_minus_alpha_lambda(d, data):
    """det(tI − (I − αM)) = (−α)^d det(((1 − t)/α)I − M): spec(I − αM) = {1 − αλ_i}."""
    lhs, rhs, _t = D.eigenvalue_map(d)
    prove_identity(lhs, rhs, claim="least_squares.spectral_radius_below_one", data=data)


@pytest.mark.slow
@pytest.mark.claim("least_squares.spectral_radius_below_one", kind="symbolic")
@given(d=st.integers(1, 2), k=st.integers(0, 5), data=st.data())
def test_neumann_partial_sums_telescope(d, k, data):
    """(αXᵀX) Σ_{i<k} A^i = I − A^k: with ρ(A) < 1 the series is (αXᵀX)⁻¹ (what the seed's
    limit uses; it needs αXᵀX invertible, not I − αXᵀX)."""
    prove_identity(*D.telescoping(d, k), claim="least_squares.spectral_radius_below_one",
                   data=data)


@pytest.mark.slow
@pytest.mark.claim("least_squares.spectral_radius_below_one", kind="symbolic")
@given(lam=st.fractions(Fraction(1, 7), 20, max_denominator=7))
def test_contraction_condition_is_exactly_zero_below_alpha_below_two_over_lambda(lam):
    """sympy solves |1 − αλ| < 1 over α > 0 to (0, 2/λ) for each eigenvalue λ > 0; so
    ρ(I − αXᵀX) < 1 ⟺ α < 2/λ_max. Requiring 1 − αλ > 0 (positive definiteness) gives only
    (0, 1/λ): a strictly smaller interval, which is why the seed's wording fails."""
    value = sp.Rational(lam.numerator, lam.denominator)
    solved, expected = D.contraction_condition()
    assert solved.xreplace({D.lam: value}) == expected.xreplace({D.lam: value})
    pd, pd_expected = D.positive_definite_condition()
    assert pd.xreplace({D.lam: value}) == pd_expected.xreplace({D.lam: value})
    assert pd_expected.xreplace({D.lam: value}) != expected.xreplace({D.lam: value})


@st.composite
def rational_designs(draw) -> sp.Matrix:
    """A small integer matrix X (n×d) of full column rank (checked exactly)."""
    d = draw(st.integers(1, 3), label="d")
    n = draw(st.integers(d, 4), label="n")
    X = sp.Matrix(n, d, draw(st.lists(st.integers(-3, 3), min_size=n * d, max_size=n * d)))
    assume(X.rank() == d)
    return X


@pytest.mark.claim("least_squares.iteration_matrix_positive_definite", kind="symbolic")
@given(X=rational_designs(), c=st.fractions(Fraction(6, 10), Fraction(19, 20)))
@example(X=sp.Matrix([[1]]), c=Fraction(3, 4))  # λ = 1, α = 3/2: I − αXᵀX = −1/2
def test_seed_claim_iteration_matrix_is_positive_definite_is_false(X, c):
    """Seed Exercise 18: "0 < α < 2/λ_max … I − αXᵀX is positive definite". Counterexample
    with an exact certificate: α (rational, ≈ c·2/λ_max with c ∈ (½, 1)) satisfies
    2I − αXᵀX ≻ 0 (i.e. α < 2/λ_max, checked exactly), yet zᵀ(I − αXᵀX)z < 0 exactly for z
    the (rationalised) top eigenvector."""
    M = X.T * X
    lam_max = float(np.linalg.eigvalsh(np.array(M, dtype=float)).max())
    alpha = sp.nsimplify(2 * float(c) / lam_max, rational=True, tolerance=1e-6)
    d = M.shape[0]
    assert alpha > 0 and (2 * sp.eye(d) - alpha * M).is_positive_definite, (
        "the claim's hypothesis 0 < α < 2/λ_max must hold exactly")
    top = np.linalg.eigh(np.array(M, dtype=float))[1][:, -1]
    z = sp.Matrix([sp.nsimplify(float(v), rational=True, tolerance=1e-8) for v in top])
    quad = (z.T * (sp.eye(d) - alpha * M) * z)[0]
    assert quad < 0, f"zᵀ(I − αXᵀX)z = {quad} is not negative"
    assert not (sp.eye(d) - alpha * M).is_positive_definite
    record_counterexample(
        "least_squares.iteration_matrix_positive_definite",
        f"X = {X.tolist()}, α = {alpha} < 2/λ_max = {2 / lam_max:.6g}, but z = {list(z)} gives "
        f"zᵀ(I − αXᵀX)z = {quad} < 0",
    )
    # the corrected claim holds at the same point: ρ(I − αXᵀX) < 1
    rho = K.iteration_spectral_radius(np.array(X, dtype=float), float(alpha))
    assert rho < 1, f"claim least_squares.spectral_radius_below_one: ρ = {rho}"


# ------------------------------------------------------- 2./3. kernels, autograd, lstsq


def backend(x: np.ndarray, which: str) -> Any:
    return as_torch(x) if which == "torch" else x


@st.composite
def conditioned_designs(draw, *, max_cond: float = 5.0):
    """X = Q₁ diag(σ) Q₂ᵀ of full column rank with cond(X) ≤ max_cond: Q₁ (n×d), Q₂ (d×d)
    orthonormal from QR of drawn matrices, σ ∈ [1, max_cond]. Returns (X, σ): XᵀX has
    eigenvalues σ², known independently of any eigen-solver."""
    d = draw(st.integers(1, 3), label="d")
    n = draw(st.integers(d, 5), label="n")
    g = draw(arrays((n, d), min_value=-1, max_value=1), label="G")
    h = draw(arrays((d, d), min_value=-1, max_value=1), label="H")
    q1 = np.linalg.qr(g + np.eye(n, d))[0]
    q2 = np.linalg.qr(h + np.eye(d))[0]
    sigma = np.array(draw(st.lists(st.floats(1.0, max_cond), min_size=d, max_size=d)))
    return q1 @ np.diag(sigma) @ q2.T, sigma


@pytest.mark.claim("least_squares.gradient", kind="autograd")
@given(design=conditioned_designs(), data=st.data(), which=BACKENDS)
def test_gradient_kernel_matches_autograd(design, data, which):
    X, _ = design
    n, d = X.shape
    w = data.draw(arrays((d,), min_value=-5, max_value=5), label="w")
    y = data.draw(arrays((n,), min_value=-5, max_value=5), label="y")
    wt = torch.from_numpy(w).requires_grad_()
    loss = 0.5 * ((torch.from_numpy(X) @ wt - torch.from_numpy(y)) ** 2).sum()
    (auto,) = torch.autograd.grad(loss, wt)
    got = K.least_squares_gradient(backend(X, which), backend(w, which), backend(y, which))
    assert_close(got, auto, claim="least_squares.gradient", what="hand vs autograd")
    assert_close(K.least_squares_loss(backend(X, which), backend(w, which), backend(y, which)),
                 loss.detach(), claim="least_squares.gradient", what="loss")


@pytest.mark.claim("least_squares.minimiser", kind="implementation")
@given(design=conditioned_designs(), data=st.data(), which=BACKENDS)
def test_minimiser_kernel_matches_lstsq(design, data, which):
    """(XᵀX)⁻¹Xᵀy against numpy.linalg.lstsq (SVD-based). Solving the normal equations loses
    a factor κ(XᵀX) = κ(X)² ≤ 25 in accuracy: growth = κ(X)²."""
    X, sigma = design
    y = data.draw(arrays((X.shape[0],), min_value=-5, max_value=5), label="y")
    got = K.least_squares_minimiser(backend(X, which), backend(y, which))
    ref = np.linalg.lstsq(X, y, rcond=None)[0]
    assert_close(got, ref, claim="least_squares.minimiser", what="vs numpy.linalg.lstsq",
                 growth=(sigma.max() / sigma.min()) ** 2)


@pytest.mark.claim("least_squares.iterate_closed_form", "least_squares.first_iterates",
                   kind="implementation")
@given(design=conditioned_designs(), data=st.data(), which=BACKENDS)
def test_gradient_descent_iterates_equal_the_closed_form(design, data, which):
    """GD iterate k = A^k w₀ + α Σ_{i<k} A^i Xᵀy, for 0 < α < 2/λ_max (‖A‖ ≤ 1 keeps both
    bounded); k matrix-vector steps each side: growth = k + 1."""
    X, sigma = design
    n, d = X.shape
    k = data.draw(st.integers(0, 40), label="k")
    c = data.draw(st.floats(0.01, 0.99), label="c")
    alpha = c * 2 / sigma.max() ** 2
    y = data.draw(arrays((n,), min_value=-5, max_value=5), label="y")
    w0 = data.draw(arrays((d,), min_value=-5, max_value=5), label="w0")
    iterates = K.gradient_descent(backend(X, which), backend(y, which), backend(w0, which),
                                  alpha, k)
    assert tuple(iterates.shape) == (k + 1, d)
    closed = K.gd_iterate_closed_form(backend(X, which), backend(y, which), backend(w0, which),
                                      alpha, k)
    assert_close(iterates[k], closed, claim="least_squares.iterate_closed_form",
                 what=f"GD iterate {k} vs closed form", growth=k + 1)
    if k >= 1:  # the seed's w₁ written out: (I − αXᵀX)w₀ + αXᵀy
        w1 = (np.eye(d) - alpha * X.T @ X) @ w0 + alpha * X.T @ y
        assert_close(iterates[1], backend(w1, which), claim="least_squares.first_iterates")


def _run_until(X, y, w0, alpha, rho, target=1e-12, cap=4000):
    """Enough GD steps for ρ^k ≤ target (k ≤ cap)."""
    k = min(cap, math.ceil(math.log(target) / math.log(rho))) if rho > 0 else 1
    return K.gradient_descent(X, y, w0, alpha, k), k


@pytest.mark.claim("least_squares.converges_iff_step_below_two_over_lambda_max",
                   "least_squares.spectral_radius_below_one", kind="implementation")
@given(design=conditioned_designs(max_cond=3.0), data=st.data())
def test_gradient_descent_converges_to_lstsq_below_two_over_lambda_max(design, data):
    """0 < α = c·2/λ_max < 2/λ_max (c ∈ [0.1, 0.95]): ρ = max|1 − ασ_i²| < 1 and
    ‖w_k − w*‖ ≤ ρ^k ‖w₀ − w*‖ (+ rounding), so w_k reaches numpy.linalg.lstsq's solution."""
    X, sigma = design
    n, d = X.shape
    c = data.draw(st.floats(0.1, 0.95), label="c")
    alpha = c * 2 / sigma.max() ** 2
    rho = float(np.abs(1 - alpha * sigma**2).max())
    assert rho < 1
    assert math.isclose(K.iteration_spectral_radius(X, alpha), rho, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(K.step_size_limit(X), 2 / sigma.max() ** 2, rel_tol=1e-9)
    y = data.draw(arrays((n,), min_value=-5, max_value=5), label="y")
    w0 = data.draw(arrays((d,), min_value=-5, max_value=5), label="w0")
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    iterates, k = _run_until(X, y, w0, alpha, rho)
    e0 = np.linalg.norm(w0 - w_star)
    errors = np.linalg.norm(iterates - w_star, axis=1)
    slack = 1e-12 * (1 + np.linalg.norm(w_star)) * (sigma.max() / sigma.min()) ** 2
    assert np.all(errors <= rho ** np.arange(k + 1) * e0 + slack), "error above ρ^k‖e₀‖"
    assert_close(iterates[k], w_star, claim="least_squares.converges_iff_step_below_two_over_"
                 "lambda_max", what=f"w_{k} vs lstsq")


@st.composite
def generic_start(draw, X: np.ndarray, y: np.ndarray):
    """w₀ with a component along XᵀX's top eigenvector: |⟨w₀ − w*, u_max⟩| ≥ 0.1."""
    d = X.shape[1]
    w0 = draw(arrays((d,), min_value=-5, max_value=5), label="w0")
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    u = np.linalg.eigh(X.T @ X)[1][:, -1]
    assume(abs((w0 - w_star) @ u) >= 0.1)
    return w0, w_star, abs((w0 - w_star) @ u)


@pytest.mark.slow
@pytest.mark.claim("least_squares.converges_iff_step_below_two_over_lambda_max",
                   kind="implementation")
@given(design=conditioned_designs(), data=st.data())
def test_gradient_descent_diverges_above_two_over_lambda_max(design, data):
    """α = c·2/λ_max with c ∈ [1.05, 2]: the top eigen-direction is multiplied by
    1 − αλ_max = 1 − 2c ≤ −1.1 each step, so ‖w_k − w*‖ ≥ (2c − 1)^k |⟨w₀ − w*, u_max⟩|."""
    X, sigma = design
    c = data.draw(st.floats(1.05, 2.0), label="c")
    alpha = c * 2 / sigma.max() ** 2
    y = data.draw(arrays((X.shape[0],), min_value=-5, max_value=5), label="y")
    w0, w_star, component = data.draw(generic_start(X, y))
    assert K.iteration_spectral_radius(X, alpha) > 1
    e0 = np.linalg.norm(w0 - w_star)
    k = math.ceil(math.log(1e3 * e0 / component) / math.log(2 * c - 1))  # floor reaches 1e3·e0
    errors = np.linalg.norm(K.gradient_descent(X, y, w0, alpha, k) - w_star, axis=1)
    floor = (2 * c - 1) ** np.arange(k + 1) * component
    assert np.all(errors >= floor * (1 - 1e-9)), "GD above 2/λ_max did not grow as (2c − 1)^k"
    assert errors[k] >= 1e3 * errors[0] * (1 - 1e-9), f"after {k} steps: {errors[k]}"


@pytest.mark.slow
@pytest.mark.claim("least_squares.converges_iff_step_below_two_over_lambda_max",
                   "least_squares.spectral_radius_below_one", kind="implementation")
@given(design=conditioned_designs(max_cond=2.0), data=st.data(),
       eps=st.sampled_from([0.02, 0.05]))
def test_step_size_condition_is_sharp(design, data, eps):
    """Same X, y, w₀: α = (1 − ε)·2/λ_max converges, α = (1 + ε)·2/λ_max diverges."""
    X, _sigma = design
    y = data.draw(arrays((X.shape[0],), min_value=-5, max_value=5), label="y")
    w0, w_star, component = data.draw(generic_start(X, y))
    limit = K.step_size_limit(X)
    k = 1500
    below = np.linalg.norm(K.gradient_descent(X, y, w0, (1 - eps) * limit, k)[k] - w_star)
    above = np.linalg.norm(K.gradient_descent(X, y, w0, (1 + eps) * limit, k)[k] - w_star)
    note(f"ε={eps}: error below {below:.3g}, above {above:.3g}")
    assert below <= 1e-8 * (1 + np.linalg.norm(w_star)), f"α below 2/λ_max: error {below}"
    assert above >= (1 + 2 * eps) ** k * component * (1 - 1e-9), f"α above: error {above}"


# ------------------------------------------------------------------ bad input


@pytest.mark.conventions
@pytest.mark.parametrize("which", ["numpy", "torch"])
def test_rank_deficient_design_has_no_minimiser(which):
    X = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])  # column 2 = 2 × column 1
    with pytest.raises(ValueError, match="X must have full column rank"):
        K.least_squares_minimiser(backend(X, which), backend(np.ones(3), which))
    with pytest.raises(ValueError, match="full column rank"):  # n < d
        K.least_squares_minimiser(backend(np.ones((1, 2)), which), backend(np.ones(1), which))


@pytest.mark.conventions
@pytest.mark.parametrize("alpha", [0.0, -0.5, float("inf")])
def test_nonpositive_step_size_is_a_value_error(alpha):
    X, y, w0 = np.eye(2), np.ones(2), np.zeros(2)
    for fn in (K.gradient_descent, K.gd_iterate_closed_form):
        with pytest.raises(ValueError, match="alpha"):
            fn(X, y, w0, alpha, 3)
    with pytest.raises(ValueError, match="alpha"):
        K.iteration_spectral_radius(X, alpha)


@pytest.mark.conventions
def test_mismatched_shapes_are_value_errors():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"y must have shape \(n,\) = \(3,\)"):
        K.least_squares_gradient(X, np.ones(2), np.ones(4))
    with pytest.raises(ValueError, match=r"w must have shape \(d,\) = \(2,\)"):
        K.least_squares_gradient(X, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"w0 must have shape"):
        K.gradient_descent(X, np.ones(3), np.ones((2, 1)), 0.1, 2)
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        K.least_squares_minimiser(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="k"):
        K.gradient_descent(X, np.ones(3), np.ones(2), 0.1, -1)
    with pytest.raises(TypeError, match="y"):
        K.least_squares_gradient(X, np.ones(2), torch.ones(3))
    assert to_numpy(K.gradient_descent(X, np.ones(3), np.ones(2), 0.1, 0)).shape == (1, 2)
