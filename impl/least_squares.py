r"""Least squares by hand: loss, gradient, minimiser, gradient descent and its closed form.

Source: ``002_f6a45d0186751a72.txt`` Q5. Loss :math:`L(w) = \tfrac12\|Xw - y\|^2` with X of
shape (n, d), y of shape (n,), w of shape (d,). Every function accepts numpy arrays or torch
tensors (float32/float64) and returns the same kind.

* :func:`least_squares_gradient`: :math:`\nabla L = X^\top(Xw - y)`;
* :func:`least_squares_minimiser`: :math:`(X^\top X)^{-1}X^\top y` (a linear solve of the normal
  equations; X must have full column rank);
* :func:`gradient_descent`: the iterates :math:`w_{j+1} = w_j - \alpha\nabla L(w_j)`;
* :func:`gd_iterate_closed_form`: :math:`w_k = A^k w_0 + \alpha\sum_{i<k} A^i X^\top y`,
  :math:`A = I - \alpha X^\top X`;
* :func:`step_size_limit` (2/λ_max) and :func:`iteration_spectral_radius`
  (:math:`\max_i|1 - \alpha\lambda_i|`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from impl._validate import (
    Array,
    namespace,
    require_finite,
    require_int,
    require_ndim,
    require_nonempty,
    require_number,
    require_same_kind,
    require_values,
)

__all__ = [
    "gd_iterate_closed_form",
    "gradient_descent",
    "iteration_spectral_radius",
    "least_squares_gradient",
    "least_squares_loss",
    "least_squares_minimiser",
    "step_size_limit",
]


def _design(X: Any) -> Array:
    X = require_values("X", X)
    require_ndim("X", X, 2, "(n, d)")
    require_nonempty("X", X, "(n, d)")
    require_finite("X", X)
    return X


def _vector(name: str, v: Any, length: int, layout: str, X: Array) -> Array:
    v = require_values(name, v)
    require_same_kind(name, v, "X", X)
    if tuple(v.shape) != (length,):
        raise ValueError(f"{name} must have shape {layout} = ({length},), got {tuple(v.shape)}")
    require_finite(name, v)
    return v


def _problem(X: Any, y: Any, *w: Any, w_name: str = "w"):
    """(X, y) or, given w, (X, y, w), each checked (w=None is a wrong kind, not "no w")."""
    X = _design(X)
    n, d = X.shape
    y = _vector("y", y, n, "(n,)", X)
    if not w:
        return X, y
    return X, y, _vector(w_name, w[0], d, "(d,)", X)


def _alpha(alpha: float) -> float:
    return require_number("alpha", alpha, low=0, low_open=True, what="the step size")


def _steps(k: int) -> int:
    return require_int("k", k, low=0, what="the number of steps")


def _eye(X: Array) -> Array:
    d = X.shape[1]
    if isinstance(X, torch.Tensor):
        return torch.eye(d, dtype=X.dtype)
    return np.eye(d, dtype=X.dtype)


# ------------------------------------------------------------------ loss and gradient


def least_squares_loss(X: Any, w: Any, y: Any) -> Array:
    r""":math:`\tfrac12\|Xw - y\|^2` (a 0-d array)."""
    X, y, w = _problem(X, y, w)
    r = X @ w - y
    return 0.5 * (r @ r)


def least_squares_gradient(X: Any, w: Any, y: Any) -> Array:
    r""":math:`\nabla_w \tfrac12\|Xw - y\|^2 = X^\top(Xw - y)` (Exercise 15)."""
    X, y, w = _problem(X, y, w)
    return X.T @ (X @ w - y)


def least_squares_minimiser(X: Any, y: Any) -> Array:
    r""":math:`w^\star = (X^\top X)^{-1}X^\top y`, solved from the normal equations.

    Raises ``ValueError`` when X does not have full column rank (XᵀX is singular and the
    minimiser is not unique).
    """
    X, y = _problem(X, y)
    d = X.shape[1]
    rank = (torch.linalg.matrix_rank(X).item() if isinstance(X, torch.Tensor)
            else int(np.linalg.matrix_rank(X)))
    if rank < d:
        raise ValueError(f"X must have full column rank d = {d} for the minimiser "
                         f"(XᵀX)⁻¹Xᵀy to exist, got rank {rank} (shape {tuple(X.shape)})")
    solve = torch.linalg.solve if isinstance(X, torch.Tensor) else np.linalg.solve
    return solve(X.T @ X, X.T @ y)


# ------------------------------------------------------------------ gradient descent


def gradient_descent(X: Any, y: Any, w0: Any, alpha: float, k: int) -> Array:
    r"""w₀ … w_k of :math:`w_{j+1} = w_j - \alpha X^\top(Xw_j - y)`; shape (k + 1, d)."""
    X, y, w0 = _problem(X, y, w0, w_name="w0")
    alpha, k = _alpha(alpha), _steps(k)
    out = [w0]
    for _ in range(k):
        w = out[-1]
        out.append(w - alpha * (X.T @ (X @ w - y)))
    xp = namespace(X)
    return xp.stack(out)


def gd_iterate_closed_form(X: Any, y: Any, w0: Any, alpha: float, k: int) -> Array:
    r""":math:`w_k = A^k w_0 + \alpha\sum_{i=0}^{k-1} A^i X^\top y`, A = I − αXᵀX (Exercise 17).

    The powers are accumulated one multiplication at a time (A^i b for i < k), and A^k w₀ by
    the library's matrix power.
    """
    X, y, w0 = _problem(X, y, w0, w_name="w0")
    alpha, k = _alpha(alpha), _steps(k)
    A = _eye(X) - alpha * (X.T @ X)
    b = X.T @ y
    power = torch.linalg.matrix_power if isinstance(X, torch.Tensor) else np.linalg.matrix_power
    series = b * 0
    term = b  # A^i b
    for _ in range(k):
        series = series + term
        term = A @ term
    return power(A, k) @ w0 + alpha * series


# ------------------------------------------------------------------ step size


def _eigenvalues(X: Array) -> Array:
    # Only ever turned into a Python float: no graph is wanted (and float() of a tensor that
    # requires grad warns).
    if isinstance(X, torch.Tensor):
        return torch.linalg.eigvalsh(X.detach().T @ X.detach())
    return np.linalg.eigvalsh(X.T @ X)


def step_size_limit(X: Any) -> float:
    r""":math:`2/\lambda_{\max}(X^\top X)`: GD converges for 0 < α below it (X ≠ 0)."""
    X = _design(X)
    lam_max = float(_eigenvalues(X).max())
    if not lam_max > 0:
        raise ValueError("X must be nonzero: XᵀX has no positive eigenvalue")
    return 2.0 / lam_max


def iteration_spectral_radius(X: Any, alpha: float) -> float:
    r""":math:`\rho(I - \alpha X^\top X) = \max_i |1 - \alpha\lambda_i(X^\top X)|`."""
    X = _design(X)
    alpha = _alpha(alpha)
    return float(abs(1 - alpha * _eigenvalues(X)).max())
