r"""Convolutions by hand: the banded matrix, a deep 1-D conv net with its backprop, and the 2-D
convolution forward and backward.

Source: ``001_d80f36ddf3b5193b.txt`` Problem 4. Everything is torch (float32 or float64); no
``torch.nn.functional.conv*``, no autograd. Sliding windows are strided *views*
(``as_strided``), so a correlation is one ``einsum`` over a window view.

1-D (the seed's notation, one example): :math:`y_\ell = \sigma(\mathcal C_{w_\ell} y_{\ell-1}
+ b_\ell\mathbf 1)`, the last layer linear. The backward follows the seed's recursion

.. math::
    v_L = u,\qquad v_\ell = (v_{\ell+1}\mathcal C_{w_{\ell+1}})\odot\sigma'(z_\ell),\qquad
    \frac{\partial}{\partial w_\ell} = \mathcal C_{v_\ell^\top} y_{\ell-1},\qquad
    \frac{\partial}{\partial b_\ell} = v_\ell\mathbf 1,

where :math:`v\,\mathcal C_w` is the full convolution of v with w and
:math:`\mathcal C_{v^\top} y` the correlation of y with v: only vector operations, never the
matrix :math:`\mathcal C_w` (the seed's part b).

2-D, (N, C_in, H, W) inputs, (C_out, C_in, k_h, k_w) kernels, stride s, padding p,
dilation d (each an int or a pair):

* forward: :math:`Y[n,o,i,j] = b_o + \sum_{c,a,e} K[o,c,a,e]\,\bar X[n,c,si+da,sj+de]`,
  :math:`\bar X` the zero-padded input;
* input gradient: the transposed convolution — insert s−1 zeros between the entries of the
  upstream gradient U, pad by d(k−1), correlate with the flipped kernel (channels swapped),
  crop p (and zero-fill rows the forward never read);
* weight gradient: the correlation of :math:`\bar X` with U (U's taps s apart, output taps d
  apart), summed over the batch;
* bias gradient: the sum of U over batch and positions.

Max-pooling, k×k windows (a pair allowed) with stride s, no padding:
:math:`Y[n,c,i,j] = \max_{a,e} X[n,c,si+a,sj+e]`. Backward routes each window's upstream
gradient to **one** maximal entry of the window, the first in row-major order — torch's
``max_pool2d`` convention (it returns one index per window). Where windows overlap the routed
gradients add. At a tie this is a subgradient: any distribution of the window's gradient over
its maximal entries is one.

Inputs are CPU tensors of one dtype (float32 or float64); a tensor on another device (``meta``)
or of another dtype is refused before any value is read. The convolutions are linear maps, so NaN
and inf are not refused: they propagate to every output they reach, as in torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from impl._validate import require_int, require_ndim, require_same_kind, require_values

__all__ = [
    "ACTIVATIONS",
    "ConvNet1dCache",
    "conv1d_net_backward",
    "conv1d_net_forward",
    "conv2d",
    "conv2d_backward",
    "conv2d_bias_grad",
    "conv2d_input_grad",
    "conv2d_output_size",
    "conv2d_weight_grad",
    "correlate1d",
    "full_convolve1d",
    "max_pool2d",
    "max_pool2d_backward",
    "toeplitz",
]


# ------------------------------------------------------------------------------- helpers


def _tensor(name: str, x: object, ndim: int, layout: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor {layout}, got {type(x).__name__}")
    require_values(name, x, kind="torch")
    require_ndim(name, x, ndim, layout)
    if any(n == 0 for n in x.shape):
        raise ValueError(f"{name} must be non-empty with shape {layout}, got {tuple(x.shape)}")
    return x


def _pair(name: str, v: int | Sequence[int], minimum: int) -> tuple[int, int]:
    """An int or a pair of ints ≥ minimum: another kind is a TypeError, another length or a
    smaller value a ValueError."""
    ints = (int, np.integer)
    if isinstance(v, bool | np.bool_) or not isinstance(v, (*ints, tuple, list, torch.Size)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    pair = (v, v) if isinstance(v, ints) else tuple(v)
    if not all(isinstance(t, ints) and not isinstance(t, bool | np.bool_) for t in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    pair = (int(pair[0]), int(pair[1])) if len(pair) == 2 else pair
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
    if any(t < minimum for t in pair):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {what}, got {v!r}")
    return pair  # type: ignore[return-value]


def _windows(x: torch.Tensor, count: tuple[int, int], taps: tuple[int, int],
             step: tuple[int, int], spacing: tuple[int, int]) -> torch.Tensor:
    """View x (N, C, H, W) as (N, C, count_h, count_w, taps_h, taps_w) with
    view[..., i, j, a, e] = x[..., step_h i + spacing_h a, step_w j + spacing_w e]."""
    x = x.contiguous()
    sn, sc, sh, sw = x.stride()
    return x.as_strided(
        (x.shape[0], x.shape[1], count[0], count[1], taps[0], taps[1]),
        (sn, sc, step[0] * sh, step[1] * sw, spacing[0] * sh, spacing[1] * sw),
    )


def _pad(x: torch.Tensor, before: tuple[int, int], after: tuple[int, int]) -> torch.Tensor:
    """Zero padding of the last two axes (by hand: a zero tensor with x copied in)."""
    n, c, h, w = x.shape
    out = x.new_zeros((n, c, h + before[0] + after[0], w + before[1] + after[1]))
    out[:, :, before[0]:before[0] + h, before[1]:before[1] + w] = x
    return out


# ------------------------------------------------------------------------ 1-D, the seed


def toeplitz(w: torch.Tensor, n: int) -> torch.Tensor:
    r"""The seed's :math:`\mathcal C_w`, (n − f + 1) × n: row i holds w in columns i … i+f−1."""
    w = _tensor("w", w, 1, "(f,)")
    f = w.shape[0]
    n = require_int("n", n, low=1)
    if n < f:
        raise ValueError(f"n must be an int ≥ the filter length f = {f}, got {n!r}")
    c = w.new_zeros((n - f + 1, n))
    rows = torch.arange(n - f + 1)
    for k in range(f):
        c[rows, rows + k] = w[k]
    return c


