r"""LayerNorm over the last axis, forward and backward side by side (numpy).

Forward, per row :math:`x \in \mathbb{R}^D`:
:math:`\mu = \tfrac1D \sum_j x_j`, :math:`\sigma^2 = \tfrac1D \sum_j (x_j - \mu)^2`,
:math:`r = (\sigma^2 + \varepsilon)^{-1/2}`, :math:`\hat x = (x - \mu)\, r`,
:math:`y = \gamma \odot \hat x + \beta`.

Backward, with upstream gradient :math:`g = \partial L / \partial y` and
:math:`h = \gamma \odot g`:

.. math::
    \frac{\partial L}{\partial x} = r\,\bigl(h - \operatorname{mean}(h)
        - \hat x\, \operatorname{mean}(h \odot \hat x)\bigr),\qquad
    \frac{\partial L}{\partial \gamma} = \sum_{\text{rows}} g \odot \hat x,\qquad
    \frac{\partial L}{\partial \beta} = \sum_{\text{rows}} g.
"""

from __future__ import annotations

import numpy as np


def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5):
    """y = γ ⊙ (x − μ)/√(σ² + ε) + β over the last axis; returns (y, cache)."""
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=-1, keepdims=True)
    r = 1 / np.sqrt(var + np.asarray(eps, dtype=x.dtype))
    xhat = xc * r
    return gamma * xhat + beta, (xhat, r, gamma)


def layernorm_backward(g: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(∂L/∂x, ∂L/∂γ, ∂L/∂β) from the upstream gradient g = ∂L/∂y."""
    xhat, r, gamma = cache
    h = gamma * g
    dx = r * (h - h.mean(axis=-1, keepdims=True)
              - xhat * (h * xhat).mean(axis=-1, keepdims=True))
    lead = tuple(range(g.ndim - 1))
    return dx, (g * xhat).sum(axis=lead), g.sum(axis=lead)
