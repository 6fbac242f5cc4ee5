r"""The two forms of momentum SGD, three witnesses.

1. sympy (``derivations/momentum.py``): both forms unrolled for drawn k, proven equal
   exactly; the seed's induction step as an identity; the closed form
   θ_k = θ₀ − α Σ_{j<k} (Σ_{i≤k−1−j} βⁱ) g_j and its own induction step;
2. the hand optimisers (``impl/momentum.py``), numpy and torch, against the *exact* value of
   the sympy closed form at the (binary, hence rational) float inputs, with a stated rounding
   bound that grows with k;
3. ``torch.optim.SGD(momentum=β, dampening=0, nesterov=False)`` step for step, on given
   gradient sequences and on a real loss through autograd.

Seed: ``000_44446893528eed8a.txt`` Problem 3 (statement in ``PROBLEMS.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import example, given, note
from hypothesis import strategies as st

from derivations import momentum as D
from dlmath_verify.checks import assert_close, to_numpy
from dlmath_verify.strategies import arrays, as_torch
from dlmath_verify.symbolic import prove_identity, refute_identity
from impl import momentum as K
from tests.tiers import refutation_settings

REFUTATION = refutation_settings()  # a claim false as written: tests/tiers.py

STEPS = st.integers(1, 12)  # k for the symbolic proofs (the issue asks for at least 8)
DIMS = st.integers(1, 3)  # explicit vector dimension n (coordinates are independent)
BACKENDS = st.sampled_from(["numpy", "torch"])
ALPHAS = st.floats(1e-3, 2.0)
BETAS = st.floats(0.0, 0.99)
UNIT = 2.0**-53  # float64 unit roundoff
SUBNORMAL = 2.0**-1074  # float64 subnormal spacing (absolute rounding error near zero)

# ------------------------------------------------------------------ 1. symbolic witness


@pytest.mark.slow
@pytest.mark.claim("momentum.forms_agree", kind="symbolic")
@given(k=STEPS, n=DIMS, data=st.data())
def test_form_one_iterate_equals_form_two_iterate(k, n, data):
    """θ_k (Form I, θ₋₁ = θ₀) = θ̃_k (Form II, v₀ = 0), both unrolled by sympy for drawn k and
    n; vectors are n explicit coordinates (the recursion is coordinate-wise)."""
    prove_identity(*D.forms(k, n), claim="momentum.forms_agree", data=data)


@pytest.mark.claim("momentum.forms_agree", kind="symbolic")
@given(k=st.integers(1, 4))
def test_form_one_equals_form_two_with_vectors_of_symbolic_dimension(k):
    """The same with ``MatrixSymbol`` vectors θ₀, g_j ∈ ℝⁿ, n a symbol: θ_k − θ̃_k expands to
    the zero vector (noncommutative expansion is slow, so k ≤ 4 here)."""
    diff = D.forms_matrix_symbols(k)
    assert diff == 0 or isinstance(diff, sp.ZeroMatrix), (
        f"claim momentum.forms_agree: θ_{k} − θ̃_{k} with MatrixSymbols expands to {diff}"
    )


@pytest.mark.claim("momentum.induction_step", kind="symbolic")
@given(n=DIMS, data=st.data())
def test_seed_induction_step_alpha_v_k_and_next_iterate(n, data):
    """Seed 000 P3: from θ̃_k = θ̃_{k−1} − αv_k and the hypothesis, αv_k = αg_{k−1} −
    β(θ_{k−1} − θ_{k−2}); then θ̃_{k+1} = θ̃_k − αg_k − β(αv_k) = θ_{k+1}."""
    for step, (derived, seed) in D.induction_step(n).items():
        note(f"induction step: {step}")
        prove_identity(derived, seed, claim="momentum.induction_step", data=data)


@pytest.mark.claim("momentum.closed_form", kind="symbolic")
@given(k=st.integers(0, 12), n=DIMS, data=st.data())
def test_closed_form_equals_both_forms(k, n, data):
    r"""θ_k = θ₀ − α Σ_{j<k} (Σ_{i≤k−1−j} βⁱ) g_j equals the unrolled Form I and Form II."""
    one, two = D.forms(k, n) if k else (D.theta0(n), D.theta0(n))
    prove_identity(one, D.closed_form(k, n), claim="momentum.closed_form", data=data, points=1)
    prove_identity(two, D.closed_form(k, n), claim="momentum.closed_form", data=data, points=1)


@pytest.mark.slow
@pytest.mark.claim("momentum.closed_form", kind="symbolic")
@given(k=STEPS, n=DIMS, data=st.data())
def test_closed_form_satisfies_form_one_recursion(k, n, data):
    """Induction step of the closed form: c_{k+1} = c_k − αg_k + β(c_k − c_{k−1})."""
    prove_identity(*D.closed_form_induction_step(k, n), claim="momentum.closed_form",
                   data=data)


@pytest.mark.claim("momentum.boundary_conventions", kind="symbolic")
@REFUTATION
@given(n=DIMS, data=st.data())
def test_changing_a_boundary_convention_breaks_the_equivalence(n, data):
    """θ₋₁ = p ≠ θ₀ gives θ_1 − θ̃_1 = β(θ₀ − p); v₀ = g₀ gives θ_1 − θ̃_1 = αβg₀: both nonzero
    at a generic exact point, while the seed's conventions give zero (the test above)."""
    for variant, (one, two) in D.boundary_variants(n).items():
        text = refute_identity(one, two, claim="momentum.boundary_conventions", data=data)
        note(f"{variant}: {text}")
    p, t0, g0 = D.vector("p", n), D.theta0(n), D.gradient(0, n)
    one, two = D.boundary_variants(n)["theta_minus_one"]
    prove_identity(one - two, D.beta * (t0 - p), claim="momentum.boundary_conventions",
                   data=data, points=1)
    one, two = D.boundary_variants(n)["v0_is_g0"]
    prove_identity(one - two, D.alpha * D.beta * g0, claim="momentum.boundary_conventions",
                   data=data, points=1)


