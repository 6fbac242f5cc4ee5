"""The softmax family, three witnesses per claim.

1. sympy (``derivations/softmax.py``): the derivative sympy computes equals the seed's closed
   form, proven exactly for each drawn size;
2. the hand kernels (``impl/softmax.py``, ``impl/modules.py``), numpy and torch, float64 and
   float32, against the lambdified closed form;
3. torch autograd (``torch.autograd.grad``, ``torch.func``) and the dot-product test.

Seeds: ``004_a5042f8004da492f.txt`` §1.1–1.2, ``001_d80f36ddf3b5193b.txt`` Problem 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import example, given, note
from hypothesis import strategies as st

from derivations import softmax as D
from dlmath_verify.checks import assert_close, assert_vjp, require_meaningful, to_numpy
from dlmath_verify.strategies import arrays, as_torch, batch_shapes, distributions, labels
from dlmath_verify.symbolic import prove_identity
from impl import softmax as K
from impl.modules import CrossEntropyModule, SoftMaxModule

SIZES = st.integers(2, 5)  # vector length n for the symbolic proofs
DTYPES = st.sampled_from([np.float64, np.float32])
BACKENDS = st.sampled_from(["numpy", "torch"])


@st.composite
def logit_batches(draw, *, limit: float = 20.0, dtype=None, min_cols: int = 1):
    """A (N, C) batch of logits in [−limit, limit]: shape first, then values, then dtype."""
    shape = draw(batch_shapes(max_rows=5, min_cols=min_cols, max_cols=7))
    dtype = dtype or draw(DTYPES)
    return draw(arrays(shape, dtype=dtype, min_value=-limit, max_value=limit))


def backend(x: np.ndarray, which: str) -> Any:
    return as_torch(x) if which == "torch" else x


# ------------------------------------------------------------------ 1. symbolic witness


@pytest.mark.claim("softmax.jacobian", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_softmax_jacobian_is_diag_s_minus_s_sT(n, data):
    prove_identity(*D.softmax_jacobian(n), claim="softmax.jacobian", data=data)


@pytest.mark.claim("softmax.jacobian_rows_sum_to_zero", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_softmax_jacobian_rows_sum_to_zero(n, data):
    derived, _ = D.softmax_jacobian(n)
    prove_identity(D.softmax_jacobian_row_sums(n), sp.zeros(n, 1),
                   claim="softmax.jacobian_rows_sum_to_zero", data=data)
    prove_identity(derived, derived.T, claim="softmax.jacobian_rows_sum_to_zero", data=data)


@pytest.mark.claim("softmax.vjp", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_softmax_vjp_is_s_times_u_minus_u_dot_s(n, data):
    prove_identity(*D.softmax_vjp(n), claim="softmax.vjp", data=data)


@pytest.mark.claim("softmax.shift_invariance", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_softmax_is_shift_invariant(n, data):
    shifted, plain, _c = D.softmax_shifted(n)
    prove_identity(shifted, plain, claim="softmax.shift_invariance", data=data)


@pytest.mark.claim("log_softmax.vjp", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_log_softmax_vjp_is_u_minus_s_sum_u(n, data):
    prove_identity(*D.log_softmax_vjp(n), claim="log_softmax.vjp", data=data)


def _sum_to_one(n: int) -> dict:
    """Substitution t_{n−1} = 1 − Σ_{j<n−1} t_j: the targets form a distribution."""
    t = D.upstream(n, "t")
    return {t[n - 1]: 1 - sum(t[: n - 1])}


@pytest.mark.claim("cross_entropy.gradient", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_cross_entropy_gradient_is_s_minus_t(n, data):
    derived, closed = D.cross_entropy_gradient(n)
    s, t = D.softmax(n), D.upstream(n, "t")
    # the general closed form s·Σt − t, and with Σt = 1 the seed's s − t
    prove_identity(derived, closed, claim="cross_entropy.gradient", data=data)
    prove_identity(derived, s - t, claim="cross_entropy.gradient", data=data,
                   substitutions=_sum_to_one(n))


@pytest.mark.claim("cross_entropy.softmax_chain", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_cross_entropy_chain_through_softmax_jacobian_is_sT_minus_tT(n, data):
    chained, seed_form = D.cross_entropy_softmax_chain(n)
    s, t = D.softmax(n), D.upstream(n, "t")
    prove_identity(chained, seed_form, claim="cross_entropy.softmax_chain", data=data)
    prove_identity(seed_form, (s - t).T, claim="cross_entropy.softmax_chain", data=data,
                   substitutions=_sum_to_one(n))


@pytest.mark.claim("cross_entropy.batch_mean", kind="symbolic")
@given(b=st.integers(1, 3), n=st.integers(2, 3), data=st.data())
def test_batch_mean_cross_entropy_gradient_is_s_minus_t_over_b(b, n, data):
    prove_identity(*D.cross_entropy_batch(b, n), claim="cross_entropy.batch_mean", data=data,
                   points=1)


@pytest.mark.claim("true_softmax.bounds", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_true_softmax_excess_over_max_is_log_of_one_plus_terms_below_one(n, data):
    k = data.draw(st.integers(0, n - 1), label="index of the maximum")
    prove_identity(*D.true_softmax_excess(n, k)[:2], claim="true_softmax.bounds", data=data)


@pytest.mark.claim("true_softmax.gradient", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_true_softmax_gradient_is_softmax_of_beta_x(n, data):
    prove_identity(*D.true_softmax_gradient(n)[:2], claim="true_softmax.gradient", data=data)


@pytest.mark.claim("true_softmax.limit", kind="symbolic")
@given(xs=st.lists(st.fractions(-3, 3, max_denominator=4), min_size=2, max_size=4, unique=True))
def test_true_softmax_gradient_tends_to_argmax_indicator(xs):
    rationals = tuple(sp.Rational(f.numerator, f.denominator) for f in xs)
    limit = D.true_softmax_gradient_limit(rationals)
    argmax = max(range(len(xs)), key=lambda i: xs[i])
    assert limit == sp.ImmutableMatrix([int(i == argmax) for i in range(len(xs))]), (
        f"claim true_softmax.limit: lim β→∞ ∇ν_β at {xs} is {list(limit)}, "
        f"expected e_{argmax}"
    )


@pytest.mark.claim("softmax.numerical_stability", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_log_sum_exp_is_invariant_to_the_subtracted_maximum(n, data):
    prove_identity(*D.log_sum_exp_shift(n)[:2], claim="softmax.numerical_stability", data=data)


# ------------------------------------------------------- 2. kernels vs the closed form


@cache
def closed_form(builder: str, n: int):
    """The seed's closed form of ``D.<builder>(n)``, lambdified once per size."""
    closed = getattr(D, builder)(n)[1]
    symbols = sorted(closed.free_symbols, key=lambda s: (s.name[0], int(s.name[1:])))
    return sp.lambdify(symbols, closed, "numpy"), symbols


