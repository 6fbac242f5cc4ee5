r"""The two forms of momentum SGD as optimisers, by hand, over numpy arrays and torch tensors.

Source: ``000_44446893528eed8a.txt`` Problem 3.

* Form I (heavy ball): :math:`\theta_{k+1} = \theta_k - \alpha g_k + \beta(\theta_k -
  \theta_{k-1})`, :math:`\theta_{-1} = \theta_0`;
* Form II (velocity): :math:`v_{k+1} = g_k + \beta v_k`, :math:`\theta_{k+1} = \theta_k -
  \alpha v_{k+1}`, :math:`v_0 = 0`.

Three ways to drive them:

* a stepper (:class:`MomentumFormOne`, :class:`MomentumFormTwo`) fed one gradient vector at a
  time, ``step(g) -> θ_{k+1}``, for any array shape, numpy or torch;
* :func:`form_one_iterates` / :func:`form_two_iterates`: a whole given sequence g_0 … g_{k−1}
  (shape (k, *θ₀.shape)) to the stacked iterates θ_0 … θ_k;
* :class:`FormOneSGD` / :class:`FormTwoSGD`: ``torch.optim.Optimizer`` subclasses driven by a
  real loss (``loss.backward(); opt.step()``), the same formulas on each parameter's ``.grad``.

:func:`closed_form_iterate` evaluates θ_k = θ₀ − α Σ_{j<k} (Σ_{i≤k−1−j} βⁱ) g_j directly.

The conventions θ₋₁ = θ₀ and v₀ = 0 are the defaults; ``theta_prev=`` and ``v0=`` exist only so
that the tests can show that changing either breaks the equivalence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from impl._validate import (
    Array,
    require_finite,
    require_number,
    require_same_kind,
    require_values,
)

__all__ = [
    "FormOneSGD",
    "FormTwoSGD",
    "MomentumFormOne",
    "MomentumFormTwo",
    "closed_form_iterate",
    "form_one_iterates",
    "form_two_iterates",
    "momentum_form_one_step",
    "momentum_form_two_step",
]


def _hyper(alpha: float, beta: float) -> tuple[float, float]:
    """α > 0 and β ∈ [0, 1), finite, for the kernels and steppers (named alpha, beta)."""
    alpha = require_number("alpha", alpha, low=0, low_open=True, what="the step size")
    beta = require_number("beta", beta, low=0, high=1, high_open=True, what="the momentum")
    return alpha, beta


def _optim_hyper(lr: Any, momentum: Any, where: str = "") -> tuple[float, float]:
    """The optimisers' ``lr`` ≥ 0 and ``momentum`` ∈ [0, 1), as torch.optim checks them
    (torch.optim.SGD: lr ≥ 0, momentum ≥ 0; β < 1 here because the forms' equivalence and
    the closed form assume a convergent geometric sum)."""
    lr = require_number(f"lr{where}", lr, low=0)
    momentum = require_number(f"momentum{where}", momentum, low=0, high=1, high_open=True)
    return lr, momentum


def _point(name: str, x: Any) -> Array:
    x = require_values(name, x)
    require_finite(name, x)
    return x


def _copy(x: Array) -> Array:
    return x.clone() if isinstance(x, torch.Tensor) else x.copy()


def _like(name: str, x: Any, ref: Array, ref_name: str = "theta") -> Array:
    x = require_values(name, x)
    require_same_kind(name, x, ref_name, ref)
    if tuple(x.shape) != tuple(ref.shape):
        raise ValueError(f"{name} must have the shape of {ref_name} {tuple(ref.shape)}, got "
                         f"{tuple(x.shape)}")
    require_finite(name, x)
    return x


# ------------------------------------------------------------------ the two update rules


def momentum_form_one_step(theta: Array, theta_prev: Array, g: Array, alpha: float,
                           beta: float) -> Array:
    r"""Form I: :math:`\theta_{k+1} = \theta_k - \alpha g_k + \beta(\theta_k - \theta_{k-1})`.

    theta_prev and g have theta's shape, kind and dtype; all finite; α > 0, β ∈ [0, 1).
    """
    theta, alpha, beta = _point("theta", theta), *_hyper(alpha, beta)
    theta_prev, g = _like("theta_prev", theta_prev, theta), _like("g", g, theta)
    return _step_one(theta, theta_prev, g, alpha, beta)


def _step_one(theta: Array, theta_prev: Array, g: Array, alpha: float, beta: float) -> Array:
    return theta - alpha * g + beta * (theta - theta_prev)


def momentum_form_two_step(theta: Array, v: Array, g: Array, alpha: float,
                           beta: float) -> tuple[Array, Array]:
    r"""Form II: :math:`v_{k+1} = g_k + \beta v_k`, :math:`\theta_{k+1} = \theta_k - \alpha
    v_{k+1}`; returns (θ_{k+1}, v_{k+1}). v and g have theta's shape, kind and dtype."""
    theta, alpha, beta = _point("theta", theta), *_hyper(alpha, beta)
    v, g = _like("v", v, theta), _like("g", g, theta)
    return _step_two(theta, v, g, alpha, beta)


def _step_two(theta: Array, v: Array, g: Array, alpha: float, beta: float
              ) -> tuple[Array, Array]:
    v_next = g + beta * v
    return theta - alpha * v_next, v_next


# ------------------------------------------------------------------ steppers