def correlate1d(y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    r"""Valid cross-correlation :math:`(\mathcal C_w y)_i = \sum_k w_k y_{i+k}` without C_w."""
    y, w = _tensor("y", y, 1, "(n,)"), _tensor("w", w, 1, "(f,)")
    require_same_kind("w", w, "y", y)
    f, n = w.shape[0], y.shape[0]
    if f > n:
        raise ValueError(f"w (length {f}) must not be longer than y (length {n})")
    y = y.contiguous()  # a strided view becomes dense; the window strides are the dense one's
    return y.as_strided((n - f + 1, f), (y.stride(0), y.stride(0))) @ w


def full_convolve1d(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    r""":math:`v\,\mathcal C_w` as a vector: :math:`\sum_i v_i w_{j-i}`, length m + f − 1.

    The full correlation of v with the flipped w: pad v by f − 1 zeros on each side.
    """
    v, w = _tensor("v", v, 1, "(m,)"), _tensor("w", w, 1, "(f,)")
    require_same_kind("w", w, "v", v)
    f = w.shape[0]
    padded = torch.cat([v.new_zeros(f - 1), v, v.new_zeros(f - 1)])
    return correlate1d(padded, torch.flip(w, (0,)))


ACTIVATIONS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor],
                             Callable[[torch.Tensor], torch.Tensor]]] = {
    # name: (σ, σ′), both by hand
    "tanh": (torch.tanh, lambda z: 1 - torch.tanh(z) ** 2),
    "sigmoid": (torch.sigmoid, lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z))),
    "softplus": (lambda z: torch.logaddexp(z, torch.zeros_like(z)), torch.sigmoid),
    "identity": (lambda z: z, torch.ones_like),
}


@dataclass(frozen=True)
class ConvNet1dCache:
    """What the backward needs: inputs y_{ℓ−1}, pre-activations z_ℓ, filters, activation."""

    ys: list[torch.Tensor]
    zs: list[torch.Tensor]
    weights: list[torch.Tensor]
    bias_shapes: list[tuple[int, ...]]
    activation: str