def evaluate(builder: str, **rows: np.ndarray) -> np.ndarray:
    """The lambdified closed form at each row; ``rows`` maps a symbol letter to an (N, n) array."""
    first = next(iter(rows.values()))
    fn, symbols = closed_form(builder, first.shape[1])
    return np.stack([
        np.asarray(fn(*[rows[s.name[0]][r, int(s.name[1:])] for s in symbols]), dtype=np.float64)
        for r in range(first.shape[0])
    ])


@pytest.mark.claim("softmax.jacobian", kind=("implementation", "autograd"))
@given(x=logit_batches(min_cols=2), which=BACKENDS)
def test_softmax_jacobian_kernel_matches_closed_form_and_autograd(x, which):
    jac = K.softmax_jacobian(backend(x, which))
    x64 = x.astype(np.float64)
    closed = evaluate("softmax_jacobian", x=x64)
    autograd = torch.stack([torch.func.jacrev(lambda r: torch.softmax(r, -1))(row)
                            for row in torch.from_numpy(x64)])
    assert_close(jac, closed, claim="softmax.jacobian", what="kernel vs closed form",
                 dtype=x.dtype, check_dtype=False)
    assert_close(jac, autograd, claim="softmax.jacobian", what="kernel vs autograd",
                 dtype=x.dtype, check_dtype=False)
    assert_close(to_numpy(jac).sum(axis=2), np.zeros(x.shape), dtype=x.dtype,
                 claim="softmax.jacobian_rows_sum_to_zero", check_dtype=False)


