r"""Multilayer perceptrons with hand-written backpropagation.

* Seed ``002_f6a45d0186751a72.txt`` Q1: the one-hidden-layer tanh regressor
  :math:`\hat y = w_2^\top\tanh(W_1x + b_1) + b_2` with the mean absolute error
  :math:`J = \frac1N\sum_i|\hat y^i - y^i|` (``tanh_regression_forward`` /
  ``tanh_regression_backward``), and optionally the half mean squared error.
* Seed ``000_44446893528eed8a.txt`` Problem 1: the sigmoid MLP
  :math:`y_\ell = \sigma(A_\ell y_{\ell-1} + b_\ell)` (identity last layer) with loss
  :math:`\frac12\|y_L - Y\|^2` (``sigmoid_mlp_forward`` / ``sigmoid_mlp_backward``), and for
  Problem 2 the layer Jacobians :math:`\partial y_L/\partial y_i` and
  :math:`\partial y_L/\partial b_i` as the seed's products (``sigmoid_mlp_output_jacobians``).
* Seed ``004_a5042f8004da492f.txt`` §1.2: ``ModuleMLP``, the practical's numpy MLP built from
  ``impl.modules`` (Linear → ReLU → … → Linear → SoftMax, cross-entropy loss).

Every backward here is computed by hand; none calls autograd.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

from impl._validate import (
    require_device,
    require_finite,
    require_int,
    require_number,
    require_same_kind,
    require_values,
)
from impl.modules import CrossEntropyModule, LinearModule, ReLUModule, SoftMaxModule

__all__ = [
    "TANH_REGRESSION_KEYS",
    "ModuleMLP",
    "sigmoid",
    "sigmoid_mlp_backward",
    "sigmoid_mlp_forward",
    "sigmoid_mlp_output_jacobians",
    "sigmoid_prime",
    "tanh_regression_backward",
    "tanh_regression_forward",
]

TANH_REGRESSION_KEYS = ("W1", "b1", "w2", "b2")


def _as_float64(name: str, a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        require_device(name, a)  # before anything reads (or copies) its values
        if a.is_complex():
            raise TypeError(f"{name} must be a real array, got dtype {a.dtype}")
        a = a.detach().numpy()
    if isinstance(a, bool | np.bool_) or not isinstance(a, np.ndarray | np.floating | float |
                                                        int | np.integer):
        raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(a).__name__}")
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


_NO_Y = object()


def _tanh_regression_inputs(
    x: Any, params: dict[str, Any], y: Any = _NO_Y
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
    if y is _NO_Y:
        y = None
    else:
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
    if not isinstance(loss, str) or loss not in ("mae", "mse"):
        raise ValueError(f"loss must be 'mae' or 'mse', got {loss!r}")
    x, p, y = _tanh_regression_inputs(x, params, y)
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


# ------------------------------------------------------ seed 000 Problem 1: the sigmoid MLP


def _xp(a: Any) -> Any:
    return torch if isinstance(a, torch.Tensor) else np


def sigmoid(x: Any) -> Any:
    r""":math:`\sigma(x) = 1/(1 + e^{-x})` (numpy array or torch tensor).

    Evaluated through :math:`e = e^{-|x|}` (σ = 1/(1 + e) for x ≥ 0, e/(1 + e) otherwise), so
    nothing overflows for large |x|. Elementwise, so NaN propagates (σ(NaN) = NaN) and
    σ(±inf) = 1, 0.
    """
    x = require_values("x", x)
    xp = _xp(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_prime(x: Any) -> Any:
    r""":math:`\sigma'(x) = \sigma(x)(1 - \sigma(x)) = e^{-|x|}/(1 + e^{-|x|})^2`; in (0, 1/4].

    The seed's ``sigma_prime`` is σ(1 − σ); the second form is the same function without the
    cancellation in 1 − σ for large x (where σ rounds towards 1), so σ′ keeps full relative
    accuracy in saturation, which Problem 2 is about. NaN propagates; σ′(±inf) = 0.
    """
    x = require_values("x", x)
    xp = _xp(x)
    e = xp.exp(-xp.abs(x))
    return e / (1.0 + e) ** 2


def _check_network(x: Any, a_list: list[Any], b_list: list[Any]) -> None:
    """Kinds, dtypes and devices of every argument first, then shapes, then values."""
    x = require_values("x", x)
    for name, seq in (("a_list", a_list), ("b_list", b_list)):
        if not isinstance(seq, list | tuple):
            raise TypeError(f"{name} must be a list of arrays, got {type(seq).__name__}")
    if len(a_list) == 0 or len(a_list) != len(b_list):
        raise ValueError(f"a_list and b_list must be non-empty and of equal length, got "
                         f"{len(a_list)} and {len(b_list)}")
    for name, seq in (("a_list", a_list), ("b_list", b_list)):
        for k, t in enumerate(seq):
            require_values(f"{name}[{k}]", t)
            require_same_kind(f"{name}[{k}]", t, "x", x)
    if x.ndim != 2 or x.shape[1] != 1:
        raise ValueError(f"x must be a column of shape (n_0, 1), got shape {tuple(x.shape)}")
    rows = x.shape[0]
    for name, seq in (("a_list", a_list), ("b_list", b_list)):
        for k, t in enumerate(seq):
            if 0 in tuple(t.shape):
                raise ValueError(f"{name}[{k}] must be non-empty, got shape {tuple(t.shape)}")
    if 0 in tuple(x.shape):
        raise ValueError(f"x must be a non-empty column (n_0, 1), got shape {tuple(x.shape)}")
    for ell, (a, b) in enumerate(zip(a_list, b_list, strict=True), start=1):
        if a.ndim != 2 or a.shape[1] != rows:
            where = "x" if ell == 1 else f"y_{ell - 1}"
            raise ValueError(f"a_list[{ell - 1}] (A_{ell}) must have shape (n_{ell}, {rows}) to "
                             f"act on {where} of shape ({rows}, 1), got shape {tuple(a.shape)}")
        if tuple(b.shape) != (a.shape[0], 1):
            raise ValueError(f"b_list[{ell - 1}] (b_{ell}) must have shape ({a.shape[0]}, 1) to "
                             f"match A_{ell} of shape {tuple(a.shape)}, got shape "
                             f"{tuple(b.shape)}")
        rows = a.shape[0]
    require_finite("x", x)
    for name, seq in (("a_list", a_list), ("b_list", b_list)):
        for k, t in enumerate(seq):
            require_finite(f"{name}[{k}]", t)


def sigmoid_mlp_forward(x: Any, a_list: list[Any], b_list: list[Any]) -> tuple[list, list]:
    r"""Pre-activations :math:`\tilde y_\ell = A_\ell y_{\ell-1} + b_\ell` and outputs
    :math:`y_\ell = \sigma(\tilde y_\ell)` for ℓ < L, :math:`y_L = \tilde y_L` (identity last
    layer), with :math:`y_0 = x` a column (n_0, 1). Returns ([ỹ_1 … ỹ_L], [y_0 … y_L]).
    """
    _check_network(x, a_list, b_list)
    depth = len(a_list)
    pre, ys = [], [x]
    for ell in range(depth):
        z = a_list[ell] @ ys[-1] + b_list[ell]
        pre.append(z)
        ys.append(sigmoid(z) if ell < depth - 1 else z)
    return pre, ys


def sigmoid_mlp_backward(
    x: Any, target: Any, a_list: list[Any], b_list: list[Any]
) -> tuple[list, list]:
    r"""Hand backprop of :math:`\ell = \frac12\|y_L - Y\|^2`, as in the seed's "Option 3".

    With the row :math:`\delta y = \partial\ell/\partial y_\ell` (starting from
    :math:`(y_L - Y)^\top`): :math:`\partial\ell/\partial b_\ell = \delta y\,
    \operatorname{diag}(\sigma'(\tilde y_\ell))` (σ′ ≡ 1 for the last layer),
    :math:`\partial\ell/\partial A_\ell = (y_{\ell-1}\,\partial\ell/\partial b_\ell)^\top`,
    :math:`\partial\ell/\partial y_{\ell-1} = (\partial\ell/\partial b_\ell) A_\ell`.
    σ′ is evaluated at the pre-activation ỹ_ℓ. Returns ([dA_1 … dA_L], [db_1 … db_L]), each in
    the shape of its parameter (db as a column, like b).
    """
    pre, ys = sigmoid_mlp_forward(x, a_list, b_list)
    target = require_values("target", target)
    require_same_kind("target", target, "x", x)
    if tuple(target.shape) != tuple(ys[-1].shape):
        raise ValueError(f"target must have the shape of y_L {tuple(ys[-1].shape)}, got shape "
                         f"{tuple(target.shape)}")
    require_finite("target", target)
    _, db_rows = _backprop_rows((ys[-1] - target).T, pre, a_list)  # from ∂ℓ/∂y_L, a row
    return [(y @ db).T for y, db in zip(ys[:-1], db_rows, strict=True)], [db.T for db in db_rows]


def _backprop_rows(dy: Any, pre: list, a_list: list[Any]) -> tuple[list, list]:
    """Carry the rows ``dy`` = ∂·/∂y_L back through the layers: returns
    ([∂·/∂y_0 … ∂·/∂y_L], [∂·/∂b_1 … ∂·/∂b_L]), the bias gradients as rows, with
    ∂·/∂b_ℓ = ∂·/∂y_ℓ · diag(σ′(ỹ_ℓ)) (the last layer is the identity, σ′ ≡ 1) and
    ∂·/∂y_{ℓ−1} = (∂·/∂b_ℓ) A_ℓ."""
    depth = len(a_list)
    dy_list: list = [None] * (depth + 1)
    db_list: list = [None] * depth
    dy_list[depth] = dy
    for ell in reversed(range(depth)):
        db = dy * sigmoid_prime(pre[ell]).T if ell < depth - 1 else dy
        db_list[ell] = db
        dy = db @ a_list[ell]
        dy_list[ell] = dy
    return dy_list, db_list


def sigmoid_mlp_output_jacobians(
    x: Any, a_list: list[Any], b_list: list[Any]
) -> tuple[list, list]:
    r"""Seed 000 Problem 2's products, by hand: for i = 0 … L,
    :math:`\partial y_L/\partial y_i = A_L\,D_{L-1}A_{L-1}\cdots D_{i+1}A_{i+1}` with
    :math:`D_k = \operatorname{diag}(\sigma'(\tilde y_k))` (the identity for i = L), and for
    i = 1 … L, :math:`\partial y_L/\partial b_i = (\partial y_L/\partial y_i)\,D_i`
    (:math:`D_L = I`). Returns ([∂y_L/∂y_0 … ∂y_L/∂y_L], [∂y_L/∂b_1 … ∂y_L/∂b_L]).
    """
    pre, ys = sigmoid_mlp_forward(x, a_list, b_list)
    return _backprop_rows(_xp(x).eye(ys[-1].shape[0], dtype=x.dtype), pre, a_list)


# ------------------------------------------- seed 004 §1.2: the MLP built from the modules


class ModuleMLP:
    """Linear → ReLU → … → Linear → SoftMax, with the cross-entropy loss; hand backprop only.

    ``n_hidden`` lists the hidden widths (may be empty: softmax regression). Weights are drawn
    N(0, weight_std²) from ``rng`` (the practical's 1e-4 by default; without ``rng``, numpy's
    ``default_rng(0)``, so that runs repeat), biases start at 0.

    The modules are used through the practical's interface only (``LinearModule(in, out)``,
    the ``params``/``grads`` dicts, ``forward``/``backward``), so that the network can be built
    from a graded implementation of ``impl.modules`` (docs/grading.md): the weights are set
    through ``params``, never through a constructor argument of ``LinearModule``.
    """

    def __init__(self, n_inputs: int, n_hidden: list[int], n_classes: int, *,
                 weight_std: float = 1e-4, rng: np.random.Generator | None = None) -> None:
        require_int("n_inputs", n_inputs, low=1)
        require_int("n_classes", n_classes, low=1)
        if not isinstance(n_hidden, list | tuple):
            raise TypeError(f"n_hidden must be a list of widths, got {type(n_hidden).__name__}")
        for k, h in enumerate(n_hidden):
            require_int(f"n_hidden[{k}]", h, low=1)
        require_number("weight_std", weight_std, low=0)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator or None, got "
                            f"{type(rng).__name__}")
        rng = np.random.default_rng(0) if rng is None else rng
        widths = [n_inputs, *n_hidden, n_classes]
        self.linears = []
        for i, o in itertools.pairwise(widths):
            lin = LinearModule(i, o)
            lin.params["weight"] = rng.normal(0.0, weight_std, (o, i))
            lin.params["bias"] = np.zeros(o)
            self.linears.append(lin)
        self.layers: list = []
        for k, lin in enumerate(self.linears):
            self.layers.append(lin)
            self.layers.append(ReLUModule() if k < len(self.linears) - 1 else SoftMaxModule())
        self.loss_module = CrossEntropyModule()

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, n_classes)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Propagate ∂L/∂probabilities back through every module; fills each Linear's grads."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def loss(self, x: np.ndarray, targets: np.ndarray) -> float:
        probs = self.forward(x)
        return float(self.loss_module.forward(probs, self._targets(targets, probs)))

    def loss_and_backward(self, x: np.ndarray, targets: np.ndarray) -> float:
        """Forward, loss, and the full backward pass (grads filled); returns the loss."""
        probs = self.forward(x)
        targets = self._targets(targets, probs)
        loss = float(self.loss_module.forward(probs, targets))
        self.backward(self.loss_module.backward(probs, targets))
        return loss

    @staticmethod
    def _targets(targets: Any, probs: np.ndarray) -> np.ndarray:
        """targets checked under their own name: (N, n_classes) rows of distributions (each
        summing to 1 within C·1e-12, C·1e-6 in float32, the bound included)."""
        if not isinstance(targets, np.ndarray):
            raise TypeError(f"targets must be a numpy array (one-hot rows), got "
                            f"{type(targets).__name__}")
        targets = require_values("targets", targets)
        require_same_kind("targets", targets, "x", probs)
        if targets.shape != probs.shape:
            raise ValueError(f"targets must have shape (N, n_classes) = {probs.shape}, got "
                             f"{targets.shape}")
        require_finite("targets", targets)
        tol = 1e-6 if targets.dtype == np.float32 else 1e-12
        if (targets < 0).any() or (np.abs(targets.sum(axis=1) - 1) > tol * targets.shape[1]
                                   ).any():
            raise ValueError("targets rows must be probability distributions (one-hot)")
        return targets

    def sgd_step(self, lr: float) -> None:
        """W ← W − lr ∇W for every Linear (lr ≥ 0, finite, as torch.optim.SGD)."""
        lr = require_number("lr", lr, low=0)
        for lin in self.linears:
            for key in ("weight", "bias"):
                lin.params[key] = lin.params[key] - lr * lin.grads[key]
