"""Convolutions as matrices and their backward passes, three witnesses per claim.

1. sympy (``derivations/conv.py``): the gradient sympy derives from the forward expression
   equals the seed's closed form (the banded matrix C_w, the recursion v_ℓ, the 2-D
   transposed convolution), proven exactly for each drawn size;
2. the hand kernels (``impl/conv.py``): no ``conv*`` call, no autograd;
3. torch: ``torch.nn.functional.conv1d``/``conv2d`` with autograd, ``torch.nn.grad.conv2d_input``
   and ``conv2d_weight``, and the dot-product test (forward-mode JVP against the hand backward).

Seed: ``001_d80f36ddf3b5193b.txt`` Problem 4.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, note
from hypothesis import strategies as st

from derivations import conv as D
from dlmath_verify.checks import assert_close, assert_vjp
from dlmath_verify.strategies import CONV2D_KINDS as KINDS
from dlmath_verify.strategies import arrays, as_torch, conv1d_stacks, conv2d_geometry
from dlmath_verify.strategies import conv2d_output_hw as out_hw
from dlmath_verify.symbolic import prove_identity
from impl import conv as K
from tests.tiers import slow_except

# ------------------------------------------------------------------ strategies


def tensor(draw, shape, *, dtype=np.float64, bound: float = 2.0, label: str = "") -> torch.Tensor:
    return as_torch(draw(arrays(tuple(shape), dtype=dtype, min_value=-bound, max_value=bound),
                         label=label))


# ------------------------------------------------------------------ 1. symbolic witness


@pytest.mark.claim("conv.toeplitz_is_correlation", kind="symbolic")
@given(f=st.integers(1, 4), extra=st.integers(0, 3), data=st.data())
def test_toeplitz_product_is_cross_correlation(f, extra, data):
    r"""(C_w y)_i = Σ_k w_k y_{i+k} for the seed's banded C_w (001 Problem 4)."""
    prove_identity(*D.toeplitz_is_correlation(f, f + extra),
                   claim="conv.toeplitz_is_correlation", data=data)


@pytest.mark.slow
@pytest.mark.claim("conv.weight_gradient", "conv.bias_gradient", kind="symbolic")
@given(f=st.integers(1, 3), extra=st.integers(0, 3),
       activation=st.sampled_from(sorted(D.ACTIVATIONS)), data=st.data())
def test_layer_gradients_are_correlation_with_v_and_sum_of_v(f, extra, activation, data):
    r"""One layer under an upstream row u: ∂/∂w = C_{vᵀ} y, ∂/∂b = v·1, ∂/∂y = v C_w with
    v = u ⊙ σ′(C_w y + b 1) (001 Problem 4 (a))."""
    derived, closed = D.layer_gradients(f, f + extra, activation)
    for name, lhs, rhs in zip(("weight", "bias", "input"), derived, closed, strict=True):
        cid = "conv.bias_gradient" if name == "bias" else "conv.weight_gradient"
        prove_identity(lhs, rhs, claim=cid, data=data, points=1)


@pytest.mark.claim("conv.backprop_recursion", "conv.weight_gradient", "conv.bias_gradient",
                   kind="symbolic")
@pytest.mark.parametrize("depth", slow_except([2, 3], [2]))
@given(activation=st.sampled_from(["quadratic", "cubic"]), data=st.data())
def test_deep_network_gradients_follow_the_v_recursion(depth, activation, data):
    r"""v_L = u, v_ℓ = (v_{ℓ+1} C_{w_{ℓ+1}}) ⊙ σ′(z_ℓ); ∂/∂w_ℓ = C_{v_ℓᵀ} y_{ℓ−1},
    ∂/∂b_ℓ = v_ℓ 1 equal sympy's derivatives of u·y_L (001 Problem 4 (a)–(b)). The quick
    tier proves it on nets of depth ≤ 2, CI up to depth 3."""
    n0, filters = data.draw(conv1d_stacks(max_depth=depth, max_n=5), label="stack")
    derived, closed = D.network_gradients(n0, filters, activation)
    for lhs, rhs in zip(derived, closed, strict=True):
        prove_identity(lhs, rhs, claim="conv.backprop_recursion", data=data, points=1)


@pytest.mark.claim("conv.input_gradient_2d", "conv.weight_gradient_2d", "conv.bias_gradient_2d",
                   kind="symbolic")