@pytest.mark.slow
@pytest.mark.claim("softmax.vjp", kind="implementation")
@given(data=st.data(), which=BACKENDS)
def test_softmax_backward_matches_closed_form(data, which):
    x = data.draw(logit_batches(min_cols=2, dtype=np.float64))
    u = data.draw(arrays(x.shape, min_value=-5, max_value=5), label="u")
    got = K.softmax_backward(K.softmax(backend(x, which)), backend(u, which))
    assert_close(got, evaluate("softmax_vjp", x=x, u=u)[..., 0], claim="softmax.vjp")


@pytest.mark.claim("log_softmax.vjp", kind="implementation")
@given(data=st.data(), which=BACKENDS)
def test_log_softmax_backward_matches_closed_form(data, which):
    x = data.draw(logit_batches(dtype=np.float64))
    u = data.draw(arrays(x.shape, min_value=-5, max_value=5), label="u")
    got = K.log_softmax_backward(K.log_softmax(backend(x, which)), backend(u, which))
    assert_close(got, evaluate("log_softmax_vjp", x=x, u=u)[..., 0], claim="log_softmax.vjp")


# --------------------------------------------- 3. kernels vs autograd, and the VJP test


@dataclass(frozen=True)
class Case:
    """An op of the family: its reference forward in torch and its hand-written pair."""

    claim: str
    reference: Any  # torch (N, C) -> (N, C)
    forward: Any  # hand kernel x -> y
    backward: Any  # hand kernel (x, y, u) -> dx


CASES = [
    Case("softmax.vjp", lambda x: torch.softmax(x, -1), K.softmax,
         lambda x, y, u: K.softmax_backward(y, u)),
    Case("log_softmax.vjp", lambda x: torch.log_softmax(x, -1), K.log_softmax,
         lambda x, y, u: K.log_softmax_backward(y, u)),
]


CASE_PARAMS = [pytest.param(c, id=c.claim, marks=pytest.mark.claim(c.claim,
                                                                   kind="autograd")) for c in CASES]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASE_PARAMS)
@given(data=st.data(), which=BACKENDS)
def test_backward_matches_autograd(case, data, which):
    x = data.draw(logit_batches())
    u = data.draw(arrays(x.shape, dtype=x.dtype, min_value=-5, max_value=5), label="u")
    xt = torch.from_numpy(x).requires_grad_(True)
    ref = case.reference(xt)
    (ref_grad,) = torch.autograd.grad(ref, xt, torch.from_numpy(u))
    y = case.forward(backend(x, which))
    assert_close(y, ref.detach(), claim=case.claim, what="forward vs torch")
    assert_close(case.backward(backend(x, which), y, backend(u, which)), ref_grad,
                 claim=case.claim, what="backward vs autograd")


@pytest.mark.parametrize("case", CASE_PARAMS)
@given(data=st.data())
def test_backward_passes_the_dot_product_test(case, data):
    x = data.draw(logit_batches(dtype=np.float64))
    u, v = (data.draw(arrays(x.shape, min_value=-5, max_value=5), label=name)
            for name in ("u", "v"))
    y = case.forward(x)
    assert_vjp(case.reference, lambda ut: case.backward(x, y, to_numpy(ut)),
               [torch.from_numpy(x)], torch.from_numpy(u), [torch.from_numpy(v)],
               claim=case.claim)


@st.composite
def logits_and_targets(draw, dtype=None):
    x = draw(logit_batches(dtype=dtype))
    kind = draw(st.sampled_from(["labels", "one-hot", "soft"]))
    n, c = x.shape
    if kind == "labels":
        return x, draw(labels(n, c))
    return x, draw(distributions(n, c, one_hot=kind == "one-hot", dtype=x.dtype))