def conv1d_net_forward(
    y0: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor],
    activation: str = "tanh",
) -> tuple[torch.Tensor, ConvNet1dCache]:
    r"""y_ℓ = σ(C_{w_ℓ} y_{ℓ−1} + b_ℓ 1) for ℓ < L, y_L = C_{w_L} y_{L−1} + b_L 1.

    ``weights[ℓ]`` has shape (f_ℓ,), ``biases[ℓ]`` shape () or (1,) (its gradient has the same
    shape). Returns (y_L, cache).
    """
    y = _tensor("y0", y0, 1, "(n,)")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    for name, seq in (("weights", weights), ("biases", biases)):
        if not isinstance(seq, list | tuple):
            raise TypeError(f"{name} must be a list of tensors, got {type(seq).__name__}")
    if len(weights) != len(biases) or not weights:
        raise ValueError(f"weights and biases must be non-empty lists of one length, got "
                         f"{len(weights)} and {len(biases)}")
    sigma = ACTIVATIONS[activation][0]
    ys, zs = [y], []
    for ell, (w, b) in enumerate(zip(weights, biases, strict=True)):
        w = _tensor(f"weights[{ell}]", w, 1, "(f,)")
        require_same_kind(f"weights[{ell}]", w, "y0", y0)
        if not isinstance(b, torch.Tensor):
            raise TypeError(f"biases[{ell}] must be a torch tensor of shape () or (1,), got "
                            f"{type(b).__name__}")
        require_values(f"biases[{ell}]", b, kind="torch")
        require_same_kind(f"biases[{ell}]", b, "y0", y0)
        if b.numel() != 1:
            raise ValueError(f"biases[{ell}] must be a scalar, got shape {tuple(b.shape)}")
        if w.shape[0] > y.shape[0]:
            raise ValueError(f"weights[{ell}] (length {w.shape[0]}) is longer than its input "
                             f"(length {y.shape[0]})")
        z = correlate1d(y, w) + b.reshape(())
        zs.append(z)
        y = z if ell == len(weights) - 1 else sigma(z)
        ys.append(y)
    return y, ConvNet1dCache(ys[:-1], zs, list(weights), [tuple(b.shape) for b in biases],
                            activation)