@pytest.mark.parametrize("kind", slow_except(KINDS, ["kernel_fills_padded_input"]))
@given(data=st.data())
def test_conv2d_gradients_are_transposed_conv_correlation_and_sum(kind, data):
    r"""sympy's ∂/∂X, ∂/∂K, ∂/∂b of Σ U ⊙ conv2d(X, K, b) are the transposed convolution
    (zero insertion, flipped kernel), the correlation of X̄ with U, and ΣU."""
    _n, c_in, c_out, hw, khw, s, p, d = data.draw(conv2d_geometry(kind, max_hw=4))
    c_in, c_out = min(c_in, 2), min(c_out, 2)
    derived, closed = D.conv2d_gradients(c_in, c_out, hw, khw, s, p, d)
    claims = ("conv.input_gradient_2d", "conv.weight_gradient_2d", "conv.bias_gradient_2d")
    for cid, lhs, rhs in zip(claims, derived, closed, strict=True):
        prove_identity(lhs, rhs, claim=cid, data=data, points=1)


# ---------------------------------------------------------------- max-pool, ties drawn

POOL_SIZES = [(1, 3, (1, 2), 1), (2, 2, (2, 2), 1), (1, 4, (1, 2), 2)]  # overlap, 2-D, stride


@pytest.mark.claim("conv.max_pool_gradient", kind="symbolic")
@given(size=st.sampled_from(POOL_SIZES), data=st.data())
def test_max_pool_gradient_is_the_argmax_and_the_first_maximal_rule_a_subgradient(size, data):
    """sympy's ∂/∂X of Σ U ⊙ maxpool(X) is the strict-argmax routing (with H(0) = 0 at ties),
    and torch's rule (each window's U to its first maximal entry) sums to U and sits on
    maximal entries: both proven by cases, every order of the entries, ties included."""
    prove_identity(*D.max_pool_gradient(*size), claim="conv.max_pool_gradient", data=data,
                   heaviside_at_zero=0)
    for lhs, rhs in D.max_pool_first_argmax(*size):
        prove_identity(lhs, rhs, claim="conv.max_pool_gradient", data=data)


def first_maximal_routing(x: np.ndarray, u: np.ndarray, k: tuple, s: tuple) -> np.ndarray:
    """The reference by loops: each window's U goes to its first maximal entry (row-major)."""
    out = np.zeros_like(x)
    for n, c, i, j in np.ndindex(u.shape):
        window = [(s[0] * i + a, s[1] * j + e) for a in range(k[0]) for e in range(k[1])]
        top = max(x[n, c, r, q] for r, q in window)
        r, q = next((r, q) for r, q in window if x[n, c, r, q] == top)
        out[n, c, r, q] += u[n, c, i, j]
    return out


@pytest.mark.claim("conv.max_pool_gradient", kind=("implementation", "autograd"))
@given(data=st.data())
def test_max_pool_backward_with_drawn_ties_is_torchs_first_maximal_entry(data):
    """Inputs of small integers (ties in most windows) and overlapping or strided windows:
    the hand max-pool equals F.max_pool2d forward, and its backward equals both the loop
    reference and torch's autograd of max_pool2d."""
    k = (data.draw(st.integers(1, 3), label="k_h"), data.draw(st.integers(1, 3), label="k_w"))
    s = (data.draw(st.integers(1, 2), label="s_h"), data.draw(st.integers(1, 2), label="s_w"))
    shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)),
             data.draw(st.integers(k[0], 5)), data.draw(st.integers(k[1], 5)))
    x = np.array(data.draw(st.lists(st.integers(-1, 1), min_size=int(np.prod(shape)),
                                    max_size=int(np.prod(shape)))), dtype=np.float64)
    x = x.reshape(shape)
    xt = torch.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, k, s)
    u = data.draw(arrays(tuple(y.shape), min_value=0.5, max_value=2), label="u")
    (ref,) = torch.autograd.grad(y, xt, torch.tensor(u))
    hand = K.max_pool2d_backward(torch.tensor(x), torch.tensor(u), k, s)
    assert_close(K.max_pool2d(torch.tensor(x), k, s), y.detach(),
                 claim="conv.max_pool_gradient", what="forward vs F.max_pool2d")
    assert_close(hand, first_maximal_routing(x, u, k, s), claim="conv.max_pool_gradient",
                 what="backward vs the first maximal entry (loops)")
    assert_close(hand, ref, claim="conv.max_pool_gradient", what="backward vs autograd")


# ------------------------------------------------------------------ 2–3. kernels vs torch