@pytest.mark.claim("cross_entropy.gradient", "cross_entropy.batch_mean", kind="autograd")
@given(xt=logits_and_targets(), which=BACKENDS)
def test_cross_entropy_and_its_gradient_match_autograd(xt, which):
    x, t = xt
    note(f"targets: {t.dtype}, shape {t.shape}")
    xg = torch.from_numpy(x).requires_grad_(True)
    ref = torch.nn.functional.cross_entropy(xg, torch.from_numpy(t))  # mean over the batch
    (ref_grad,) = torch.autograd.grad(ref, xg)
    xb, tb = backend(x, which), backend(t, which)
    assert_close(K.cross_entropy(xb, tb), ref.detach(), claim="cross_entropy.batch_mean",
                 what="loss vs torch")
    assert_close(K.cross_entropy_backward(xb, tb), ref_grad, claim="cross_entropy.gradient",
                 what="(s − t)/N vs autograd")


@pytest.mark.slow
@pytest.mark.claim("cross_entropy.batch_mean", kind="implementation")
@given(x=logit_batches(dtype=np.float64), data=st.data())
def test_batch_gradient_is_the_mean_of_the_per_example_gradients(x, data):
    t = data.draw(labels(*x.shape))
    per_example = np.concatenate([K.cross_entropy_backward(x[i:i + 1], t[i:i + 1])
                                  for i in range(x.shape[0])])
    assert_close(K.cross_entropy_backward(x, t), per_example / x.shape[0],
                 claim="cross_entropy.batch_mean", what="divided by the batch size")


# ------------------------------------------------------------------ the true softmax


@pytest.mark.claim("true_softmax.bounds", "true_softmax.gradient",
                   kind=("implementation", "autograd"))
@given(x=logit_batches(dtype=np.float64),
       beta=st.floats(1e-2, 1e3, allow_nan=False, allow_infinity=False), which=BACKENDS)
def test_true_softmax_lies_between_max_and_max_plus_log_n_over_beta(x, beta, which):
    nu = to_numpy(K.true_softmax(backend(x, which), beta))
    excess = nu[:, 0] - x.max(axis=1)
    bound = np.log(x.shape[1]) / beta
    slack = 4 * np.finfo(np.float64).eps * (np.abs(x).max(axis=1) + bound)  # rounding only
    assert (excess >= -slack).all() and (excess <= bound + slack).all(), (
        f"claim true_softmax.bounds: ν − max = {excess} outside [0, log n/β = {bound}]")
    reference = torch.logsumexp(beta * torch.from_numpy(x), -1, keepdim=True) / beta
    assert_close(nu, reference, claim="true_softmax.bounds", what="ν vs torch.logsumexp",
                 growth=max(1.0, float(np.abs(x).max())))  # ν carries max|x|'s rounding
    xg = torch.from_numpy(x).requires_grad_(True)
    (grad,) = torch.autograd.grad(
        (torch.logsumexp(beta * xg, -1) / beta).sum(), xg)
    assert_close(K.true_softmax_gradient(backend(x, which), beta), grad,
                 claim="true_softmax.gradient", what="∇ν vs autograd")


# ---------------------------------------------------------------- numerical stability


@pytest.mark.claim("softmax.numerical_stability", kind="implementation")
@given(x=logit_batches(limit=1e4, dtype=np.float32, min_cols=2), which=BACKENDS)
@example(x=np.array([[1e4, -1e4, 1e4 - 1.0]], dtype=np.float32), which="numpy")
@example(x=np.array([[-1e4, -1e4]], dtype=np.float32), which="torch")
@example(x=np.array([[1e4] * 5], dtype=np.float32), which="numpy")
def test_float32_kernels_are_finite_and_correct_for_logits_up_to_1e4(x, which):
    s = to_numpy(K.softmax(backend(x, which)))
    log_s = to_numpy(K.log_softmax(backend(x, which)))
    assert np.isfinite(s).all() and np.isfinite(log_s).all(), "non-finite output"
    x64 = torch.from_numpy(x.astype(np.float64))
    assert_close(s, torch.softmax(x64, -1), claim="softmax.numerical_stability",
                 what="float32 softmax vs float64 truth", check_dtype=False)
    # log s = (x − m) − log Σ exp(x − m): at the table's own float32 tolerance (no growth).
    # With C ≥ 2 the largest |log s| is ≥ log 2, so the comparison is a check (the policy of
    # TOLERANCES); the former x − lse(x) needed growth max|x| = 1e4, i.e. 0.1 absolute.
    truth = torch.log_softmax(x64, -1)
    require_meaningful(truth, claim="softmax.numerical_stability", dtype=np.float32,
                       what="float32 log-softmax")
    assert_close(log_s, truth, claim="softmax.numerical_stability",
                 what="float32 log-softmax vs float64 truth", check_dtype=False,
                 dtype=np.float32)


