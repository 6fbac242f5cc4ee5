r"""Softmax, log-softmax, cross-entropy and the "true softmax", forward and backward by hand.

Every kernel takes a batch of logits of shape (N, C) (one row per example) as a numpy array
or a torch tensor (float32 or float64) and returns the same kind. Forward subtracts the row
maximum first (log-sum-exp), so logits of magnitude 1e4 in float32 and β up to 1e8 stay
finite. Backward passes never form the C×C Jacobian.

Sources: ``004_a5042f8004da492f.txt`` §1.1 (softmax, cross-entropy), ``001_d80f36ddf3b5193b.txt``
Problem 1 (the true softmax).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from impl._validate import (
    Array,
    batch,
    namespace,
    require_device,
    require_number,
    require_same_kind,
    require_same_shape,
)

__all__ = [
    "cross_entropy",
    "cross_entropy_backward",
    "log_softmax",
    "log_softmax_backward",
    "log_sum_exp",
    "softmax",
    "softmax_backward",
    "softmax_jacobian",
    "true_softmax",
    "true_softmax_gradient",
]


def log_sum_exp(x: Array) -> Array:
    r""":math:`\log\sum_j e^{x_j} = m + \log\sum_j e^{x_j - m}` with m the row max; shape (N, 1)."""
    x = batch("x", x)
    xp = namespace(x)
    m = xp.amax(x, axis=-1, keepdims=True)
    return m + xp.log(xp.sum(xp.exp(x - m), axis=-1, keepdims=True))


def softmax(x: Array) -> Array:
    r""":math:`s_i = e^{x_i - m} / \sum_j e^{x_j - m}` per row (shift-invariant, so exact)."""
    x = batch("x", x)
    xp = namespace(x)
    e = xp.exp(x - xp.amax(x, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def softmax_backward(s: Array, grad_s: Array) -> Array:
    r"""VJP of softmax: :math:`u^\top J = s \odot (u - \langle u, s\rangle)`, J = diag(s) − s sᵀ.

    ``s`` is the forward output, ``grad_s`` the upstream gradient u; O(NC), no C×C matrix.
    (``004_a5042f8004da492f.txt`` §1.1 a.)
    """
    s, grad_s = batch("s", s), batch("grad_s", grad_s)
    require_same_kind("grad_s", grad_s, "s", s)
    require_same_shape("grad_s", grad_s, "s", s)
    xp = namespace(s)
    return s * (grad_s - xp.sum(grad_s * s, axis=-1, keepdims=True))


def softmax_jacobian(x: Array) -> Array:
    r"""The full Jacobians :math:`\operatorname{diag}(s) - s s^\top`, shape (N, C, C).

    For teaching and for checking; the backward never builds them.
    """
    s = softmax(x)
    xp = namespace(s)
    eye = xp.eye(s.shape[-1], dtype=s.dtype)
    return s[:, :, None] * eye - s[:, :, None] * s[:, None, :]


def log_softmax(x: Array) -> Array:
    r""":math:`\log s_i = (x_i - m) - \log\sum_j e^{x_j - m}`, m the row max.

    Finite for any finite x, and accurate: the shifted logits :math:`x_i - m` are exact for
    the entries that matter, and the log of a sum in [1, C] carries an absolute error of a few
    ulps. Computing :math:`x_i - \mathrm{lse}(x)` instead rounds lse to the precision of m
    first, an absolute error of ulp(max|x|)/2 (5e-4 at |x| = 1e4 in float32) in every entry.
    """
    x = batch("x", x)
    xp = namespace(x)
    shifted = x - xp.amax(x, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def log_softmax_backward(log_s: Array, grad: Array) -> Array:
    r"""VJP of log-softmax: :math:`u - s \sum_i u_i` with :math:`s = e^{\log s}`."""
    log_s, grad = batch("log_s", log_s), batch("grad", grad)
    require_same_kind("grad", grad, "log_s", log_s)
    require_same_shape("grad", grad, "log_s", log_s)
    xp = namespace(log_s)
    return grad - xp.exp(log_s) * xp.sum(grad, axis=-1, keepdims=True)


def _targets(x: Array, target: Any) -> Array:
    """Integer labels (N,) or a (N, C) matrix of distributions → a (N, C) target matrix."""
    n, c = x.shape
    xp = namespace(x)
    if isinstance(target, torch.Tensor | np.ndarray) and target.dtype in (
        np.int64, np.int32, torch.int64, torch.int32
    ):
        if isinstance(target, torch.Tensor) != (xp is torch):
            raise TypeError(f"target and x must both be numpy arrays or both torch tensors, "
                            f"got {type(target).__name__} and {type(x).__name__}")
        if isinstance(target, torch.Tensor):
            require_device("target", target)
        if tuple(target.shape) != (n,):
            raise ValueError(f"target labels must have shape (N,) = ({n},), got "
                             f"{tuple(target.shape)}")
        if bool((target < 0).any()) or bool((target >= c).any()):
            raise ValueError(f"target labels must lie in [0, C) = [0, {c}), got min "
                             f"{int(target.min())}, max {int(target.max())}")
        if xp is torch:
            return torch.nn.functional.one_hot(torch.as_tensor(target), c).to(x.dtype)
        return np.eye(c, dtype=x.dtype)[np.asarray(target)]
    t = batch("target", target, layout=f"(N, C) = ({n}, {c})")
    require_same_kind("target", t, "x", x)
    require_same_shape("target", t, "x", x)
    tol = 1e-6 if t.dtype in (np.float32, torch.float32) else 1e-12
    if bool((t < 0).any()) or bool((xp.abs(xp.sum(t, axis=-1) - 1) > tol * c).any()):
        raise ValueError("target rows must be probability distributions (nonnegative, each "
                         "row summing to 1)")
    return t


def cross_entropy(x: Array, target: Any) -> Array:
    r"""Batch-mean cross-entropy of softmax(x): :math:`\frac1N\sum_n -\sum_i t_{ni}\log s_{ni}`.

    ``target``: integer labels (N,) or rows that are distributions (one-hot or soft).
    Returns a 0-d array/tensor. (``004_a5042f8004da492f.txt`` §1.1 a, c.)
    """
    x = batch("x", x)
    t = _targets(x, target)
    xp = namespace(x)
    return -xp.sum(t * log_softmax(x)) / x.shape[0]


def cross_entropy_backward(x: Array, target: Any) -> Array:
    r""":math:`\partial L/\partial x = (s - t)/N` for the batch-mean loss (Σ_i t_i = 1 per row).

    Stateless: it recomputes s from x, so it needs no cache from a forward call.
    """
    x = batch("x", x)
    t = _targets(x, target)
    return (softmax(x) - t) / x.shape[0]


def _beta(beta: Any) -> float:
    return require_number("beta", beta, low=0, low_open=True)


def true_softmax(x: Array, beta: float) -> Array:
    r""":math:`\nu_\beta(x) = \frac1\beta \log\sum_i e^{\beta x_i}` per row, shape (N, 1).

    Computed as max x + (1/β) log Σ exp(β(x_i − max x)): finite for β up to 1e8 and beyond.
    (``001_d80f36ddf3b5193b.txt`` Problem 1.)
    """
    x, beta = batch("x", x), _beta(beta)
    xp = namespace(x)
    m = xp.amax(x, axis=-1, keepdims=True)
    return m + xp.log(xp.sum(xp.exp(beta * (x - m)), axis=-1, keepdims=True)) / beta


def true_softmax_gradient(x: Array, beta: float) -> Array:
    r""":math:`\nabla\nu_\beta(x) = \operatorname{softmax}(\beta x)`.

    Scaling the already-shifted logits keeps β·x from overflowing or losing the gaps between
    logits to rounding (β = 1e8 with |x| = 1e4 in float32).
    """
    x, beta = batch("x", x), _beta(beta)
    xp = namespace(x)
    return softmax(beta * (x - xp.amax(x, axis=-1, keepdims=True)))