@pytest.mark.claim("conv.toeplitz_is_correlation", kind="implementation")
@given(f=st.integers(1, 6), extra=st.integers(0, 8),
       dtype=st.sampled_from([np.float64, np.float32]), data=st.data())
def test_toeplitz_product_matches_conv1d(f, extra, dtype, data):
    """K.toeplitz(w, n) @ y equals torch.nn.functional.conv1d(y, w) (no flip)."""
    w = tensor(data.draw, (f,), dtype=dtype, label="w")
    y = tensor(data.draw, (f + extra,), dtype=dtype, label="y")
    c = K.toeplitz(w, f + extra)
    assert c.shape == (extra + 1, f + extra)
    # float32: a length-f reduction, so its rounding error grows with f
    assert_close(c @ y, F.conv1d(y[None, None], w[None, None])[0, 0],
                 claim="conv.toeplitz_is_correlation", growth=f)


@pytest.mark.claim("conv.backprop_recursion", "conv.weight_gradient", "conv.bias_gradient",
                   kind="autograd")
@given(stack=conv1d_stacks(), activation=st.sampled_from(["tanh", "sigmoid", "softplus"]),
       data=st.data())
def test_conv1d_net_backward_matches_autograd_without_forming_C_w(stack, activation, data):
    r"""The hand backprop (seed's v_ℓ recursion) equals autograd through F.conv1d for every
    w_ℓ and b_ℓ, and never builds C_w (``toeplitz`` is made to raise during the pass)."""
    n0, filters = stack
    note(f"n0={n0}, filters={filters}, σ={activation}")
    y0 = tensor(data.draw, (n0,), label="y0")
    ws = [tensor(data.draw, (f,), label=f"w{ell}") for ell, f in enumerate(filters, 1)]
    bs = [tensor(data.draw, (), label=f"b{ell}") for ell in range(1, len(filters) + 1)]
    sigma = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "softplus": F.softplus}[activation]

    params = [w.clone().requires_grad_(True) for w in ws] + [
        b.clone().requires_grad_(True) for b in bs]
    y = y0[None, None]
    for ell in range(len(filters)):
        y = F.conv1d(y, params[ell][None, None], params[len(filters) + ell].reshape(1))
        y = y if ell == len(filters) - 1 else sigma(y)
    u = tensor(data.draw, (y.shape[-1],), label="u")
    reference = torch.autograd.grad(y[0, 0], params, u)

    forbidden = mock.patch.object(K, "toeplitz", side_effect=AssertionError("C_w formed"))
    with forbidden:
        out, cache = K.conv1d_net_forward(y0, ws, bs, activation)
        grad_w, grad_b = K.conv1d_net_backward(cache, u)
    assert_close(out, y[0, 0].detach(), claim="conv.backprop_recursion", what="forward")
    for ell in range(len(filters)):
        assert_close(grad_w[ell], reference[ell], claim="conv.weight_gradient",
                     what=f"∂/∂w_{ell + 1}")
        assert_close(grad_b[ell], reference[len(filters) + ell], claim="conv.bias_gradient",
                     what=f"∂/∂b_{ell + 1}")


def _draw_conv2d(data, kind, dtype=np.float64):
    n, c_in, c_out, hw, khw, s, p, d = data.draw(conv2d_geometry(kind))
    x = tensor(data.draw, (n, c_in, *hw), dtype=dtype, label="x")
    w = tensor(data.draw, (c_out, c_in, *khw), dtype=dtype, label="weight")
    b = tensor(data.draw, (c_out,), dtype=dtype, label="bias")
    u = tensor(data.draw, (n, c_out, *out_hw(hw, khw, s, p, d)), dtype=dtype, label="u")
    return x, w, b, u, s, p, d


GRAD_CLAIMS = ("conv.input_gradient_2d", "conv.weight_gradient_2d", "conv.bias_gradient_2d")