@st.composite
def extreme_cross_entropy_problems(draw, dtype):
    """Logits in [−1e4, 1e4] (shape, then values, some rows shifted to ±1e4) and integer
    labels; the label of row 0 is an entry below (or tied with) the row's minimum, so that
    the batch's loss is ≥ log 2/N and its gradient ≥ 1/(2N) in size: the comparison at the
    table's tolerance is a check (the policy of TOLERANCES), never satisfied by any answer."""
    x = draw(logit_batches(limit=1e4, dtype=dtype, min_cols=2))
    n, c = x.shape
    t = np.array(draw(labels(n, c)))
    t[0] = int(np.argmin(x[0]))
    return x, t


def log_sum_exp_truth(x: np.ndarray) -> np.ndarray:
    """An independent float64 log-sum-exp: torch.logsumexp on the logits cast to float64."""
    return torch.logsumexp(torch.from_numpy(x.astype(np.float64)), -1).numpy()


@pytest.mark.claim("softmax.numerical_stability", kind="implementation")
@given(x=logit_batches(limit=1e4, dtype=np.float64), which=BACKENDS)
@example(x=np.array([[1e4, 1e4 - 1.0, -1e4]]), which="numpy")
@example(x=np.array([[-1e4, -1e4]]), which="torch")
def test_log_sum_exp_kernel_is_torchs_logsumexp_for_logits_up_to_1e4(x, which):
    """log Σ_j e^{x_j} per row, shape (N, 1), finite and equal to torch.logsumexp (float64)
    where exp alone overflows (1e4) or underflows to a zero sum (−1e4)."""
    lse = to_numpy(K.log_sum_exp(backend(x, which)))
    assert lse.shape == (x.shape[0], 1)
    np.testing.assert_allclose(lse[:, 0], log_sum_exp_truth(x), rtol=1e-13, atol=1e-13)


@pytest.mark.claim("softmax.numerical_stability", "cross_entropy.batch_mean",
                   "cross_entropy.gradient", kind="implementation")
@given(data=st.data(), dtype=DTYPES, which=BACKENDS)
@example(data=None, dtype=np.float64, which="numpy").via("issue: log(softmax) gives inf")
def test_cross_entropy_and_its_gradient_are_finite_and_correct_for_logits_up_to_1e4(
        data, dtype, which):
    """CE = (1/N) Σ_n (lse(x_n) − x_{n,t_n}) and ∇ = (softmax(x) − T)/N at |logits| ≤ 1e4, in
    float32 and float64: finite, and equal to the float64 truth built from an independent
    log-sum-exp at the table's tolerance for the kernel's dtype. At logits [[800, 0]] with
    label 1 the loss is 800; log(softmax(x)) would give log 0 = −inf there."""
    if data is None:
        x, t = np.array([[800.0, 0.0]], dtype=dtype), np.array([1])
    else:
        x, t = data.draw(extreme_cross_entropy_problems(dtype))
    n = x.shape[0]
    lse = log_sum_exp_truth(x)
    x64 = x.astype(np.float64)
    loss_truth = np.array((lse - x64[np.arange(n), t]).sum() / n)
    onehot = np.eye(x.shape[1])[t]
    grad_truth = (np.exp(x64 - lse[:, None]) - onehot) / n
    xb, tb = backend(x, which), backend(t, which)
    loss, grad = to_numpy(K.cross_entropy(xb, tb)), to_numpy(K.cross_entropy_backward(xb, tb))
    assert np.isfinite(loss).all() and np.isfinite(grad).all(), (
        f"claim softmax.numerical_stability: non-finite cross-entropy {loss} or gradient")
    for truth, what in ((loss_truth, "cross-entropy"), (grad_truth, "its gradient")):
        require_meaningful(truth, claim="softmax.numerical_stability", dtype=dtype, what=what)
    assert_close(loss, loss_truth, claim="cross_entropy.batch_mean", dtype=dtype,
                 check_dtype=False, what="loss vs float64 log-sum-exp truth")
    assert_close(grad, grad_truth, claim="cross_entropy.gradient", dtype=dtype,
                 check_dtype=False, what="(s − t)/N vs float64 truth")


