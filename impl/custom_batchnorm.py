r"""The three batch-norm implementations of ``004_a5042f8004da492f.txt`` §3, with its interface.

* ``CustomBatchNormAutograd(n_neurons, eps=1e-5)``: an ``nn.Module`` whose forward is written
  in torch operations; its backward is autograd's (§3.1).
* ``CustomBatchNormManualFunction``: a ``torch.autograd.Function`` with
  ``forward(ctx, input, gamma, beta, eps=1e-5)`` and a hand-written ``backward`` that is the
  seed's formula (5); it returns gradients for input, gamma, beta and ``None`` for eps (§3.2 b).
* ``CustomBatchNormManualModule(n_neurons, eps=1e-5)``: an ``nn.Module`` that applies the
  function with its own γ (ones) and β (zeros) (§3.2 c).

Input is (batch, n_neurons), training mode (batch statistics, biased variance). Bad input
raises ``ValueError`` naming the argument: a batch of one, a non-2-D input, a wrong number of
neurons, γ/β of the wrong length, eps ≤ 0.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from impl._validate import batch, require_int, require_same_kind, require_values
from impl.batchnorm import _eps, _per_neuron, _training_batch, batchnorm_backward

__all__ = [
    "CustomBatchNormAutograd",
    "CustomBatchNormManualFunction",
    "CustomBatchNormManualModule",
]


def _check_input(input: Any, n_neurons: int | None) -> torch.Tensor:
    input = require_values("input", input, kind="torch")
    if input.ndim != 2:
        raise ValueError(f"input must be 2-D with shape (batch, n_neurons) = "
                         f"(N, {n_neurons or 'C'}), got shape {tuple(input.shape)}")
    if n_neurons is not None and input.shape[1] != n_neurons:
        raise ValueError(f"input must have n_neurons = {n_neurons} columns, got shape "
                         f"{tuple(input.shape)}")
    return _training_batch(input, "input")


def _n_neurons(n: Any) -> int:
    return require_int("n_neurons", n, low=1)


class _BatchNormParameters(nn.Module):
    """γ = 1, β = 0 of shape (n_neurons,) and ε, validated; shared by the two §3 modules.

    γ and β are made in the default dtype; ``forward`` uses them in the dtype of its input
    (a differentiable cast), so float32 and float64 input both work and the output has the
    input's dtype.
    """

    def __init__(self, n_neurons: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.n_neurons = _n_neurons(n_neurons)
        self.eps = _eps(eps)
        self.gamma = nn.Parameter(torch.ones(n_neurons))
        self.beta = nn.Parameter(torch.zeros(n_neurons))


class CustomBatchNormAutograd(_BatchNormParameters):
    r"""Batch norm in torch operations; autograd differentiates it (§3.1).

    :math:`y = \gamma (x-\mu)/\sqrt{\sigma^2+\varepsilon} + \beta`, biased σ².
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = _check_input(input, self.n_neurons)
        gamma, beta = self.gamma.to(x.dtype), self.beta.to(x.dtype)
        mu = x.mean(dim=0, keepdim=True)
        var = ((x - mu) ** 2).mean(dim=0, keepdim=True)
        return gamma * (x - mu) / torch.sqrt(var + self.eps) + beta


class CustomBatchNormManualFunction(torch.autograd.Function):
    r"""Batch norm with the hand-written backward of §3.2 a, formula (5):

    .. math::
        \frac{\partial L}{\partial x_i} = \frac{\gamma}{m\sqrt{\sigma^2+\varepsilon}}
        \Big(m g_i - \sum_j g_j - \hat x_i \sum_j g_j \hat x_j\Big),\ \
        \frac{\partial L}{\partial\gamma} = \sum_i g_i\hat x_i,\ \
        \frac{\partial L}{\partial\beta} = \sum_i g_i .
    """

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                eps: float = 1e-5) -> torch.Tensor:
        x = _check_input(input, None)
        gamma = _per_neuron("gamma", gamma, x, "input")
        beta = _per_neuron("beta", beta, x, "input")
        eps = _eps(eps)
        mu = x.mean(dim=0, keepdim=True)
        centred = x - mu
        inv_std = 1.0 / torch.sqrt((centred * centred).mean(dim=0, keepdim=True) + eps)
        ctx.save_for_backward(x, gamma)
        ctx.eps = eps
        return gamma * (centred * inv_std) + beta

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor
                 ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        x, gamma = ctx.saved_tensors
        grad_output = batch("grad_output", grad_output, layout=f"(N, C) = {tuple(x.shape)}")
        require_same_kind("grad_output", grad_output, "input", x)
        grad_x, grad_gamma, grad_beta = batchnorm_backward(x, gamma, grad_output, ctx.eps)
        need_x, need_gamma, need_beta = ctx.needs_input_grad[:3]
        return (grad_x if need_x else None, grad_gamma if need_gamma else None,
                grad_beta if need_beta else None, None)


class CustomBatchNormManualModule(_BatchNormParameters):
    """Applies ``CustomBatchNormManualFunction`` with its own γ = 1, β = 0 (§3.2 c)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = _check_input(input, self.n_neurons)
        return CustomBatchNormManualFunction.apply(x, self.gamma.to(x.dtype),
                                                   self.beta.to(x.dtype), self.eps)
