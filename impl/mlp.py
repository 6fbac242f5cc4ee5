r"""Multilayer perceptrons with hand-written backpropagation.

* Seed ``002_f6a45d0186751a72.txt`` Q1: the one-hidden-layer tanh regressor
  :math:`\hat y = w_2^\top\tanh(W_1x + b_1) + b_2` with the mean absolute error
  :math:`J = \frac1N\sum_i|\hat y^i - y^i|` (``tanh_regression_forward`` /
  ``tanh_regression_backward``), and optionally the half mean squared error.
* Seed ``000_44446893528eed8a.txt`` Problem 1: the sigmoid MLP
  :math:`y_\ell = \sigma(A_\ell y_{\ell-1} + b_\ell)` (identity last layer) with loss
  :math:`\frac12(y_L - Y)^2` (``sigmoid_mlp_forward`` / ``sigmoid_mlp_backward``).

Every backward here is computed by hand; none calls autograd.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "TANH_REGRESSION_KEYS",
    "tanh_regression_backward",
    "tanh_regression_forward",
]

TANH_REGRESSION_KEYS = ("W1", "b1", "w2", "b2")


def _as_float64(name: str, a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    if not isinstance(a, np.ndarray | np.floating | float | int):
        raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(a).__name__}")
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real array, got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def _tanh_regression_inputs(
    x: Any, params: dict[str, Any], y: Any = None
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict with keys {TANH_REGRESSION_KEYS}, got "
                        f"{type(params).__name__}")
    missing = [k for k in TANH_REGRESSION_KEYS if k not in params]
    if missing:
        raise ValueError(f"params lacks the keys {missing}; expected {TANH_REGRESSION_KEYS}")
    p = {k: _as_float64(f"params[{k!r}]", params[k]) for k in TANH_REGRESSION_KEYS}
    x = _as_float64("x", x)
    if p["W1"].ndim != 2:
        raise ValueError(f"params['W1'] must be 2-D with shape (H, D), got shape "
                         f"{p['W1'].shape}")
    h, d = p["W1"].shape
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"x must have shape (N, D) = (N, {d}) to match params['W1'] of shape "
                         f"{p['W1'].shape}, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one example, got shape (0, D)")
    if p["b1"].shape != (h,):
        raise ValueError(f"params['b1'] must have shape (H,) = ({h},) to match params['W1'] of "
                         f"shape {p['W1'].shape}, got shape {p['b1'].shape}")
    if p["w2"].shape != (h,):
        raise ValueError(f"params['w2'] must have shape (H,) = ({h},) to match params['W1'] of "
                         f"shape {p['W1'].shape}, got shape {p['w2'].shape}")
    if p["b2"].size != 1:
        raise ValueError(f"params['b2'] must be a scalar (shape ()), got shape {p['b2'].shape}")
    if y is not None:
        y = _as_float64("y", y)
        if y.shape != (x.shape[0],):
            raise ValueError(f"y must have shape (N,) = ({x.shape[0]},) to match x of shape "
                             f"{x.shape}, got shape {y.shape}")
    return x, p, y


def tanh_regression_forward(x: Any, params: dict[str, Any]) -> np.ndarray:
    r""":math:`\hat y^i = w_2^\top\tanh(W_1x^i + b_1) + b_2` for each row x^i of x (N, D).

    params: ``W1`` (H, D), ``b1`` (H,), ``w2`` (H,), ``b2`` shape (); numpy float64 arrays or
    torch tensors (converted to float64 numpy). Returns ŷ of shape (N,), float64.
    """
    x, p, _ = _tanh_regression_inputs(x, params)
    hidden = np.tanh(x @ p["W1"].T + p["b1"])  # (N, H)
    return hidden @ p["w2"] + p["b2"].reshape(())


def tanh_regression_backward(
    x: Any, y: Any, params: dict[str, Any], *, loss: str = "mae"
) -> dict[str, np.ndarray]:
    r"""Gradients of J with respect to ``W1``, ``b1``, ``w2``, ``b2`` (same keys and shapes).

    ``loss="mae"`` (default, the seed's): :math:`J = \frac1N\sum_i|\hat y^i - y^i|`, with
    :math:`g_i = \operatorname{sign}(\hat y^i - y^i)` (|·| has no derivative at 0; there this
    returns sign(0) = 0, a subgradient). ``loss="mse"``:
    :math:`J = \frac1{2N}\sum_i(\hat y^i - y^i)^2` with :math:`g_i = \hat y^i - y^i`. Then,
    seed 002 Q1 Exercise 1, with :math:`h^i = \tanh(W_1x^i + b_1)`:

    .. math::
        \partial J/\partial b_2 = \tfrac1N\sum_i g_i,\quad
        \partial J/\partial w_2 = \tfrac1N\sum_i g_i h^i,\quad
        \partial J/\partial b_1 = \tfrac1N\sum_i g_i\,w_2\odot(1-(h^i)^2),\quad
        \partial J/\partial W_1 = \tfrac1N\sum_i g_i\,(w_2\odot(1-(h^i)^2))\,{x^i}^\top.
    """
    x, p, y = _tanh_regression_inputs(x, params, y)
    if loss not in ("mae", "mse"):
        raise ValueError(f"loss must be 'mae' or 'mse', got {loss!r}")
    n = x.shape[0]
    hidden = np.tanh(x @ p["W1"].T + p["b1"])  # (N, H)
    y_hat = hidden @ p["w2"] + p["b2"].reshape(())
    g = np.sign(y_hat - y) if loss == "mae" else y_hat - y  # dJ/dŷ · N, shape (N,)
    g = g / n
    delta = (g[:, None] * p["w2"]) * (1.0 - hidden**2)  # dJ/d(pre-activation), (N, H)
    return {
        "W1": delta.T @ x,
        "b1": delta.sum(axis=0),
        "w2": hidden.T @ g,
        "b2": np.asarray(g.sum()).reshape(p["b2"].shape),
    }