@pytest.mark.claim("softmax.numerical_stability", "true_softmax.limit", kind="implementation")
@given(x=logit_batches(limit=1e4, dtype=np.float32),
       beta=st.sampled_from([1e2, 1e4, 1e6, 1e8]), which=BACKENDS)
@example(x=np.array([[3.0, 1.0, 2.0]], dtype=np.float32), beta=1e8, which="numpy")
@example(x=np.array([[1e4, -1e4, 1e4 - 1.0]], dtype=np.float32), beta=1e8, which="torch")
def test_true_softmax_stays_finite_up_to_beta_1e8(x, beta, which):
    nu = to_numpy(K.true_softmax(backend(x, which), beta))
    grad = to_numpy(K.true_softmax_gradient(backend(x, which), beta))
    assert np.isfinite(nu).all() and np.isfinite(grad).all(), "non-finite output"
    x64 = x.astype(np.float64)
    truth = torch.logsumexp(beta * torch.from_numpy(x64), -1, keepdim=True) / beta
    assert_close(nu, truth, claim="softmax.numerical_stability", what="ν in float32",
                 check_dtype=False, growth=max(1.0, float(np.abs(x).max())))
    gaps = np.sort(x64, axis=1)
    unique = gaps.shape[1] == 1 or (gaps[:, -1] - gaps[:, -2] > 0).all()
    if beta >= 1e6 and unique and (np.diff(gaps, axis=1)[:, -1:] * beta > 50).all():
        # each runner-up term is below exp(−50): ∇ν equals e_argmax to float32 precision
        onehot = np.eye(x.shape[1], dtype=np.float32)[x.argmax(axis=1)]
        assert_close(grad, onehot, claim="true_softmax.limit", what="∇ν at large β")


# --------------------------------------------------------- the numpy modules of seed 004


@pytest.mark.slow
@pytest.mark.claim("softmax.vjp", "cross_entropy.softmax_chain", "cross_entropy.batch_mean",
                   kind="autograd")
@given(xt=logits_and_targets(dtype=np.float64))
def test_softmax_and_cross_entropy_modules_chain_to_s_minus_t_over_n(xt):
    x, t = xt
    t = np.eye(x.shape[1])[t] if t.dtype.kind == "i" else t
    sm = SoftMaxModule()
    s = sm.forward(x)
    ce = CrossEntropyModule()  # a fresh instance: backward must not need forward's state
    dx = sm.backward(CrossEntropyModule().backward(s, t))
    xg = torch.from_numpy(x).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(xg, torch.from_numpy(t))
    (ref,) = torch.autograd.grad(loss, xg)
    assert_close(ce.forward(s, t), loss.detach(), claim="cross_entropy.batch_mean")
    assert_close(dx, ref, claim="cross_entropy.softmax_chain", what="module chain vs autograd")
    assert_close(dx, (s - t) / x.shape[0], claim="cross_entropy.softmax_chain",
                 what="module chain vs (s − t)/N")


@pytest.mark.claim("softmax.vjp", kind=("implementation", "autograd"))
@given(data=st.data())
def test_softmax_module_backward_is_the_vjp_of_autograd(data):
    """SoftMaxModule.backward(dout) = doutᵀJ = s ⊙ (dout − ⟨dout, s⟩) per row, against
    autograd's VJP of torch.softmax (004 §1.1 a–b): the module alone, not through a chain."""
    n, c = data.draw(st.integers(1, 5), label="N"), data.draw(st.integers(1, 5), label="C")
    x = data.draw(arrays((n, c), min_value=-5, max_value=5), label="x")
    dout = data.draw(arrays((n, c), min_value=-1, max_value=1), label="dout")
    sm = SoftMaxModule()
    s = sm.forward(x)
    xt = as_torch(x).requires_grad_(True)
    ref = torch.softmax(xt, dim=1)
    (gx,) = torch.autograd.grad(ref, xt, as_torch(dout))
    assert_close(s, ref.detach(), claim="softmax.vjp", what="SoftMaxModule.forward")
    assert_close(sm.backward(dout), gx, claim="softmax.vjp", what="SoftMaxModule.backward")