@pytest.mark.claim(*GRAD_CLAIMS, kind=("implementation", "autograd"))
@pytest.mark.parametrize("kind", slow_except(KINDS, ["one_by_one"]))
@given(data=st.data())
def test_conv2d_backward_matches_autograd_and_torch_nn_grad(kind, data):
    """Hand forward = F.conv2d; hand (∂X, ∂K, ∂b) = autograd through F.conv2d, and ∂X, ∂K =
    torch.nn.grad.conv2d_input / conv2d_weight, on drawn shapes of each kind."""
    x, w, b, u, s, p, d = _draw_conv2d(data, kind)
    xr, wr, br = (t.clone().requires_grad_(True) for t in (x, w, b))
    y = F.conv2d(xr, wr, br, s, p, d)
    ref = torch.autograd.grad(y, (xr, wr, br), u)
    assert_close(K.conv2d(x, w, b, s, p, d), y.detach(), claim="conv.input_gradient_2d",
                 what="forward vs F.conv2d")
    got = K.conv2d_backward(x, w, u, s, p, d)
    for cid, g, r in zip(GRAD_CLAIMS, got, ref, strict=True):
        assert_close(g, r, claim=cid, what="hand vs autograd")
    assert_close(got[0], torch.nn.grad.conv2d_input(x.shape, w, u, s, p, d),
                 claim="conv.input_gradient_2d", what="hand vs torch.nn.grad.conv2d_input")
    assert_close(got[1], torch.nn.grad.conv2d_weight(x, w.shape, u, s, p, d),
                 claim="conv.weight_gradient_2d", what="hand vs torch.nn.grad.conv2d_weight")


