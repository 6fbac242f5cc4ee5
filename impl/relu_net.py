r"""The hat function and the soft threshold as torch ReLU networks, and both targets by hand.

Source: ``002_f6a45d0186751a72.txt`` Q3 (Exercises 8 and 9). The networks are
``nn.Linear`` + ``nn.ReLU`` with exactly the seed's weights:

* hat: :math:`\mathrm{ReLU}(w_3\,\mathrm{ReLU}(w_1x + b_1) + w_4\,\mathrm{ReLU}(w_2x + b_2) + b)`
  with w₁ = 2, b₁ = −1, w₂ = −2, b₂ = 1, w₃ = w₄ = −1, b = b₃ + b₄ = 1;
* soft threshold: :math:`w_3\,\mathrm{ReLU}(w_1x - b_1) + w_4\,\mathrm{ReLU}(w_2x + b_2)` with
  w₁ = 1, b₁ = s, w₂ = −1, b₂ = −s, w₃ = 1, w₄ = −1, b₃ = b₄ = 0.

The targets (:func:`hat`, :func:`soft_threshold`) and their derivatives off the breakpoints
(:func:`hat_derivative`, :func:`soft_threshold_derivative`) are written directly from the
problem statement, numpy or torch. :func:`network_forward` applies a network to a 1-D batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from impl._validate import Array, namespace, require_finite, require_values

__all__ = [
    "hat",
    "hat_derivative",
    "hat_network",
    "network_forward",
    "soft_threshold",
    "soft_threshold_derivative",
    "soft_threshold_network",
]


def _threshold(s: float) -> float:
    if isinstance(s, bool | np.bool_) or not isinstance(s, int | float | np.integer |
                                                        np.floating):
        raise TypeError(f"s (the threshold) must be a real number, got {type(s).__name__}")
    s = float(s)
    if not s >= 0 or not np.isfinite(s):
        raise ValueError(f"s (the threshold) must be a finite number >= 0, got {s!r}")
    return s


def _dtype(dtype: Any) -> torch.dtype:
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def _linear(weight: list[list[float]], bias: list[float], dtype: torch.dtype) -> nn.Linear:
    out_features, in_features = len(weight), len(weight[0])
    layer = nn.Linear(in_features, out_features, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=dtype))
        layer.bias.copy_(torch.tensor(bias, dtype=dtype))
    return layer


def hat_network(dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """Linear(1→2) [2; −2], [−1, 1] → ReLU → Linear(2→1) [−1, −1], [1] → ReLU."""
    dtype = _dtype(dtype)
    return nn.Sequential(
        _linear([[2.0], [-2.0]], [-1.0, 1.0], dtype), nn.ReLU(),
        _linear([[-1.0, -1.0]], [1.0], dtype), nn.ReLU(),
    )


def soft_threshold_network(s: float, dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """Linear(1→2) [1; −1], [−s, −s] → ReLU → Linear(2→1) [1, −1], [0]; s ≥ 0."""
    s, dtype = _threshold(s), _dtype(dtype)
    return nn.Sequential(
        _linear([[1.0], [-1.0]], [-s, -s], dtype), nn.ReLU(),
        _linear([[1.0, -1.0]], [0.0], dtype),
    )


def network_forward(net: nn.Module, x: Any) -> torch.Tensor:
    """Apply a scalar-to-scalar network (a module mapping (N, 1) to (N, 1), as the networks
    here do) to a 1-D batch x of shape (N,); returns shape (N,).

    x must have the dtype of the network's parameters; NaN propagates through the network (as
    it does through any torch module)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be an nn.Module, got {type(net).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch tensor of shape (N,), got {type(x).__name__}")
    x = require_values("x", x)
    param = next(net.parameters(), None)
    if param is not None and (param.dtype != x.dtype or param.device != x.device):
        raise TypeError(f"x must have the dtype and device of net's parameters ({param.dtype}, "
                        f"{param.device}), got {x.dtype}, {x.device}")
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D with shape (N,), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one point, got shape (0,)")
    return net(x.unsqueeze(-1)).squeeze(-1)


# ------------------------------------------------------------------ the targets by hand


def _points(x: Any) -> Array:
    x = require_values("x", x)
    require_finite("x", x)
    return x


def hat(x: Any) -> Array:
    r""":math:`f(x) = 2x` on [0, ½], :math:`2(1 - x)` on (½, 1], 0 elsewhere (elementwise)."""
    x = _points(x)
    xp = namespace(x)
    zero = x * 0
    return xp.where((x >= 0) & (x <= 0.5), 2 * x, xp.where((x > 0.5) & (x <= 1), 2 * (1 - x),
                                                           zero))


def hat_derivative(x: Any) -> Array:
    """f′(x) off the breakpoints {0, ½, 1}: 2 on (0, ½), −2 on (½, 1), 0 outside [0, 1]; 0 at
    the breakpoints, the autograd derivative of :func:`hat_network` there (torch's
    ReLU′(0) = 0)."""
    x = _points(x)
    xp = namespace(x)
    one = x * 0 + 1
    return xp.where((x > 0) & (x < 0.5), 2 * one, xp.where((x > 0.5) & (x < 1), -2 * one,
                                                           0 * one))


def soft_threshold(x: Any, s: float) -> Array:
    r""":math:`\operatorname{sign}(x)\max(|x| - s, 0)` (elementwise), s ≥ 0."""
    x, s = _points(x), _threshold(s)
    xp = namespace(x)
    return xp.sign(x) * xp.maximum(xp.abs(x) - s, x * 0)


def soft_threshold_derivative(x: Any, s: float) -> Array:
    """Off the breakpoints ±s: 1 where |x| > s, 0 where |x| < s; 0 at ±s, the autograd
    derivative of :func:`soft_threshold_network` there (torch's ReLU′(0) = 0)."""
    x, s = _points(x), _threshold(s)
    return (abs(x) > s) * (x * 0 + 1)