@pytest.mark.slow
@pytest.mark.claim("cross_entropy.batch_mean", kind=("implementation", "autograd"))
@given(data=st.data())
def test_cross_entropy_module_backward_is_autograds_gradient_of_the_batch_mean(data):
    """CrossEntropyModule().backward(x, y) (a fresh instance) = ∂/∂x of
    −(1/N) Σ_n Σ_i y_ni log x_ni = −y/(N x), against autograd (004 §1.1 c)."""
    n, c = data.draw(st.integers(1, 5), label="N"), data.draw(st.integers(2, 5), label="C")
    x = data.draw(arrays((n, c), min_value=0.05, max_value=1), label="x")
    x = x / x.sum(axis=1, keepdims=True)  # probabilities, every entry positive
    y = data.draw(distributions(n, c, one_hot=True), label="one-hot y")
    xt = as_torch(x).requires_grad_(True)
    loss = -(as_torch(y) * torch.log(xt)).sum() / n
    (gx,) = torch.autograd.grad(loss, xt)
    assert_close(np.float64(CrossEntropyModule().forward(x, y)), loss.detach(),
                 claim="cross_entropy.batch_mean", what="CrossEntropyModule.forward")
    assert_close(CrossEntropyModule().backward(x, y), gx, claim="cross_entropy.batch_mean",
                 what="CrossEntropyModule.backward")


def cross_entropy_central_differences(p: np.ndarray, t: np.ndarray, *, h: float) -> np.ndarray:
    """The practical's unit-test method: CrossEntropyModule's loss at p ± h in one entry at a
    time, (L(p + h e_i) − L(p − h e_i)) / 2h for every entry i."""
    numeric = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        plus, minus = p.copy(), p.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (CrossEntropyModule().forward(plus, t)
                        - CrossEntropyModule().forward(minus, t)) / (2 * h)
    return numeric


@pytest.mark.slow
@pytest.mark.claim("cross_entropy.softmax_chain", kind="implementation")
@given(data=st.data())
def test_cross_entropy_module_backward_matches_central_differences(data):
    """The practical's own unit-test method: central finite differences, in float64."""
    x = data.draw(logit_batches(dtype=np.float64, limit=3, min_cols=2))
    t = data.draw(distributions(*x.shape, one_hot=True))
    s = K.softmax(x)
    numeric = cross_entropy_central_differences(s, t, h=1e-6)
    # central differences carry O(h²·|f'''|) truncation and O(eps/h) rounding: with
    # probabilities ≥ e^-6 (|x| ≤ 3) both stay below 1e-6 relative to the derivative's size.
    analytic = CrossEntropyModule().backward(s, t)
    err = np.abs(numeric - analytic).max()
    assert err <= 1e-6 * max(1.0, np.abs(analytic).max()), (
        f"claim cross_entropy.softmax_chain: CrossEntropyModule.backward differs from central "
        f"differences by {err:.3g} (max |grad| {np.abs(analytic).max():.3g})")


@pytest.mark.slow
@pytest.mark.claim("cross_entropy.softmax_chain", kind="implementation")
@given(c=st.integers(1, 10), data=st.data())
def test_cross_entropy_module_passes_the_course_protocol_for_every_class_count(c, data):
    """The practical of 004 (its handout) perturbs the probabilities by ±1e-5 and takes central
    differences. With one class the probability is 1 and the check evaluates the loss at
    1.00001, which the module must accept (it refused values above 1). Here C = 1 … 10; the
    truncation error of a central difference is ≤ h²/6·max|f‴| with f‴ = −2y/(N x³), and the
    rounding error ≤ 2·eps·N·C·|f|/h; the bound is computed from the drawn point."""
    n = data.draw(st.integers(1, 3), label="N")
    x = K.softmax(data.draw(arrays((n, c), dtype=np.float64, min_value=-2, max_value=2),
                            label="logits"))
    y = data.draw(distributions(n, c, one_hot=True), label="y")
    h = 1e-5
    numeric = cross_entropy_central_differences(x, y, h=h)
    analytic = CrossEntropyModule().backward(x, y)
    x_min = (x - h).min()
    f = CrossEntropyModule().forward(x, y)
    eps = np.finfo(np.float64).eps  # each loss is a sum of N·C rounded terms
    bound = h**2 / 6 * 2 / (n * x_min**3) + 2 * eps * n * c * max(abs(f), 1) / h
    err = np.abs(numeric - analytic).max()
    assert err <= bound, (
        f"claim cross_entropy.softmax_chain: C = {c}: central differences differ from "
        f"CrossEntropyModule.backward by {err:.3g} > {bound:.3g}")