@pytest.mark.slow
@pytest.mark.claim(*GRAD_CLAIMS, kind="autograd")
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_conv2d_backward_float32_matches_float64_truth(kind, data):
    """The float32 kernels against float64 autograd at float32's tolerance."""
    x, w, b, u, s, p, d = _draw_conv2d(data, kind, dtype=np.float32)
    xr, wr, br = (t.double().requires_grad_(True) for t in (x, w, b))
    y = F.conv2d(xr, wr, br, s, p, d)
    ref = torch.autograd.grad(y, (xr, wr, br), u.double())
    got = K.conv2d_backward(x, w, u, s, p, d)
    # each entry is a reduction; its length bounds the growth of the rounding error
    lengths = (w.shape[0] * w.shape[2] * w.shape[3], u.numel() // u.shape[1],
               u.numel() // u.shape[1])
    assert_close(K.conv2d(x, w, b, s, p, d), y.detach(), claim="conv.input_gradient_2d",
                 what="float32 forward", dtype=torch.float32, check_dtype=False,
                 growth=w[0].numel())
    for cid, g, r, n in zip(GRAD_CLAIMS, got, ref, lengths, strict=True):
        assert g.dtype == torch.float32
        assert_close(g, r, claim=cid, what="float32", dtype=torch.float32, check_dtype=False,
                     growth=n)


@pytest.mark.slow
@pytest.mark.claim("conv.input_gradient_2d", "conv.weight_gradient_2d", kind="autograd")
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_conv2d_backward_passes_the_dot_product_test(kind, data):
    """⟨U, J (δX, δK)⟩ by forward mode through F.conv2d = ⟨(∂X, ∂K), (δX, δK)⟩ by hand."""
    x, w, _b, u, s, p, d = _draw_conv2d(data, kind)
    vx, vw = tensor(data.draw, x.shape, label="vx"), tensor(data.draw, w.shape, label="vw")
    assert_vjp(lambda x_, w_: F.conv2d(x_, w_, None, s, p, d),
               lambda u_: K.conv2d_backward(x, w, u_, s, p, d)[:2],
               [x, w], u, [vx, vw], claim="conv.input_gradient_2d")


# ------------------------------------------------------------------ bad input

_X = torch.zeros(1, 2, 4, 4)
_W = torch.zeros(3, 2, 3, 3)
_U = torch.zeros(1, 3, 2, 2)

BAD = [
    pytest.param(lambda: K.conv2d(_X, torch.zeros(3, 2, 5, 5)), "weight", id="kernel>input"),
    pytest.param(lambda: K.conv2d(_X, torch.zeros(3, 2, 7, 3), padding=1), "weight",
                 id="kernel>padded-input"),
    pytest.param(lambda: K.conv2d(_X, _W, dilation=3), "weight", id="dilated-kernel>input"),
    pytest.param(lambda: K.conv2d(_X, _W, stride=0), "stride must be positive, got 0",
                 id="stride=0"),
    pytest.param(lambda: K.conv2d(_X, _W, stride=(1, -2)), "stride must be positive",
                 id="stride<0"),
    pytest.param(lambda: K.conv2d(_X, _W, padding=-1), "padding must be non-negative, got -1",
                 id="padding<0"),
    pytest.param(lambda: K.conv2d(_X, _W, dilation=0), "dilation must be positive",
                 id="dilation=0"),
    pytest.param(lambda: K.conv2d(_X, torch.zeros(3, 1, 3, 3)), "channels",
                 id="mismatched-channels"),
    pytest.param(lambda: K.conv2d(_X, _W, torch.zeros(2)), "bias", id="bias-shape"),
    pytest.param(lambda: K.conv2d(_X[0], _W), "input", id="input-3d"),
    pytest.param(lambda: K.conv2d_input_grad(_X.shape, _W, torch.zeros(1, 3, 3, 2)),
                 "grad_output", id="grad_output-shape"),
    pytest.param(lambda: K.conv2d_weight_grad(_X, _W.shape, _U, stride=0), "stride",
                 id="weight-grad-stride=0"),
    pytest.param(lambda: K.conv2d_input_grad((1, 1, 4, 4), _W, _U), "channels",
                 id="input-grad-mismatched-channels"),
    pytest.param(lambda: K.toeplitz(torch.zeros(4), 3), "n", id="toeplitz-filter>n"),
    pytest.param(lambda: K.conv1d_net_forward(torch.zeros(3), [torch.zeros(4)],
                                              [torch.zeros(())]), "weights", id="1d-filter>n"),
]


@pytest.mark.conventions
@pytest.mark.parametrize(("call", "names"), BAD)
def test_bad_input_raises_value_error_naming_the_argument(call, names):
    with pytest.raises(ValueError, match=names):
        call()



@pytest.mark.slow
@pytest.mark.conventions
@given(k=st.tuples(st.integers(2, 3), st.integers(2, 3)), extra=st.tuples(
    st.integers(2, 4), st.integers(2, 4)), data=st.data())
def test_conv2d_kernels_left_at_their_defaults_are_torchs_defaults(k, extra, data):
    """stride 1, padding 0, dilation 1 when left out, in every 2-D kernel, as in
    ``F.conv2d`` and ``torch.nn.grad`` left at theirs (a kernel of 2–3 on an input at least 2
    larger, so that a stride, a padding or a dilation of another value changes the answer)."""
    hw = (k[0] + extra[0], k[1] + extra[1])
    x = tensor(data.draw, (2, 2, *hw), label="input")
    w = tensor(data.draw, (3, 2, *k), label="weight")
    y = F.conv2d(x, w)
    g = tensor(data.draw, tuple(y.shape), label="grad_output")
    assert K.conv2d_output_size(hw, k) == tuple(y.shape[-2:])
    torch.testing.assert_close(K.conv2d(x, w), y)
    gx = torch.nn.grad.conv2d_input(x.shape, w, g)
    gw = torch.nn.grad.conv2d_weight(x, w.shape, g)
    torch.testing.assert_close(K.conv2d_input_grad(x.shape, w, g), gx)
    torch.testing.assert_close(K.conv2d_weight_grad(x, w.shape, g), gw)
    for got, want in zip(K.conv2d_backward(x, w, g), (gx, gw, g.sum(dim=(0, 2, 3))),
                         strict=True):
        torch.testing.assert_close(got, want)


@pytest.mark.slow
@pytest.mark.conventions
@given(hw=st.tuples(st.integers(4, 9), st.integers(4, 9)), s=st.integers(1, 3),
       p=st.integers(0, 2), d=st.integers(1, 2), kind=st.sampled_from([np.int64, np.int32]))
def test_conv2d_output_size_of_numpy_integers_is_a_pair_of_python_ints(hw, s, p, d, kind):
    """numpy integers are valid sizes and hyper-parameters (the contract); the answer is the
    same pair of Python ints as for ints: ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1 per axis."""
    want = tuple((n + 2 * p - d * (2 - 1) - 1) // s + 1 for n in hw)
    got = K.conv2d_output_size(tuple(kind(n) for n in hw), (kind(2), kind(2)),
                               (kind(s), kind(s)), (kind(p), kind(p)), (kind(d), kind(d)))
    assert got == want and all(type(v) is int for v in got), got


@pytest.mark.conventions
@pytest.mark.parametrize("bad", [(1.5, 1), (1, True), (np.float64(2.0), 2), (np.bool_(True), 1)],
                         ids=["float", "bool", "numpy-float", "numpy-bool"])
def test_a_pair_with_a_float_or_bool_entry_is_a_type_error(bad):
    """Each entry of a (h, w) pair must be an int (not a bool): a float entry is never rounded
    (int(1.5) = 1), a bool never read as 0 or 1."""
    for call in (lambda: K.conv2d(_X, _W, stride=bad), lambda: K.conv2d(_X, _W, padding=bad),
                 lambda: K.conv2d_output_size((5, 5), bad)):
        with pytest.raises(TypeError, match=r"must be an int or a pair of ints"):
            call()
