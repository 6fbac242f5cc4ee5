"""check_backward rejects wrong backward passes, each witness on its own, and names why.

The kernels here are small hand backwards written for these tests (LayerNorm, matmul, tanh);
each test plants one classic bug (a missing term, a transpose, a wrong zero pattern, an upcast,
an in-place write) and asserts the message that names it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import Phase, settings

from dlmath_verify import check_backward

# Small and deterministic: these tests check the checker, not a kernel.
FEW = settings(max_examples=8, deadline=None, derandomize=True, database=None)
# Where a failure is expected, without shrinking it (minutes on a loaded machine; the message
# names the first failing example as it does the shrunk one).
FAIL = settings(FEW, phases=[Phase.generate])
EPS = 1e-5


def layernorm(x, gamma, beta):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], gamma, beta, eps=EPS)


def layernorm_backward(g, x, gamma, beta, *, drop_mean_term=False):
    """∂x = r (h − mean h − x̂ mean(h x̂)), h = γ g; ∂γ = Σ g x̂; ∂β = Σ g (torch, by hand)."""
    mu = x.mean(-1, keepdim=True)
    r = ((x - mu).pow(2).mean(-1, keepdim=True) + EPS).rsqrt()
    xhat = (x - mu) * r
    h = gamma * g
    mean_h = 0 if drop_mean_term else h.mean(-1, keepdim=True)
    dx = r * (h - mean_h - xhat * (h * xhat).mean(-1, keepdim=True))
    return dx, (g * xhat).sum(0), g.sum(0)


def matmul_backward(g, x, w):
    return g @ w.T, x.T @ g


@pytest.mark.slow
def test_check_backward_accepts_correct_layernorm_and_matmul_backwards_in_both_dtypes():
    check_backward(layernorm, layernorm_backward, ["n d", "d", "d"],
                   dims={"d": (2, 4)}, bounds=(-1.0, 1.0), growth=100.0, settings=FEW)
    check_backward(torch.matmul, matmul_backward, [("n", "k"), ("k", "m")], settings=FEW,
                   growth=5.0)  # a length-k reduction


@pytest.mark.parametrize(("checks", "says"), [
    (("autograd",), "hand backward vs autograd"),
    (("dot_product",), "dot-product test fails"),
    (("jacobian",), "full Jacobian"),
])
def test_each_witness_alone_rejects_a_layernorm_backward_missing_the_mean_term(checks, says):
    def wrong(g, x, gamma, beta):
        return layernorm_backward(g, x, gamma, beta, drop_mean_term=True)

    with pytest.raises(AssertionError, match=says) as info:
        check_backward(layernorm, wrong, ["n d", "d", "d"], checks=checks,
                       dtypes=(torch.float64,), claim="demo.layernorm", settings=FAIL)
    msg = str(info.value) + "\n".join(getattr(info.value, "__notes__", []))
    for part in ("claim demo.layernorm", "dtype float64", "inputs x (", "gamma (", "beta ("):
        assert part in msg, f"{part!r} missing from: {msg}"


def test_a_transposed_weight_gradient_is_rejected_with_shapes_and_both_values():
    def transposed(g, x, w):
        return g @ w.T, (x.T @ g).T  # the weight gradient transposed (square w: same shape)

    with pytest.raises(AssertionError, match=r"∂/∂input1 .* vs autograd") as info:
        check_backward(torch.matmul, transposed, [("n", "k"), ("k", "k")],
                       checks=("autograd",), settings=FAIL)
    assert "largest difference" in str(info.value) and "expected" in str(info.value)


def test_the_full_jacobian_compares_the_zero_pattern():
    """An elementwise square whose backward leaks 1e-3 of the neighbour's gradient: the
    Jacobian witness shows an entry that must be exactly zero."""
    def leaky(g, x):
        return 2 * x * g + 1e-3 * torch.roll(g, 1)

    with pytest.raises(AssertionError, match=r"full Jacobian.*\n.*expected 0\.0"):
        check_backward(torch.square, leaky, ["n"], checks=("jacobian",),
                       dims={"n": (2, 4)}, settings=FAIL)


def test_numpy_backward_in_float32_must_not_upcast_unless_allowed():
    def upcasting(g, x):
        return 2 * x.astype(np.float64) * g  # float64 gradient for a float32 input

    with pytest.raises(AssertionError, match=r"has dtype float64, the input torch\.float32"):
        check_backward(torch.square, upcasting, ["n"], backend="numpy",
                       dtypes=(torch.float32,), settings=FAIL)
    check_backward(torch.square, upcasting, ["n"], backend="numpy", dtypes=(torch.float32,),
                   check_dtype=False, settings=FEW)


def test_a_backward_that_writes_into_grad_output_is_rejected():
    def in_place(g, x):
        g *= 2 * x
        return g

    with pytest.raises(AssertionError, match="modified its argument grad_output in place"):
        check_backward(torch.square, in_place, ["n"], settings=FAIL)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_rows_accept_tanh_and_reject_a_missing_square(dtype):
    def right(g, x):
        return g * (1 - torch.tanh(x) ** 2)

    def wrong(g, x):
        return g * (1 - torch.tanh(x))

    def condition(x):
        """1 − t² loses 2t²/(1 − t²) = 2 sinh² x relative digits to cancellation."""
        return float(1 + 2 * torch.sinh(x).pow(2).max())

    check_backward(torch.tanh, right, ["n"], dtypes=(dtype,), bounds=(-1.0, 1.0),
                   growth=condition, settings=FEW)
    with pytest.raises(AssertionError, match=f"values differ.*{dtype}"):
        check_backward(torch.tanh, wrong, ["n"], dtypes=(dtype,), bounds=(-1.0, 1.0),
                       growth=condition, settings=FAIL)


@pytest.mark.slow
def test_a_strategy_of_arrays_sets_the_values():
    from hypothesis import strategies as st

    from dlmath_verify.strategies import arrays

    rows = st.integers(1, 3).flatmap(lambda n: st.tuples(
        arrays((n, 3), min_value=-1, max_value=1), arrays((3, 2), min_value=-1, max_value=1)))
    check_backward(torch.matmul, matmul_backward, rows, settings=FEW, growth=3.0)


def _ok(g, x):
    return 2 * x * g


BAD_ARGUMENTS = [
    pytest.param(dict(forward_reference=1), TypeError, "forward_reference", id="forward"),
    pytest.param(dict(backward=None), TypeError, "backward", id="backward"),
    pytest.param(dict(inputs="n"), TypeError, "inputs", id="inputs-a-string"),
    pytest.param(dict(inputs=[]), ValueError, "inputs", id="inputs-empty"),
    pytest.param(dict(inputs=[("n", -1)]), ValueError, r"inputs\[0\]", id="negative-side"),
    pytest.param(dict(inputs=[("n", "2x")]), ValueError, r"inputs\[0\]", id="bad-name"),
    pytest.param(dict(forward_reference=lambda x: x * x, inputs=["n", "n"]), TypeError,
                 "forward_reference takes 1",
                 id="too-many-inputs"),
    pytest.param(dict(claim=3), TypeError, "claim", id="claim"),
    pytest.param(dict(dtypes=torch.float32), TypeError, "dtypes", id="dtypes-not-a-sequence"),
    pytest.param(dict(dtypes=(torch.int64,)), ValueError, "dtypes", id="dtypes-int"),
    pytest.param(dict(backend="jax"), ValueError, "backend", id="backend"),
    pytest.param(dict(backend="numpy", dtypes=(torch.bfloat16,)), ValueError, "dtypes",
                 id="numpy-bfloat16"),
    pytest.param(dict(checks=("gradcheck",)), ValueError, "checks", id="checks"),
    pytest.param(dict(dims={"n": (3, 1)}), ValueError, r"dims\['n'\]", id="dims-range"),
    pytest.param(dict(bounds=(1.0, -1.0)), ValueError, "bounds", id="bounds"),
    pytest.param(dict(bounds=(0.0, float("inf"))), ValueError, "bounds", id="bounds-inf"),
    pytest.param(dict(growth=0), ValueError, "growth", id="growth"),
    pytest.param(dict(jacobian_max_entries=-1), ValueError, "jacobian_max_entries",
                 id="jacobian_max_entries"),
    pytest.param(dict(device="gpu0"), ValueError, "device", id="device"),
    pytest.param(dict(settings={"max_examples": 3}), TypeError, "settings", id="settings"),
]


@pytest.mark.conventions
@pytest.mark.parametrize(("override", "error", "names"), BAD_ARGUMENTS)
def test_check_backward_rejects_bad_arguments_naming_them(override, error, names):
    kwargs = dict(forward_reference=torch.square, backward=_ok, inputs=["n"])
    kwargs.update(override)
    with pytest.raises(error, match=names):
        check_backward(**kwargs)