# ---------------------------------------------------------------------------- bad input

_X = np.zeros((2, 3))
BAD_INPUTS = [
    ("1-D logits", lambda: K.softmax(np.zeros(3)), ValueError,
     r"x must be 2-D with shape \(N, C\)"),
    ("3-D logits", lambda: K.log_softmax(torch.zeros(2, 3, 4)), ValueError, r"x must be 2-D"),
    ("empty batch", lambda: K.softmax(np.zeros((0, 3))), ValueError, r"x must be non-empty"),
    ("NaN logits", lambda: K.softmax(np.array([[0.0, np.nan]])), ValueError, r"x must be finite"),
    ("inf logits", lambda: K.cross_entropy(np.array([[np.inf, 0.0]]), np.array([0])),
     ValueError, r"x must be finite"),
    ("integer logits", lambda: K.softmax(np.zeros((2, 3), dtype=np.int64)), TypeError,
     r"x must be float32 or float64"),
    ("a list", lambda: K.softmax([[0.0, 1.0]]), TypeError, r"x must be a numpy array"),
    ("label ≥ C", lambda: K.cross_entropy(_X, np.array([0, 3])), ValueError,
     r"labels must lie in \[0, C\) = \[0, 3\)"),
    ("negative label", lambda: K.cross_entropy_backward(_X, np.array([-1, 0])), ValueError,
     r"labels must lie in"),
    ("labels of wrong length", lambda: K.cross_entropy(_X, np.array([0, 1, 2])), ValueError,
     r"labels must have shape \(N,\) = \(2,\)"),
    ("targets not a distribution", lambda: K.cross_entropy(_X, np.full((2, 3), 0.5)),
     ValueError, r"target rows must be probability distributions"),
    ("negative targets", lambda: K.cross_entropy(_X, np.array([[1.5, -0.5, 0.0]] * 2)),
     ValueError, r"target rows must be probability distributions"),
    ("targets of the wrong shape", lambda: K.cross_entropy(_X, np.eye(2)), ValueError,
     r"target must have the shape of x \(2, 3\), got \(2, 2\)"),
    ("grad of the wrong shape", lambda: K.softmax_backward(K.softmax(_X), np.zeros((2, 2))),
     ValueError, r"grad_s must have the shape of s \(2, 3\)"),
    ("numpy and torch mixed", lambda: K.softmax_backward(K.softmax(_X), torch.zeros(2, 3)),
     TypeError, r"grad_s and s must both be numpy arrays or both torch tensors"),
    ("β = 0", lambda: K.true_softmax(_X, 0.0), ValueError, r"beta must be a finite number > 0"),
    ("β = inf", lambda: K.true_softmax_gradient(_X, float("inf")), ValueError, r"beta must be"),
    ("module backward before forward", lambda: SoftMaxModule().backward(_X), ValueError,
     r"needs the output of a forward call first"),
    ("module on a tensor", lambda: SoftMaxModule().forward(torch.zeros(2, 3)), TypeError,
     r"x must be a numpy array \(these are the numpy modules\)"),
    ("negative probability on the target", lambda: CrossEntropyModule().forward(
        _X - 0.5, np.eye(3)[:2]), ValueError, r"x must be positive wherever y is"),
    ("zero probability on the target", lambda: CrossEntropyModule().backward(
        np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])), ValueError, r"x must be positive"),
]


@pytest.mark.conventions
@pytest.mark.parametrize(("call", "error", "message"), [b[1:] for b in BAD_INPUTS],
                         ids=[b[0] for b in BAD_INPUTS])
def test_softmax_kernels_reject_bad_input_with_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