# ------------------------------------------------------- 2. kernels vs the exact closed form


@st.composite
def momentum_runs(draw, *, max_steps: int = 30, min_steps: int = 0, betas=BETAS,
                  min_first_gradient: float = 0.0):
    """(θ₀ of shape (n,), gradients of shape (k, n), α, β): shape first, then values.
    ``min_first_gradient`` > 0 draws one coordinate of g₀ with at least that magnitude (drawn,
    not filtered)."""
    n = draw(st.integers(1, 4), label="n")
    k = draw(st.integers(min_steps, max_steps), label="k")
    theta0 = draw(arrays((n,), min_value=-10, max_value=10), label="theta0")
    grads = draw(arrays((k, n), min_value=-10, max_value=10), label="grads")
    if min_first_gradient > 0 and k > 0:
        j = draw(st.integers(0, n - 1), label="large coordinate of g0")
        size = draw(st.floats(min_first_gradient, 10.0), label="its magnitude")
        grads[0, j] = size if draw(st.booleans(), label="positive") else -size
    return theta0, grads, draw(ALPHAS, label="alpha"), draw(betas, label="beta")


def backend(x: np.ndarray, which: str) -> Any:
    return as_torch(x) if which == "torch" else x


def rounding_bound(theta0: np.ndarray, grads: np.ndarray, alpha: float, beta: float,
                   k: int) -> float:
    r"""Max-norm bound on the float64 error of θ_k from either form, derived as follows.

    Every quantity either form touches is at most S = ‖θ₀‖∞ + α Σ_j ‖g_j‖∞ / (1 − β) in
    magnitude (θ_j by the closed form, since Σ_i βⁱ ≤ 1/(1 − β); α v_j likewise; differences
    θ_j − θ_{j−1} ≤ 2S). One step performs at most 5 roundings of numbers ≤ 2S; in the standard
    model with gradual underflow each rounding errs by at most u·|result| + η, η = 2⁻¹⁰⁷⁴ (the
    subnormal spacing, which matters for tiny inputs), so a step adds at most 10·u·S + 5η. An
    error δ made at step j reaches θ_k multiplied by (1 − β^{k−j})/(1 − β) ≤ 1/(1 − β) (Form
    I's recursion has characteristic roots 1 and β; in Form II an error of v is damped by β per
    step and reaches θ through α·Σ βⁱ). Hence ‖θ_k^float − θ_k‖∞ ≤ k·(10·u·S + 5η)/(1 − β);
    we state 16·k·(u·S + η)/(1 − β).
    """
    if k == 0:
        return 0.0
    s = float(np.abs(theta0).max()) + alpha * float(np.abs(grads[:k]).max(axis=1).sum()) / (
        1 - beta)
    return 16 * k * (UNIT * s + SUBNORMAL) / (1 - beta)