def conv1d_net_backward(
    cache: ConvNet1dCache, u: torch.Tensor
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    r"""Gradients of u·y_L for every w_ℓ and b_ℓ by the seed's recursion (no C_w formed).

    v_L = u; ∂/∂w_ℓ = correlation of y_{ℓ−1} with v_ℓ; ∂/∂b_ℓ = Σ v_ℓ;
    v_{ℓ−1} = full_convolution(v_ℓ, w_ℓ) ⊙ σ′(z_{ℓ−1}).
    """
    if not isinstance(cache, ConvNet1dCache):
        raise TypeError(f"cache must be the ConvNet1dCache returned by conv1d_net_forward, got "
                        f"{type(cache).__name__}")
    u = _tensor("u", u, 1, "(n_L,)")
    require_same_kind("u", u, "the forward's y0", cache.ys[0])
    if u.shape != cache.zs[-1].shape:
        raise ValueError(f"u must have the shape of y_L {tuple(cache.zs[-1].shape)}, got "
                         f"{tuple(u.shape)}")
    sigma_prime = ACTIVATIONS[cache.activation][1]
    L = len(cache.weights)
    grad_w: list[torch.Tensor] = [None] * L  # type: ignore[list-item]
    grad_b: list[torch.Tensor] = [None] * L  # type: ignore[list-item]
    v = u
    for ell in reversed(range(L)):
        grad_w[ell] = correlate1d(cache.ys[ell], v)  # (C_{vᵀ} y_{ℓ−1}), length f_ℓ
        grad_b[ell] = v.sum().reshape(cache.bias_shapes[ell])
        if ell > 0:
            v = full_convolve1d(v, cache.weights[ell]) * sigma_prime(cache.zs[ell - 1])
    return grad_w, grad_b


# ------------------------------------------------------------------------------- 2-D


def conv2d_output_size(
    input_hw: tuple[int, int], kernel_hw: tuple[int, int], stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1,
) -> tuple[int, int]:
    """⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 per axis; ValueError if the kernel overhangs."""
    input_hw, kernel_hw = _pair("input_hw", input_hw, 1), _pair("kernel_hw", kernel_hw, 1)
    s, p, d = _pair("stride", stride, 1), _pair("padding", padding, 0), _pair(
        "dilation", dilation, 1)
    out = []
    for ax in range(2):
        span = d[ax] * (kernel_hw[ax] - 1) + 1
        if span > input_hw[ax] + 2 * p[ax]:
            raise ValueError(
                f"weight: kernel of (dilated) size {span} along axis {ax} is larger than the "
                f"padded input {input_hw[ax]} + 2·{p[ax]} = {input_hw[ax] + 2 * p[ax]}")
        out.append((input_hw[ax] + 2 * p[ax] - span) // s[ax] + 1)
    return out[0], out[1]


def _shape(name: str, shape: object) -> tuple[int, ...]:
    """input_shape / weight_shape: a sequence of four positive ints."""
    if isinstance(shape, torch.Size):
        shape = tuple(shape)
    if not isinstance(shape, tuple | list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{name} must be a tuple of 4 ints, got {shape!r}")
    if len(shape) != 4 or any(n < 1 for n in shape):
        raise ValueError(f"{name} must be 4 positive ints, got {tuple(shape)}")
    return tuple(shape)


def _check_conv(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride, padding, dilation,
                x_name: str = "input", w_name: str = "weight"):
    s, p, d = _pair("stride", stride, 1), _pair("padding", padding, 0), _pair(
        "dilation", dilation, 1)
    if len(x_shape) != 4:
        raise ValueError(f"{x_name} must be 4-D (N, C_in, H, W), got shape {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(f"{w_name} must be 4-D (C_out, C_in, k_h, k_w), got "
                         f"{tuple(w_shape)}")
    if x_shape[1] != w_shape[1]:
        raise ValueError(f"{w_name} has {w_shape[1]} input channels but {x_name} has "
                         f"{x_shape[1]} ({w_name} {tuple(w_shape)}, {x_name} {tuple(x_shape)})")
    out = conv2d_output_size(tuple(x_shape[2:]), tuple(w_shape[2:]), s, p, d)
    return s, p, d, out


def _check_grad_output(grad_output: torch.Tensor, n: int, c_out: int, out: tuple[int, int],
                       ref_name: str, ref: torch.Tensor):
    _tensor("grad_output", grad_output, 4, "(N, C_out, H_out, W_out)")
    require_same_kind("grad_output", grad_output, ref_name, ref)
    expected = (n, c_out, *out)
    if tuple(grad_output.shape) != expected:
        raise ValueError(f"grad_output must have shape {expected}, got "
                         f"{tuple(grad_output.shape)}")


def conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
           dilation: int | Sequence[int] = 1) -> torch.Tensor:
    r"""Y[n,o,i,j] = b_o + Σ_{c,a,e} K[o,c,a,e] X̄[n,c, s i + d a, s j + d e] (the signature of
    ``torch.nn.functional.conv2d``)."""
    x = _tensor("input", input, 4, "(N, C_in, H, W)")
    weight = _tensor("weight", weight, 4, "(C_out, C_in, k_h, k_w)")
    require_same_kind("weight", weight, "input", x)
    if bias is not None:
        bias = _tensor("bias", bias, 1, "(C_out,)")
        require_same_kind("bias", bias, "input", x)
    s, p, d, out = _check_conv(tuple(x.shape), tuple(weight.shape), stride, padding, dilation)
    win = _windows(_pad(x, p, p), out, tuple(weight.shape[2:]), s, d)
    y = torch.einsum("ncijae,ocae->noij", win, weight)
    if bias is not None:
        if tuple(bias.shape) != (weight.shape[0],):
            raise ValueError(f"bias must have shape ({weight.shape[0]},), got "
                             f"{tuple(bias.shape)}")
        y = y + bias.reshape(1, -1, 1, 1)
    return y


def conv2d_input_grad(input_shape: Sequence[int], weight: torch.Tensor,
                      grad_output: torch.Tensor, stride: int | Sequence[int] = 1,
                      padding: int | Sequence[int] = 0,
                      dilation: int | Sequence[int] = 1) -> torch.Tensor:
    """∂L/∂X: the transposed convolution of the upstream gradient (same signature as
    ``torch.nn.grad.conv2d_input``)."""
    weight = _tensor("weight", weight, 4, "(C_out, C_in, k_h, k_w)")
    input_shape = _shape("input_shape", input_shape)
    s, p, d, out = _check_conv(input_shape, tuple(weight.shape), stride, padding, dilation,
                               x_name="input_shape")
    n, c_in, H, W = input_shape
    c_out, _, kh, kw = weight.shape
    _check_grad_output(grad_output, n, c_out, out, "weight", weight)
    # 1. zero insertion: s − 1 zeros between neighbouring upstream entries
    zh, zw = (out[0] - 1) * s[0] + 1, (out[1] - 1) * s[1] + 1
    uz = grad_output.new_zeros((n, c_out, zh, zw))
    uz[:, :, ::s[0], ::s[1]] = grad_output
    # 2. full correlation with the flipped kernel (dilated), channels swapped
    reach = (d[0] * (kh - 1), d[1] * (kw - 1))
    full_hw = (zh + reach[0], zw + reach[1])  # in padded-input coordinates
    win = _windows(_pad(uz, reach, reach), full_hw, (kh, kw), (1, 1), d)
    flipped = torch.flip(weight, (2, 3))
    full = torch.einsum("noijae,ocae->ncij", win, flipped)
    # 3. rows/columns the forward never read get zero; then crop the padding
    padded = full.new_zeros((n, c_in, H + 2 * p[0], W + 2 * p[1]))
    padded[:, :, :full_hw[0], :full_hw[1]] = full
    return padded[:, :, p[0]:p[0] + H, p[1]:p[1] + W]


def conv2d_weight_grad(input: torch.Tensor, weight_shape: Sequence[int],
                       grad_output: torch.Tensor, stride: int | Sequence[int] = 1,
                       padding: int | Sequence[int] = 0,
                       dilation: int | Sequence[int] = 1) -> torch.Tensor:
    """∂L/∂K[o,c,a,e] = Σ_{n,i,j} U[n,o,i,j] X̄[n,c, s i + d a, s j + d e]: the correlation of
    the padded input with U (same signature as ``torch.nn.grad.conv2d_weight``)."""
    x = _tensor("input", input, 4, "(N, C_in, H, W)")
    weight_shape = _shape("weight_shape", weight_shape)
    s, p, d, out = _check_conv(tuple(x.shape), weight_shape, stride, padding, dilation,
                               w_name="weight_shape")
    _check_grad_output(grad_output, x.shape[0], weight_shape[0], out, "input", x)
    # windows of X̄ with the *kernel* taps as the count (spacing d) and U's taps s apart
    win = _windows(_pad(x, p, p), tuple(weight_shape[2:]), out, d, s)
    return torch.einsum("ncaeij,noij->ocae", win, grad_output)


def conv2d_bias_grad(grad_output: torch.Tensor) -> torch.Tensor:
    """∂L/∂b_o = Σ_{n,i,j} U[n,o,i,j]."""
    _tensor("grad_output", grad_output, 4, "(N, C_out, H_out, W_out)")
    return grad_output.sum(dim=(0, 2, 3))


def conv2d_backward(input: torch.Tensor, weight: torch.Tensor, grad_output: torch.Tensor,
                    stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                    dilation: int | Sequence[int] = 1
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(∂L/∂X, ∂L/∂K, ∂L/∂b) for the upstream gradient ``grad_output``."""
    x = _tensor("input", input, 4, "(N, C_in, H, W)")
    weight = _tensor("weight", weight, 4, "(C_out, C_in, k_h, k_w)")
    require_same_kind("weight", weight, "input", x)
    return (
        conv2d_input_grad(tuple(x.shape), weight, grad_output, stride, padding, dilation),
        conv2d_weight_grad(x, tuple(weight.shape), grad_output, stride, padding, dilation),
        conv2d_bias_grad(grad_output),
    )


# ------------------------------------------------------------------------------ max-pool


def _pool_windows(x: torch.Tensor, kernel, stride) -> tuple[torch.Tensor, tuple[int, int]]:
    x = _tensor("input", x, 4, "(N, C, H, W)")
    k, s = _pair("kernel", kernel, 1), _pair("stride", stride, 1)
    out = conv2d_output_size(tuple(x.shape[2:]), k, s)
    return _windows(x, out, k, s, (1, 1)), out


def max_pool2d(x: torch.Tensor, kernel: int | Sequence[int],
               stride: int | Sequence[int] | None = None) -> torch.Tensor:
    """Y[n,c,i,j] = max over the window X[n,c, s i : s i + k_h, s j : s j + k_w] (stride
    defaults to the kernel, as in torch)."""
    win, _ = _pool_windows(x, kernel, kernel if stride is None else stride)
    return win.amax(dim=(-2, -1))


def max_pool2d_backward(x: torch.Tensor, grad_output: torch.Tensor,
                        kernel: int | Sequence[int],
                        stride: int | Sequence[int] | None = None) -> torch.Tensor:
    """∂L/∂X: each window's U[n,c,i,j] goes to the first maximal entry of the window in
    row-major order (torch's convention at ties); overlapping windows add."""
    stride = kernel if stride is None else stride
    win, out = _pool_windows(x, kernel, stride)
    k, s = _pair("kernel", kernel, 1), _pair("stride", stride, 1)
    n, c = x.shape[:2]
    _check_grad_output(grad_output, n, c, out, "input", x)
    flat = win.reshape(n, c, out[0], out[1], k[0] * k[1])
    top = flat.amax(dim=-1, keepdim=True)
    # the first position where the window attains its maximum (argmax's tie rule is not
    # documented for every backend, so the first index is found explicitly)
    positions = torch.arange(k[0] * k[1], device=x.device)
    first = torch.where(flat == top, positions, k[0] * k[1]).amin(dim=-1)
    a, e = first // k[1], first % k[1]
    rows = torch.arange(out[0], device=x.device).reshape(1, 1, -1, 1) * s[0] + a
    cols = torch.arange(out[1], device=x.device).reshape(1, 1, 1, -1) * s[1] + e
    grad = x.new_zeros(x.shape)
    flat_index = (rows * x.shape[3] + cols).reshape(n, c, -1)
    grad.reshape(n, c, -1).scatter_add_(2, flat_index, grad_output.reshape(n, c, -1))
    return grad