class MomentumFormOne:
    r"""Form I fed one gradient at a time; state (θ_k, θ_{k−1}), θ_{−1} = θ_0 by default."""

    def __init__(self, theta0: Any, alpha: float, beta: float, *,
                 theta_prev: Any = None) -> None:
        self.alpha, self.beta = _hyper(alpha, beta)
        theta0 = _point("theta0", theta0)
        self.theta = _copy(theta0)
        self.theta_prev = _copy(theta0 if theta_prev is None
                                else _like("theta_prev", theta_prev, theta0, "theta0"))

    def step(self, g: Any) -> Array:
        g = _like("g", g, self.theta, "theta (the current iterate, from theta0)")
        nxt = _step_one(self.theta, self.theta_prev, g, self.alpha, self.beta)
        self.theta_prev, self.theta = self.theta, nxt
        return _copy(nxt)


class MomentumFormTwo:
    r"""Form II fed one gradient at a time; state (θ̃_k, v_k), v_0 = 0 by default."""

    def __init__(self, theta0: Any, alpha: float, beta: float, *, v0: Any = None) -> None:
        self.alpha, self.beta = _hyper(alpha, beta)
        theta0 = _point("theta0", theta0)
        self.theta = _copy(theta0)
        self.v = (theta0 * 0 if v0 is None else _copy(_like("v0", v0, theta0, "theta0")))

    def step(self, g: Any) -> Array:
        g = _like("g", g, self.theta, "theta (the current iterate, from theta0)")
        self.theta, self.v = _step_two(self.theta, self.v, g, self.alpha, self.beta)
        return _copy(self.theta)


def _sequence(theta0: Any, grads: Any) -> tuple[Array, Array]:
    theta0 = require_values("theta0", theta0)
    grads = require_values("grads", grads)
    require_same_kind("grads", grads, "theta0", theta0)
    if grads.ndim != theta0.ndim + 1 or tuple(grads.shape[1:]) != tuple(theta0.shape):
        raise ValueError(f"grads must have shape (k, *theta0.shape) = (k, "
                         f"{', '.join(map(str, theta0.shape))}), got {tuple(grads.shape)}")
    require_finite("theta0", theta0)
    require_finite("grads", grads)
    return theta0, grads


def _stack(xs: list[Array]) -> Array:
    return torch.stack(xs) if isinstance(xs[0], torch.Tensor) else np.stack(xs)


def form_one_iterates(theta0: Any, grads: Any, alpha: float, beta: float, *,
                      theta_prev: Any = None) -> Array:
    """θ_0 … θ_k of Form I for the given g_0 … g_{k−1}; shape (k + 1, *θ₀.shape)."""
    theta0, grads = _sequence(theta0, grads)
    opt = MomentumFormOne(theta0, alpha, beta, theta_prev=theta_prev)
    return _stack([_copy(theta0)] + [opt.step(g) for g in grads])


def form_two_iterates(theta0: Any, grads: Any, alpha: float, beta: float, *,
                      v0: Any = None) -> Array:
    """θ̃_0 … θ̃_k of Form II for the given g_0 … g_{k−1}; shape (k + 1, *θ₀.shape)."""
    theta0, grads = _sequence(theta0, grads)
    opt = MomentumFormTwo(theta0, alpha, beta, v0=v0)
    return _stack([_copy(theta0)] + [opt.step(g) for g in grads])


def closed_form_iterate(theta0: Any, grads: Any, alpha: float, beta: float) -> Array:
    r""":math:`\theta_k = \theta_0 - \alpha \sum_{j<k} \big(\sum_{i=0}^{k-1-j}\beta^i\big) g_j`
    with k = len(grads)."""
    alpha, beta = _hyper(alpha, beta)
    theta0, grads = _sequence(theta0, grads)
    k = grads.shape[0]
    acc = _copy(theta0)
    for j in range(k):
        weight = sum(beta**i for i in range(k - j))  # Σ_{i=0}^{k−1−j} βⁱ
        acc = acc - alpha * weight * grads[j]
    return acc


# ------------------------------------------------------------------ torch optimisers


class _Momentum(torch.optim.Optimizer):
    """The loop over parameter groups; a subclass says how one parameter moves."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float) -> None:
        lr, momentum = _optim_hyper(lr, momentum)
        super().__init__(params, {"lr": lr, "momentum": momentum})

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """torch.optim's, then the group's own lr/momentum checked (a group may override
        the defaults)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        _optim_hyper(group["lr"], group["momentum"],
                     f" (param group {len(self.param_groups) - 1})")

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        for k, group in enumerate(self.param_groups):  # a scheduler may have changed them
            _optim_hyper(group["lr"], group["momentum"], f" (param group {k})")
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.copy_(self._next(p.detach(), p.grad, self.state[p], group["lr"],
                                       group["momentum"]))

    def _next(self, p: torch.Tensor, g: torch.Tensor, state: dict, alpha: float,
              beta: float) -> torch.Tensor:
        raise NotImplementedError


class FormOneSGD(_Momentum):
    r"""Form I on each parameter's ``.grad``: p ← p − α g + β(p − p_prev), p_prev₀ = p₀."""

    def _next(self, p, g, state, alpha, beta):
        prev = state.get("previous", p.clone())  # θ_{−1} = θ_0
        state["previous"] = p.clone()
        return _step_one(p, prev, g, alpha, beta)


class FormTwoSGD(_Momentum):
    r"""Form II on each parameter's ``.grad``: v ← g + βv, p ← p − αv, v₀ = 0."""

    def _next(self, p, g, state, alpha, beta):
        v = state.get("velocity", torch.zeros_like(p))  # v_0 = 0
        nxt, state["velocity"] = _step_two(p, v, g, alpha, beta)
        return nxt