def exact_closed_form(theta0: np.ndarray, grads: np.ndarray, alpha: float,
                      beta: float) -> list[sp.Rational]:
    """The sympy closed form (derivations) evaluated exactly at the float inputs (every float
    is a dyadic rational, ``sp.Rational(float)`` is exact)."""
    k, n = grads.shape
    point = {D.alpha: sp.Rational(alpha), D.beta: sp.Rational(beta)}
    point.update({s: sp.Rational(float(v)) for s, v in zip(D.theta0(n), theta0, strict=True)})
    for j in range(k):
        point.update({s: sp.Rational(float(v))
                      for s, v in zip(D.gradient(j, n), grads[j], strict=True)})
    return list(D.closed_form(k, n).xreplace(point))


def assert_within_rounding(actual: Any, exact: list, bound: float, *, claim: str,
                           what: str) -> None:
    """max_c |actual_c − exact_c| ≤ bound, computed exactly (no rounding in the comparison)."""
    got = to_numpy(actual).astype(np.float64).ravel()
    errors = [abs(sp.Rational(float(a)) - e) for a, e in zip(got, exact, strict=True)]
    worst = max(range(len(errors)), key=lambda c: errors[c])
    if not errors[worst] <= sp.Rational(bound):
        raise AssertionError(
            f"claim {claim} ({what}): coordinate {worst}: float {got[worst]!r}, exact "
            f"{sp.N(exact[worst], 17)}, error {float(errors[worst]):.3g} > stated rounding "
            f"bound {bound:.3g}"
        )


@pytest.mark.claim("momentum.forms_agree", "momentum.closed_form", kind="implementation")
@given(run=momentum_runs(), which=BACKENDS)
@example(run=(np.array([1.0]), np.ones((8, 1)), 0.5, 0.9), which="numpy")
@example(run=(np.array([0.0, 1.0]), np.zeros((3, 2)), 1.0, 0.0), which="torch")
@example(run=(np.array([0.0]), np.array([[2.22507386e-313]]), 0.25, 0.0), which="numpy")
def test_both_forms_equal_the_exact_closed_form_to_float64_rounding(run, which):
    theta0, grads, alpha, beta = run
    k = grads.shape[0]
    one = K.form_one_iterates(backend(theta0, which), backend(grads, which), alpha, beta)
    two = K.form_two_iterates(backend(theta0, which), backend(grads, which), alpha, beta)
    assert tuple(one.shape) == tuple(two.shape) == (k + 1, theta0.shape[0])
    exact = exact_closed_form(theta0, grads, alpha, beta)
    bound = rounding_bound(theta0, grads, alpha, beta, k)
    note(f"k={k}, bound={bound:.3g}")
    assert_within_rounding(one[k], exact, bound, claim="momentum.forms_agree", what="Form I")
    assert_within_rounding(two[k], exact, bound, claim="momentum.forms_agree", what="Form II")
    closed = K.closed_form_iterate(backend(theta0, which), backend(grads, which), alpha, beta)
    assert_within_rounding(closed, exact, bound, claim="momentum.closed_form",
                           what="hand closed form")
    for j in range(k + 1):  # every intermediate iterate, Form I against Form II
        gap = float(np.abs(to_numpy(one[j]) - to_numpy(two[j])).max())
        allowed = 2 * rounding_bound(theta0, grads, alpha, beta, j)
        assert gap <= allowed, (f"claim momentum.forms_agree: step {j}: |θ_j − θ̃_j|∞ = "
                                f"{gap:.3g} > {allowed:.3g} (twice the rounding bound)")


