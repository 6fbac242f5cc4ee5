r"""Batch normalisation by hand, forward and backward side by side, and BN folding.

Every kernel takes a batch (N, C) (one row per example, one column per neuron) as a numpy
array or a torch tensor (float32 or float64) and returns the same kind, so the numpy version
and the torch version are the same lines of code. Statistics are per neuron over the batch,
with the **biased** variance (training mode):

.. math::
    \mu = \tfrac1N\textstyle\sum_n x_n,\quad \sigma^2 = \tfrac1N\sum_n (x_n-\mu)^2,\quad
    \hat x = (x-\mu)/\sqrt{\sigma^2+\varepsilon},\quad y = \gamma\hat x + \beta .

The variance is computed from the centred batch (two passes), never as E[x²] − E[x]², so a
batch of 1e6 + small noise keeps its digits (the test ``…_without_catastrophic_cancellation``).

Folding (``001_d80f36ddf3b5193b.txt`` Problem 3): ``fold_batchnorm(model)`` returns a copy of
a network in which every Conv2d→BatchNorm2d and Linear→BatchNorm1d pair inside an
``nn.Sequential`` is replaced by one Conv2d / Linear with
W' = W·γ/√(σ²+ε) (per output channel) and b' = (b − μ)·γ/√(σ²+ε) + β, μ and σ² the running
statistics. ``seed_network`` builds the seed's network with scalable widths.

Sources: ``004_a5042f8004da492f.txt`` §3 (batch norm), ``001_d80f36ddf3b5193b.txt`` Problem 3.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from impl._validate import (
    Array,
    batch,
    namespace,
    require_device,
    require_finite,
    require_int,
    require_number,
    require_same_kind,
    require_values,
)

__all__ = [
    "SeedNetwork",
    "batchnorm_backward",
    "batchnorm_forward",
    "batchnorm_statistics",
    "fold_batchnorm",
    "fold_into_layer",
    "seed_network",
]


def _eps(eps: Any) -> float:
    return require_number("eps", eps, low=0, low_open=True)


def _training_batch(x: Any, name: str = "x") -> Array:
    x = batch(name, x, layout="(N, C)")
    if x.shape[0] < 2:
        raise ValueError(f"{name} must hold a batch of N ≥ 2 rows in training mode (the batch "
                         f"variance of one example is 0), got shape {tuple(x.shape)}")
    return x


def _per_neuron(name: str, p: Any, x: Array, x_name: str = "x") -> Array:
    """gamma/beta: shape (C,), same kind, dtype and device as x, finite."""
    c = x.shape[1]
    p = require_values(name, p)
    require_same_kind(name, p, x_name, x)
    if p.ndim != 1 or p.shape[0] != c:
        raise ValueError(f"{name} must have shape (C,) = ({c},), one entry per neuron, got "
                         f"{tuple(p.shape)}")
    require_finite(name, p)
    return p


def batchnorm_statistics(x: Array, eps: float = 1e-5) -> tuple[Array, Array, Array]:
    r"""(μ, 1/√(σ²+ε), x̂), each per neuron; μ and the inverse std have shape (1, C).

    Two passes: μ first, then σ² = mean((x − μ)²) from the centred batch.
    """
    x, eps = _training_batch(x), _eps(eps)
    xp = namespace(x)
    mu = xp.mean(x, axis=0, keepdims=True)
    centred = x - mu
    var = xp.mean(centred * centred, axis=0, keepdims=True)  # biased: divide by N
    inv_std = 1.0 / xp.sqrt(var + eps)
    return mu, inv_std, centred * inv_std


def batchnorm_forward(x: Array, gamma: Array, beta: Array, eps: float = 1e-5) -> Array:
    r""":math:`y = \gamma\hat x + \beta`, training mode (``004_a5042f8004da492f.txt`` §3.1)."""
    x = _training_batch(x)
    gamma, beta = _per_neuron("gamma", gamma, x), _per_neuron("beta", beta, x)
    _, _, x_hat = batchnorm_statistics(x, eps)
    return gamma * x_hat + beta


def batchnorm_backward(
    x: Array, gamma: Array, grad_y: Array, eps: float = 1e-5
) -> tuple[Array, Array, Array]:
    r"""(∂L/∂x, ∂L/∂γ, ∂L/∂β) for the upstream gradient g = ∂L/∂y, by formula (5).

    .. math::
        \frac{\partial L}{\partial x_i} = \frac{\gamma}{m\sqrt{\sigma^2+\varepsilon}}
        \Big(m g_i - \sum_j g_j - \hat x_i \sum_j g_j \hat x_j\Big),\quad
        \frac{\partial L}{\partial\gamma} = \sum_i g_i\hat x_i,\quad
        \frac{\partial L}{\partial\beta} = \sum_i g_i

    per neuron, m = N (``004_a5042f8004da492f.txt`` §3.2 a). Stateless: recomputes x̂ from x.
    """
    x = _training_batch(x)
    gamma = _per_neuron("gamma", gamma, x)
    grad_y = require_values("grad_y", grad_y)
    require_same_kind("grad_y", grad_y, "x", x)
    grad_y = batch("grad_y", grad_y, layout=f"(N, C) = {tuple(x.shape)}")
    if tuple(grad_y.shape) != tuple(x.shape):
        raise ValueError(f"grad_y must have the shape of x {tuple(x.shape)}, got "
                         f"{tuple(grad_y.shape)}")
    xp = namespace(x)
    _, inv_std, x_hat = batchnorm_statistics(x, eps)
    m = x.shape[0]
    sum_g = xp.sum(grad_y, axis=0)
    sum_g_xhat = xp.sum(grad_y * x_hat, axis=0)
    grad_x = (gamma * inv_std / m) * (m * grad_y - sum_g - x_hat * sum_g_xhat)
    return grad_x, sum_g_xhat, sum_g


# ------------------------------------------------------------------------------ folding

_PAIRS = ((nn.Conv2d, nn.BatchNorm2d), (nn.Linear, nn.BatchNorm1d))


def _check_foldable(layer: nn.Conv2d | nn.Linear, bn: nn.modules.batchnorm._BatchNorm) -> None:
    """Devices first, then dtypes, then values: every tensor finite, σ² ≥ 0, σ² + ε > 0."""
    named = [("layer.weight", layer.weight), ("layer.bias", layer.bias),
             ("bn.weight", bn.weight), ("bn.bias", bn.bias),
             ("bn.running_mean", bn.running_mean), ("bn.running_var", bn.running_var)]
    named = [(n, t) for n, t in named if t is not None]
    for n, t in named:
        require_device(n, t)
        if t.dtype != layer.weight.dtype:
            raise TypeError(f"{n} and layer.weight must share a dtype, got {t.dtype} and "
                            f"{layer.weight.dtype}")
    for n, t in named:
        require_finite(n, t.detach())
    var = bn.running_var
    if bool((var < 0).any()):
        raise ValueError(f"bn.running_var must be ≥ 0 (a variance), got min {var.min().item()!r}")
    eps = require_number("bn.eps", bn.eps, low=0)
    if bool((var + eps <= 0).any()):
        raise ValueError(f"bn.eps must be > 0 where bn.running_var is 0 (σ² + ε is a divisor), "
                         f"got eps = {eps!r}")


def fold_into_layer(layer: nn.Conv2d | nn.Linear, bn: nn.BatchNorm2d | nn.BatchNorm1d
                    ) -> nn.Conv2d | nn.Linear:
    r"""One layer equal to ``bn(layer(x))`` with ``bn`` in eval mode (running statistics).

    :math:`W' = W\cdot\gamma/\sqrt{\sigma^2+\varepsilon}` row by row (per output channel),
    :math:`b' = (b-\mu)\gamma/\sqrt{\sigma^2+\varepsilon} + \beta` (b = 0 if the layer has none).
    """
    if not isinstance(layer, nn.Conv2d | nn.Linear):
        raise TypeError(f"layer must be an nn.Conv2d or an nn.Linear, got {type(layer).__name__}")
    if not isinstance(bn, nn.modules.batchnorm._BatchNorm):
        raise TypeError(f"bn must be an nn.BatchNorm1d or nn.BatchNorm2d, got "
                        f"{type(bn).__name__}")
    if not any(isinstance(layer, a) and isinstance(bn, b) for a, b in _PAIRS):
        raise ValueError(f"can fold Conv2d→BatchNorm2d or Linear→BatchNorm1d, got "
                         f"{type(layer).__name__}→{type(bn).__name__}")
    out = layer.weight.shape[0]
    if bn.num_features != out:
        raise ValueError(f"bn has {bn.num_features} features but the layer has {out} outputs")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn must track running statistics (track_running_stats=True)")
    _check_foldable(layer, bn)
    with torch.no_grad():
        gamma = bn.weight if bn.affine else torch.ones_like(bn.running_var)
        beta = bn.bias if bn.affine else torch.zeros_like(bn.running_var)
        scale = gamma / torch.sqrt(bn.running_var + bn.eps)
        bias = layer.bias if layer.bias is not None else torch.zeros_like(bn.running_mean)
        folded = copy.deepcopy(layer)
        if folded.bias is None:
            folded.bias = nn.Parameter(torch.zeros_like(bias))
        shape = (out,) + (1,) * (layer.weight.ndim - 1)
        folded.weight.copy_(layer.weight * scale.reshape(shape))
        folded.bias.copy_((bias - bn.running_mean) * scale + beta)
    return folded


def _fold_sequential(seq: nn.Sequential) -> nn.Sequential:
    """Fold the pairs of one Sequential (modules already copied), recursing into the rest."""
    kids = list(seq.children())
    out: list[nn.Module] = []
    i = 0
    while i < len(kids):
        a, b = kids[i], kids[i + 1] if i + 1 < len(kids) else None
        if b is not None and any(isinstance(a, p) and isinstance(b, q) for p, q in _PAIRS):
            out.append(fold_into_layer(a, b))
            i += 2
        else:
            out.append(_fold_sequential(a) if isinstance(a, nn.Sequential) else _fold_children(a))
            i += 1
    return nn.Sequential(*out)


def _fold_children(module: nn.Module) -> nn.Module:
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Sequential):
            setattr(module, name, _fold_sequential(child))
        else:
            _fold_children(child)
    return module


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode with every conv→BN / linear→BN pair folded.

    Pairs are found inside ``nn.Sequential`` containers (at any depth); the BN modules are
    removed. A BatchNorm that does not follow a foldable layer raises ``ValueError`` rather
    than being left behind silently. ``model`` itself is not modified.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    folded = copy.deepcopy(model)
    folded = _fold_sequential(folded) if isinstance(folded, nn.Sequential) else \
        _fold_children(folded)
    left = [n for n, mod in folded.named_modules()
            if isinstance(mod, nn.modules.batchnorm._BatchNorm)]
    if left:
        raise ValueError(f"BatchNorm not preceded by a Conv2d/Linear in the same Sequential: "
                         f"{left}")
    return folded.eval()


class SeedNetwork(nn.Module):
    """The network of ``001_d80f36ddf3b5193b.txt`` Problem 3, widths scalable.

    conv 3→c (3×3, pad 1) → BN2d → ReLU; conv c→c (3×3, pad 1) → BN2d → ReLU; flatten;
    linear c·s·s → h → BN1d → ReLU; linear h → 10 → ReLU. The seed: c = 16, s = 32, h = 32·32.
    """

    def __init__(self, channels: int = 16, size: int = 32, hidden: int = 32 * 32,
                 classes: int = 10, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        for name, v in (("channels", channels), ("size", size), ("hidden", hidden),
                        ("classes", classes)):
            require_int(name, v, low=1)
        if dtype not in (None, torch.float32, torch.float64):
            raise TypeError(f"dtype must be None, torch.float32 or torch.float64, got {dtype!r}")
        kw = {"dtype": dtype}
        self.conv1 = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, **kw),
                                   nn.BatchNorm2d(channels, **kw), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, **kw),
                                   nn.BatchNorm2d(channels, **kw), nn.ReLU())
        self.fcl = nn.Sequential(nn.Linear(channels * size * size, hidden, **kw),
                                 nn.BatchNorm1d(hidden, **kw), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(hidden, classes, **kw), nn.ReLU())
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 3, size, size) in the network's dtype; NaN propagates (as in any module)."""
        x = require_values("x", x, kind="torch")
        w = self.conv1[0].weight
        if x.dtype != w.dtype:
            raise TypeError(f"x must have the network's dtype {w.dtype}, got {x.dtype}")
        if x.ndim != 4 or tuple(x.shape[1:]) != (3, self.size, self.size) or x.shape[0] == 0:
            raise ValueError(f"x must have shape (N, 3, {self.size}, {self.size}) with N ≥ 1, "
                             f"got {tuple(x.shape)}")
        x = self.conv2(self.conv1(x))
        return self.fc2(self.fcl(torch.flatten(x, 1)))


def seed_network(channels: int = 16, size: int = 32, hidden: int = 32 * 32,
                 dtype: torch.dtype | None = None) -> SeedNetwork:
    """``SeedNetwork`` with the given widths (defaults: the seed's full size)."""
    return SeedNetwork(channels, size, hidden, dtype=dtype)