@pytest.mark.claim("momentum.torch_sgd_is_form_two", kind="implementation")
@given(run=momentum_runs(min_steps=1))
def test_torch_sgd_with_momentum_is_form_two_step_for_step(run):
    """torch.optim.SGD(lr=α, momentum=β, dampening=0, nesterov=False) fed p.grad = g_j."""
    theta0, grads, alpha, beta = run
    p = torch.nn.Parameter(as_torch(theta0).clone())
    sgd = torch.optim.SGD([p], lr=alpha, momentum=beta, dampening=0, nesterov=False)
    form_two = K.MomentumFormTwo(as_torch(theta0), alpha, beta)
    for j, g in enumerate(as_torch(grads)):
        p.grad = g.clone()
        sgd.step()
        ours = form_two.step(g)
        gap = float((ours - p.detach()).abs().max())
        allowed = 2 * rounding_bound(theta0, grads, alpha, beta, j + 1)
        assert gap <= allowed, (
            f"claim momentum.torch_sgd_is_form_two: step {j + 1}: Form II {to_numpy(ours)} vs "
            f"torch SGD {to_numpy(p.detach())}: gap {gap:.3g} > {allowed:.3g}")


def _loss(theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A real, non-quadratic loss: mean softplus(−y · Xθ) + ‖θ‖²/20 (regularised logistic)."""
    return torch.nn.functional.softplus(-y * (X @ theta)).mean() + (theta**2).sum() / 20


@pytest.mark.slow
@pytest.mark.claim("momentum.forms_agree", "momentum.torch_sgd_is_form_two", kind="implementation")
@given(data=st.data(), steps=st.integers(1, 25), alpha=st.floats(1e-3, 0.5), beta=BETAS)
def test_forms_driven_by_a_real_loss_follow_torch_sgd(data, steps, alpha, beta):
    """On a logistic loss with autograd gradients: FormOneSGD, FormTwoSGD (torch optimisers)
    and the numpy steppers follow torch's SGD. Gradients now depend on θ, so rounding feeds
    back; the loss is smooth with small curvature, and the comparison uses the table's float64
    tolerance with growth = steps (one rounding chain per step)."""
    n = data.draw(st.integers(1, 4), label="n")
    X = as_torch(data.draw(arrays((6, n), min_value=-2, max_value=2), label="X"))
    y = as_torch(data.draw(arrays((6,), min_value=-1, max_value=1), label="y"))
    theta0 = data.draw(arrays((n,), min_value=-3, max_value=3), label="theta0")
    params = [torch.nn.Parameter(as_torch(theta0).clone()) for _ in range(3)]
    opts = [torch.optim.SGD([params[0]], lr=alpha, momentum=beta),
            K.FormOneSGD([params[1]], lr=alpha, momentum=beta),
            K.FormTwoSGD([params[2]], lr=alpha, momentum=beta)]
    steppers = [K.MomentumFormOne(theta0, alpha, beta), K.MomentumFormTwo(theta0, alpha, beta)]
    numpy_theta = [theta0.copy(), theta0.copy()]
    for _ in range(steps):
        for p, opt in zip(params, opts, strict=True):
            opt.zero_grad()
            _loss(p, X, y).backward()
            opt.step()
        for i, stepper in enumerate(steppers):
            t = torch.from_numpy(numpy_theta[i]).requires_grad_()
            (g,) = torch.autograd.grad(_loss(t, X, y), t)
            numpy_theta[i] = stepper.step(g.numpy())
    ref = params[0].detach()
    for what, got in [("FormOneSGD", params[1].detach()), ("FormTwoSGD", params[2].detach()),
                      ("numpy Form I", numpy_theta[0]), ("numpy Form II", numpy_theta[1])]:
        assert_close(torch.as_tensor(got), ref, claim="momentum.forms_agree",
                     what=f"{what} vs torch SGD after {steps} steps", growth=steps)


# ------------------------------------------------------- boundary conventions, numerically


@pytest.mark.claim("momentum.boundary_conventions", kind="implementation")
@given(run=momentum_runs(min_steps=1, betas=st.floats(0.051, 0.99), min_first_gradient=0.101),
       which=BACKENDS, data=st.data())
def test_changing_a_boundary_convention_breaks_the_kernels_agreement(run, which, data):
    """With v₀ = g₀ Form II's θ̃_1 is off by αβg₀; with θ₋₁ = θ₀ + δ Form I's θ_1 is off by −βδ:
    far outside the rounding bound within which the seed's conventions agree (β > 0.05 and
    ‖g₀‖∞ > 0.1 are drawn, so that the offsets are not themselves rounding-sized)."""
    theta0, grads, alpha, beta = run
    delta = data.draw(arrays(theta0.shape, min_value=0.1, max_value=1), label="delta")
    bound = rounding_bound(theta0, grads, alpha, beta, 1)
    t0, gs = backend(theta0, which), backend(grads, which)
    plain = to_numpy(K.form_one_iterates(t0, gs, alpha, beta))[1]
    v0_g0 = to_numpy(K.form_two_iterates(t0, gs, alpha, beta, v0=gs[0]))[1]
    shifted = to_numpy(K.form_one_iterates(t0, gs, alpha, beta,
                                           theta_prev=backend(theta0 + delta, which)))[1]
    assert_close(plain - v0_g0, alpha * beta * grads[0], claim="momentum.boundary_conventions",
                 what="θ_1 − θ̃_1 with v₀ = g₀")
    assert_close(shifted - plain, -beta * delta, claim="momentum.boundary_conventions",
                 what="θ_1(θ₋₁ = θ₀ + δ) − θ_1")
    assert np.abs(plain - v0_g0).max() > 10 * bound
    assert np.abs(shifted - plain).max() > 10 * bound


# ------------------------------------------------------------------ bad input


@pytest.mark.conventions
@pytest.mark.parametrize("alpha, beta, match", [
    (0.0, 0.5, "alpha"), (-0.1, 0.5, "alpha"), (float("nan"), 0.5, "alpha"),
    (0.1, 1.0, "beta"), (0.1, -0.1, "beta"), (0.1, 1.5, "beta"),
])
def test_bad_step_size_or_momentum_is_a_value_error(alpha, beta, match):
    theta0, grads = np.zeros(2), np.ones((3, 2))
    for build in (lambda: K.form_one_iterates(theta0, grads, alpha, beta),
                  lambda: K.form_two_iterates(theta0, grads, alpha, beta),
                  lambda: K.closed_form_iterate(theta0, grads, alpha, beta)):
        with pytest.raises(ValueError, match=match):
            build()


@pytest.mark.conventions
def test_mismatched_shapes_are_value_errors():
    theta0 = np.zeros(3)
    with pytest.raises(ValueError, match=r"grads must have shape .*= \(k, 3\), got \(4, 2\)"):
        K.form_one_iterates(theta0, np.ones((4, 2)), 0.1, 0.5)
    with pytest.raises(ValueError, match="grads"):
        K.form_two_iterates(theta0, np.ones(3), 0.1, 0.5)
    with pytest.raises(ValueError, match="g must have the shape of theta"):
        K.MomentumFormOne(theta0, 0.1, 0.5).step(np.ones(2))
    with pytest.raises(ValueError, match="v0 must have the shape of theta0"):
        K.MomentumFormTwo(theta0, 0.1, 0.5, v0=np.ones(2))
    with pytest.raises(ValueError, match="theta_prev must have the shape of theta0"):
        K.MomentumFormOne(theta0, 0.1, 0.5, theta_prev=np.ones((3, 1)))
    with pytest.raises(TypeError, match="grads"):
        K.form_one_iterates(theta0, torch.ones(2, 3), 0.1, 0.5)
