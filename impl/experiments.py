r"""The seeds' training experiments, at a scale that runs on two CPU cores.

The seeds ran their experiments on MNIST, CIFAR-10 and California Housing with downloads and
GPUs. Here each runs on data that ships with scikit-learn (no download): the 1797 digits of
8×8 pixels (``load_digits``) and the 442-patient diabetes regression set (``load_diabetes``),
with small MLPs trained full-batch or in large batches, in float32 on one thread. Every run is
seeded explicitly (``seed=``) and deterministic on one thread.

* ``memorisation_run``: seed ``000_44446893528eed8a.txt`` Problem 6 (random labels).
* ``TanhNet``, ``init_uniform``, ``layer_gradients``, ``init_run``: seed
  ``002_f6a45d0186751a72.txt`` Q4 (depth 8, width 50, uniform[−d, d] or Xavier), with the
  vanishing-gradient bound :math:`\|\partial y_L/\partial y_i\|_2 \le \prod_{k=i+1}^{L}
  \|A_k\|_2\,\max_j|\tanh'(z_{k,j})|` computed from the weights and pre-activations.
* ``activation_run``, ``residual_run``, ``optimiser_run``: seed ``003_6e09f081ee206780.txt``
  questions 9–12 (ReLU vs sigmoid, the residual MLP, SGD with momentum vs Adam).
* ``regression_run``: seed ``002_f6a45d0186751a72.txt`` Q1, the tanh regressor trained on the
  standardised diabetes data with the hand-written gradients of ``impl.mlp`` and, side by
  side, its autograd twin.

``python -m impl.experiments figures [--out DIR]`` trains every run and writes the figures (to
the git-ignored ``reports/`` unless ``--out`` says otherwise).
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from impl._validate import require_device, require_int, require_number

__all__ = [
    "DIGITS_CLASSES",
    "Digits",
    "History",
    "SmallCNN",
    "TanhNet",
    "activation_run",
    "backprop_bound",
    "bn_fold_float32_differences",
    "cnn_vs_mlp_run",
    "diabetes",
    "digits",
    "init_run",
    "init_uniform",
    "layer_gradients",
    "memorisation_run",
    "mlp",
    "numpy_mlp_run",
    "optimiser_run",
    "random_labels",
    "residual_run",
    "train_classifier",
]

DIGITS_CLASSES = 10
F32 = torch.float32


# ----------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Digits:
    """scikit-learn's digits split into train and test, pixels scaled to [0, 1], float32."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _seed(seed: Any) -> int:
    return require_int("seed", seed, low=0)


def _schedule(*, epochs: Any, lr: Any, batch_size: Any = None, momentum: Any = 0.0) -> None:
    """The training hyper-parameters, checked like torch.optim and the data loaders do."""
    require_int("epochs", epochs, low=0)
    require_number("lr", lr, low=0, low_open=True)
    if batch_size is not None:
        require_int("batch_size", batch_size, low=1)
    require_number("momentum", momentum, low=0, high=1, high_open=True)


def digits(seed: int = 0, test_size: float = 0.25) -> Digits:
    """The 1797 bundled 8×8 digits, a stratified split drawn with ``random_state=seed``."""
    seed = _seed(seed)
    test_size = require_number("test_size", test_size, low=0, high=1, low_open=True,
                               high_open=True)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    xtr, xte, ytr, yte = train_test_split(
        x, bunch.target, test_size=test_size, random_state=seed, stratify=bunch.target
    )
    return Digits(torch.from_numpy(xtr), torch.from_numpy(ytr).long(),
                  torch.from_numpy(xte), torch.from_numpy(yte).long())


def random_labels(n: int, seed: int, classes: int = DIGITS_CLASSES) -> torch.Tensor:
    """n labels uniform on {0, …, classes−1}, independent of the images (seeded)."""
    n, seed = require_int("n", n, low=1), _seed(seed)
    classes = require_int("classes", classes, low=1)
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, classes, (n,), generator=g)


def diabetes() -> tuple[np.ndarray, np.ndarray]:
    """The 442 × 10 bundled diabetes data, features and target standardised, float64."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (y - y.mean()) / y.std()
    return x.astype(np.float64), y.astype(np.float64)


# --------------------------------------------------------------------------------- models


def mlp(sizes: Iterable[int], activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear → activation → … → Linear (float32), default PyTorch initialisation."""
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Iterable):
        raise TypeError(f"sizes must be a list of layer widths, got {type(sizes).__name__}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    for k, n in enumerate(sizes):
        require_int(f"sizes[{k}]", n, low=1)
    if not callable(activation):
        raise TypeError(f"activation must be a module class such as nn.ReLU, got "
                        f"{activation!r}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b, dtype=F32))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class ResidualMLP(nn.Module):
    r"""Seed 003 q10: :math:`h_1 = \sigma(W_1x)`, :math:`h_2 = \sigma(W_2h_1) + h_1` (residual)
    or :math:`\sigma(W_2h_1)` (plain), logits :math:`W_3h_2` (the seed's log-softmax is in the
    cross-entropy)."""

    def __init__(self, d_in: int, d_out: int, residual: bool, hidden_mult: int = 4) -> None:
        super().__init__()
        hidden = hidden_mult * d_in
        self.layer1 = nn.Linear(d_in, hidden, dtype=F32)
        self.layer2 = nn.Linear(hidden, hidden, dtype=F32)
        self.layer3 = nn.Linear(hidden, d_out, dtype=F32)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = torch.sigmoid(self.layer1(x))
        h2 = torch.sigmoid(self.layer2(h1))
        if self.residual:
            h2 = h2 + h1
        return self.layer3(h2)


class TanhNet(nn.Module):
    """Seed 002 Q4: ``depth`` tanh layers of width ``width`` (input layer + depth − 1 hidden
    layers), then a linear output layer: depth + 1 weight matrices A_1 … A_{depth+1}."""

    def __init__(self, d_in: int = 64, width: int = 50, depth: int = 8,
                 d_out: int = DIGITS_CLASSES) -> None:
        super().__init__()
        for name, v in (("d_in", d_in), ("width", width), ("depth", depth), ("d_out", d_out)):
            require_int(name, v, low=1)
        sizes = [d_in] + [width] * depth + [d_out]
        self.linears = nn.ModuleList(
            nn.Linear(a, b, dtype=F32) for a, b in itertools.pairwise(sizes)
        )

    def forward_trace(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor],
                                                       list[torch.Tensor]]:
        """(logits, pre-activations z_1 … z_depth, activations y_1 … y_depth)."""
        zs, ys = [], []
        y = x
        for lin in self.linears[:-1]:
            z = lin(y)
            y = torch.tanh(z)
            zs.append(z)
            ys.append(y)
        return self.linears[-1](y), zs, ys

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_trace(x)[0]


def init_uniform(net: nn.Module, d: float | str) -> None:
    """Weights uniform on [−d, d] (``d="xavier"``: d = √(6/(fan_in + fan_out)) per layer, as
    the seed writes it), biases zero. Uses the global torch RNG (seed it first)."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be an nn.Module, got {type(net).__name__}")
    if d != "xavier":
        if isinstance(d, str):
            raise ValueError(f"d must be a positive number or 'xavier', got {d!r}")
        require_number("d", d, low=0, low_open=True, what="the half-width, or 'xavier'")
    for m in net.modules():
        if isinstance(m, nn.Linear):
            bound = math.sqrt(6.0 / (m.in_features + m.out_features)) if d == "xavier" else d
            nn.init.uniform_(m.weight, -float(bound), float(bound))
            nn.init.zeros_(m.bias)


# ------------------------------------------------------------------------------- training


@dataclass
class History:
    """Per-epoch curves (epoch 0 is before any step)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return {"train_loss": self.train_loss, "train_acc": self.train_acc,
                "test_loss": self.test_loss, "test_acc": self.test_acc}


@torch.no_grad()
def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y).item()
    acc = (logits.argmax(dim=1) == y).double().mean().item()
    return loss, acc


def train_classifier(
    model: nn.Module,
    data: Digits,
    optimiser: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int | None,
    seed: int,
    y_train: torch.Tensor | None = None,
    progress: Any = None,
) -> History:
    """Cross-entropy training; ``batch_size=None`` is full batch. Mini-batches are shuffled by
    a generator seeded with ``seed``. Records train/test loss and accuracy after each epoch.

    ``epochs`` ≥ 0 (0 records the initial point only), ``batch_size`` ≥ 1 or None; every
    argument is checked before the model is touched."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(data, Digits):
        raise TypeError(f"data must be a Digits split, got {type(data).__name__}")
    if not isinstance(optimiser, torch.optim.Optimizer):
        raise TypeError(f"optimiser must be a torch.optim.Optimizer, got "
                        f"{type(optimiser).__name__}")
    epochs = require_int("epochs", epochs, low=0)
    if batch_size is not None:
        batch_size = require_int("batch_size", batch_size, low=1)
    seed = _seed(seed)
    if y_train is not None:
        if not isinstance(y_train, torch.Tensor):
            raise TypeError(f"y_train must be a torch tensor of labels, got "
                            f"{type(y_train).__name__}")
        require_device("y_train", y_train)
        if y_train.dtype != torch.int64:
            raise TypeError(f"y_train must hold int64 labels, got {y_train.dtype}")
        if tuple(y_train.shape) != (data.x_train.shape[0],):
            raise ValueError(f"y_train must have shape (n_train,) = ({data.x_train.shape[0]},), "
                             f"got {tuple(y_train.shape)}")
    if progress is not None and not callable(getattr(progress, "update", None)):
        raise TypeError(f"progress must have an update(n) method (a tqdm bar), got "
                        f"{type(progress).__name__}")
    param = next(model.parameters(), None)
    for name in ("x_train", "x_test"):
        t = getattr(data, name)
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"data.{name} must be a torch tensor, got {type(t).__name__}")
        require_device(f"data.{name}", t)
        if param is not None and t.dtype != param.dtype:
            raise TypeError(f"data.{name} must have the model's dtype {param.dtype}, got "
                            f"{t.dtype}")
    x, y = data.x_train, data.y_train if y_train is None else y_train
    n = x.shape[0]
    g = torch.Generator().manual_seed(seed)
    hist = History()

    def record() -> None:
        for (loss, acc), (ls, ac) in (
            (_evaluate(model, x, y), (hist.train_loss, hist.train_acc)),
            (_evaluate(model, data.x_test, data.y_test), (hist.test_loss, hist.test_acc)),
        ):
            ls.append(loss)
            ac.append(acc)

    record()
    for _ in range(epochs):
        order = torch.randperm(n, generator=g) if batch_size else torch.arange(n)
        for start in range(0, n, batch_size or n):
            idx = order[start:start + (batch_size or n)]
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            optimiser.step()
        record()
        if progress is not None:
            progress.update(1)
    return hist


# ------------------------------------------------------ claim 1: label memorisation (000 P6)


def memorisation_run(seed: int, *, random: bool, epochs: int = 150, hidden: int = 256,
                     n_train: int = 500, lr: float = 3e-3, progress: Any = None) -> History:
    """A 64-``hidden``-``hidden``-10 ReLU MLP trained full batch with Adam on ``n_train``
    digits, with the true labels or labels drawn uniformly at random (``seed``); tested on
    the held-out quarter of the digits (450 images) with their true labels."""
    _seed(seed)
    _schedule(epochs=epochs, lr=lr)
    require_int("hidden", hidden, low=1)
    require_int("n_train", n_train, low=1)
    full = digits(seed)
    if not 0 < n_train <= len(full.y_train):
        raise ValueError(f"n_train must be in 1..{len(full.y_train)}, got {n_train}")
    torch.manual_seed(seed)
    data = Digits(full.x_train[:n_train], full.y_train[:n_train], full.x_test, full.y_test)
    y = random_labels(n_train, seed) if random else data.y_train
    model = mlp([64, hidden, hidden, DIGITS_CLASSES])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    return train_classifier(model, data, opt, epochs=epochs, batch_size=None, seed=seed,
                            y_train=y, progress=progress)


# -------------------------------------------------- claim 2: depth and initialisation (002 Q4)


@dataclass(frozen=True)
class LayerGradients:
    """One forward/backward of a batch through a ``TanhNet``.

    weight_norms[k]: ‖∂L/∂A_{k+1}‖_F for every linear layer (what the seed plots);
    act_grad_norms[i][n]: ‖∂L/∂y_{i+1}‖₂ for sample n (activations y_1 … y_depth);
    spectral[k]: ‖A_{k+1}‖₂; tanh_prime_max[i][n]: max_j tanh′(z_{i+1,j}) for sample n;
    saturated[i]: fraction of units of layer i+1 with |y| > 0.99 over the batch.
    """

    weight_norms: np.ndarray
    act_grad_norms: np.ndarray
    spectral: np.ndarray
    tanh_prime_max: np.ndarray
    saturated: np.ndarray


def layer_gradients(net: TanhNet, x: torch.Tensor, y: torch.Tensor) -> LayerGradients:
    """Forward and backward the batch (mean cross-entropy) and collect the per-layer norms."""
    if not isinstance(net, TanhNet):
        raise TypeError(f"net must be a TanhNet, got {type(net).__name__}")
    d_in = net.linears[0].in_features
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch tensor (N, {d_in}), got {type(x).__name__}")
    require_device("x", x)
    dtypes = {p.dtype for lin in net.linears for p in lin.parameters()}
    if len(dtypes) != 1:
        raise TypeError(f"net's layers must share one dtype, got "
                        f"{', '.join(sorted(map(str, dtypes)))}")
    (dtype,) = dtypes
    if x.dtype != dtype:
        raise TypeError(f"x must have the network's dtype {dtype}, got {x.dtype}")
    if x.ndim != 2 or x.shape[1] != d_in or x.shape[0] == 0:
        raise ValueError(f"x must have shape (N, {d_in}) with N ≥ 1, got {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite (no NaN or inf)")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch tensor of labels, got {type(y).__name__}")
    require_device("y", y)
    if y.dtype != torch.int64:
        raise TypeError(f"y must hold int64 labels, got {y.dtype}")
    if tuple(y.shape) != (x.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({x.shape[0]},), got {tuple(y.shape)}")
    net.zero_grad()
    logits, zs, ys = net.forward_trace(x)
    for a in ys:
        a.retain_grad()
    nn.functional.cross_entropy(logits, y).backward()
    with torch.no_grad():
        weight_norms = np.array([lin.weight.grad.norm().item() for lin in net.linears])
        act = np.stack([a.grad.norm(dim=1).double().numpy() for a in ys])
        spectral = np.array([torch.linalg.matrix_norm(lin.weight.double(), ord=2).item()
                             for lin in net.linears])
        tpm = np.stack([(1 - torch.tanh(z.double()) ** 2).max(dim=1).values.numpy()
                        for z in zs])
        sat = np.array([(a.abs() > 0.99).double().mean().item() for a in ys])
    net.zero_grad()
    return LayerGradients(weight_norms, act, spectral, tpm, sat)


def backprop_bound(g: LayerGradients) -> np.ndarray:
    r"""bound[i][n] = ‖∂L/∂y_L‖₂ · ∏_{k=i+2}^{L} ‖A_k‖₂ · max_j tanh′(z_{k,j}) for activation
    y_{i+1} and sample n, L = depth (the last tanh layer), from

    .. math:: \partial L/\partial y_i = \partial L/\partial y_L
              \prod_{k=L}^{i+1} \operatorname{diag}(\tanh'(z_k))\,A_k ,\qquad
              \|\operatorname{diag}(t)A\|_2 \le \max_j|t_j|\,\|A\|_2 .

    The product is over the hidden weights A_2 … A_L (index 1 … L−1 of ``spectral``).
    """
    if not isinstance(g, LayerGradients):
        raise TypeError(f"g must be the LayerGradients of layer_gradients, got "
                        f"{type(g).__name__}")
    depth = g.act_grad_norms.shape[0]
    out = np.empty_like(g.act_grad_norms)
    out[-1] = g.act_grad_norms[-1]
    for i in range(depth - 2, -1, -1):
        # y_{i+2} = tanh(A_{i+2} y_{i+1} + b): factor ‖A_{i+2}‖₂ · max tanh′(z_{i+2})
        out[i] = out[i + 1] * g.spectral[i + 1] * g.tanh_prime_max[i + 1]
    return out


def geometric_rate(norms: np.ndarray) -> float:
    """exp of the least-squares slope of log(norms) against the layer index (per layer)."""
    k = np.arange(len(norms), dtype=np.float64)
    return float(np.exp(np.polyfit(k, np.log(norms), 1)[0]))


INITS: tuple[float | str, ...] = (0.01, 0.1, 2.0, "xavier")


def tanh_net(seed: int, d: float | str) -> TanhNet:
    torch.manual_seed(seed)
    net = TanhNet()
    init_uniform(net, d)
    return net


def init_run(seed: int, d: float | str, *, epochs: int = 20, lr: float = 0.01,
             batch_size: int = 32, progress: Any = None) -> History:
    """Seed 002 Q4 d): plain SGD (the seed's lr 0.01) in mini-batches on the digits."""
    _seed(seed)
    _schedule(epochs=epochs, lr=lr, batch_size=batch_size)
    if d != "xavier":
        if isinstance(d, str):
            raise ValueError(f"d must be a positive number or 'xavier', got {d!r}")
        require_number("d", d, low=0, low_open=True)
    net = tanh_net(seed, d)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    return train_classifier(net, digits(seed), opt, epochs=epochs, batch_size=batch_size,
                            seed=seed, progress=progress)


# ------------------------------------------- claim 3: seed 003 q9–q12 (activation, residual, opt)


def _optimiser(name: str, model: nn.Module, lr: float,
               momentum: float = 0.0) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr)
    raise ValueError(f"optimiser must be 'sgd' or 'adam', got {name!r}")


def activation_run(seed: int, activation: str, *, epochs: int = 10, lr: float = 0.01,
                   batch_size: int = 32, progress: Any = None) -> History:
    """Seed 003 q9: vugrad's MLP (input → 4·input → output) with sigmoid or ReLU, SGD."""
    acts = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
    _seed(seed)
    _schedule(epochs=epochs, lr=lr, batch_size=batch_size)
    if not isinstance(activation, str) or activation not in acts:
        raise ValueError(f"activation must be 'sigmoid' or 'relu', got {activation!r}")
    act = acts[activation]
    torch.manual_seed(seed)
    model = mlp([64, 256, DIGITS_CLASSES], act)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    return train_classifier(model, digits(seed), opt, epochs=epochs, batch_size=batch_size,
                            seed=seed, progress=progress)


def residual_run(seed: int, residual: bool, *, epochs: int = 10, lr: float = 0.01,
                 optimiser: str = "sgd", batch_size: int = 32,
                 progress: Any = None) -> History:
    """Seed 003 q10: the three-layer sigmoid MLP with or without h₂ ← σ(W₂h₁) + h₁, trained
    with plain SGD or Adam."""
    _seed(seed)
    _schedule(epochs=epochs, lr=lr, batch_size=batch_size)
    if not isinstance(residual, bool):
        raise TypeError(f"residual must be a bool, got {type(residual).__name__}")
    if optimiser not in ("sgd", "adam"):
        raise ValueError(f"optimiser must be 'sgd' or 'adam', got {optimiser!r}")
    torch.manual_seed(seed)
    model = ResidualMLP(64, DIGITS_CLASSES, residual)
    opt = _optimiser(optimiser, model, lr)
    return train_classifier(model, digits(seed), opt, epochs=epochs, batch_size=batch_size,
                            seed=seed, progress=progress)


def optimiser_run(seed: int, optimiser: str, *, lr: float, momentum: float = 0.0,
                  epochs: int = 10, batch_size: int = 32, progress: Any = None) -> History:
    """Seed 003 q11–12: a 64-128-64-10 ReLU MLP (a small stand-in for the tutorial CNN)
    trained with ``"sgd"`` (with ``momentum``) or ``"adam"`` at ``lr``."""
    _seed(seed)
    _schedule(epochs=epochs, lr=lr, batch_size=batch_size, momentum=momentum)
    if optimiser not in ("sgd", "adam"):
        raise ValueError(f"optimiser must be 'sgd' or 'adam', got {optimiser!r}")
    torch.manual_seed(seed)
    model = mlp([64, 128, 64, DIGITS_CLASSES])
    opt = _optimiser(optimiser, model, lr, momentum)
    return train_classifier(model, digits(seed), opt, epochs=epochs, batch_size=batch_size,
                            seed=seed, progress=progress)


# ------------------------------------------ seed 004: the numpy MLP's init, CNN vs MLP (§1.2, §4)


def numpy_mlp_run(seed: int, hidden: Iterable[int], *, weight_std: float = 1e-4,
                  steps: int = 1500, lr: float = 2e-3, batch_size: int = 200
                  ) -> dict[str, float]:
    """Seed 004 §1.2: the numpy MLP of ``impl.modules`` (Linear → ReLU → … → Linear → SoftMax,
    cross-entropy), weights N(0, ``weight_std``²) (the practical's 1e-4), zero biases, trained
    by plain SGD on mini-batches of the digits with the hand backward passes; the practical's
    defaults lr 2e-3, batch 200, 1500 steps. Everything is drawn from
    ``numpy.random.default_rng(seed)``. Returns the final train/test accuracy, the final
    training loss and the largest |logit| at the end. A NaN or inf stops the run: every numpy
    module refuses a non-finite input or upstream gradient (``ValueError``), so a run that
    returns kept every value it used finite."""
    from impl.modules import CrossEntropyModule, LinearModule, ReLUModule, SoftMaxModule

    data = digits(seed)
    x, y = data.x_train.double().numpy(), data.y_train.numpy()
    xt, yt = data.x_test.double().numpy(), data.y_test.numpy()
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], *hidden, DIGITS_CLASSES]
    layers: list[Any] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(LinearModule(a, b, weight_std=weight_std, rng=rng))
        if i < len(sizes) - 2:
            layers.append(ReLUModule())
    softmax, ce = SoftMaxModule(), CrossEntropyModule()
    onehot = np.eye(DIGITS_CLASSES)

    def forward(inp: np.ndarray) -> np.ndarray:
        for layer in layers:
            inp = layer.forward(inp)
        return inp

    for _ in range(steps):
        idx = rng.choice(len(y), size=batch_size, replace=False)
        probs = softmax.forward(forward(x[idx]))
        grad = softmax.backward(ce.backward(probs, onehot[y[idx]]))
        for layer in reversed(layers):
            grad = layer.backward(grad)
        for layer in layers:
            if isinstance(layer, LinearModule):
                for k in ("weight", "bias"):
                    layer.params[k] = layer.params[k] - lr * layer.grads[k]
    logits = forward(x)
    probs = softmax.forward(logits)
    return {
        "train_acc": float((logits.argmax(axis=1) == y).mean()),
        "test_acc": float((forward(xt).argmax(axis=1) == yt).mean()),
        "train_loss": float(ce.forward(probs, onehot[y])),
        "max_abs_logit": float(np.abs(logits).max()),
    }


class SmallCNN(nn.Module):
    """Seed 004 §4 at 8×8: conv 1→16 (3×3, pad 1) → ReLU → max-pool 2 → conv 16→32 (3×3, pad 1)
    → ReLU → max-pool 2 → linear 128 → 10 (6,090 parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, dtype=F32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, dtype=F32), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(32 * 2 * 2, DIGITS_CLASSES, dtype=F32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x.reshape(-1, 1, 8, 8)), 1))


CNN_VS_MLP_HIDDEN = 100  # the MLP: 64-100-10 (the practical's default hidden layer), 7,510 params


def cnn_vs_mlp_run(seed: int, model: str, *, epochs: int = 15, lr: float = 1e-3,
                   batch_size: int = 32, progress: Any = None) -> History:
    """Seed 004 §4: ``"cnn"`` (``SmallCNN``) or ``"mlp"`` (64-100-10 ReLU) trained with the same
    Adam (lr 1e-3), batch 32 and epochs on the digits; ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    if model == "cnn":
        net: nn.Module = SmallCNN()
    elif model == "mlp":
        net = mlp([64, CNN_VS_MLP_HIDDEN, DIGITS_CLASSES])
    else:
        raise ValueError(f"model must be 'cnn' or 'mlp', got {model!r}")
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    return train_classifier(net, digits(seed), opt, epochs=epochs, batch_size=batch_size,
                            seed=seed, progress=progress)


def bn_fold_float32_differences(seed: int, *, steps: int = 2, batch: int = 8,
                                images: int = 16) -> dict[str, float]:
    """Seed 001 P3 in float32: the seed's full-size network (``impl.batchnorm.seed_network``),
    trained ``steps`` SGD steps (lr 0.05) on random images and labels so that the BN layers
    hold real running statistics, folded by ``impl.batchnorm.fold_batchnorm`` and compared
    with the original in eval mode on ``images`` random images, all in float32. Returns the
    max and mean absolute difference of the outputs and the largest |output|."""
    from impl.batchnorm import fold_batchnorm, seed_network

    torch.manual_seed(seed)
    net = seed_network(dtype=F32)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    net.train()
    for _ in range(steps):
        xb = torch.rand(batch, 3, 32, 32, generator=gen, dtype=F32)
        labels = torch.randint(0, DIGITS_CLASSES, (batch,), generator=gen)
        opt.zero_grad()
        nn.functional.cross_entropy(net(xb), labels).backward()
        opt.step()
    net.eval()
    folded = fold_batchnorm(net)
    x = torch.rand(images, 3, 32, 32, generator=gen, dtype=F32)
    with torch.no_grad():
        out = net(x)
        diff = (folded(x) - out).abs()
    return {"max": float(diff.max()), "mean": float(diff.mean()),
            "max_abs_output": float(out.abs().max())}


# ------------------------------------- claim 4: the seed-002 Q1 regressor, hand vs autograd

REGRESSION_HIDDEN = 20


def regression_init(seed: int, d_in: int = 10, hidden: int = REGRESSION_HIDDEN
                    ) -> dict[str, np.ndarray]:
    """Xavier-uniform W1 (H, D) and w2 (as a 1×H layer), zero biases, float64 (the seed's
    ``xavier_init``), drawn from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    a1, a2 = math.sqrt(6.0 / (hidden + d_in)), math.sqrt(6.0 / (hidden + 1))
    return {"W1": rng.uniform(-a1, a1, (hidden, d_in)), "b1": np.zeros(hidden),
            "w2": rng.uniform(-a2, a2, hidden), "b2": np.zeros(())}


def regression_loss(y_hat: Any, y: Any, loss: str) -> Any:
    """J = mean|ŷ − y| (``"mae"``, the seed's) or ½ mean (ŷ − y)² (``"mse"``); numpy or torch."""
    r = y_hat - y
    return abs(r).mean() if loss == "mae" else 0.5 * (r * r).mean()


def autograd_regression_gradients(x: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray],
                                  loss: str) -> tuple[float, dict[str, np.ndarray]]:
    """The twin's gradients: the seed's forward in float64 torch, differentiated by autograd."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    y_hat = torch.tanh(xt @ p["W1"].T + p["b1"]) @ p["w2"] + p["b2"]
    j = regression_loss(y_hat, yt, loss)
    grads = torch.autograd.grad(j, list(p.values()))
    return j.item(), {k: g.numpy() for k, g in zip(p, grads, strict=True)}


def hand_regression_gradients(x: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray],
                              loss: str) -> tuple[float, dict[str, np.ndarray]]:
    """The hand-written forward and backward of ``impl.mlp`` (seed 002 Q1 Exercise 1)."""
    from impl.mlp import tanh_regression_backward, tanh_regression_forward

    j = float(regression_loss(tanh_regression_forward(x, params), y, loss))
    return j, tanh_regression_backward(x, y, params, loss=loss)


@dataclass
class RegressionRun:
    """Loss before each step and the parameters after each step of a gradient-descent run."""

    losses: list[float]
    params: list[dict[str, np.ndarray]]


def regression_run(gradients: str, *, seed: int = 0, loss: str = "mae", steps: int = 200,
                   lr: float = 0.05, progress: Any = None) -> RegressionRun:
    """Full-batch gradient descent on the standardised diabetes data with ``"hand"`` or
    ``"autograd"`` gradients; identical initialisation (``seed``) for both."""
    fns = {"hand": hand_regression_gradients, "autograd": autograd_regression_gradients}
    if gradients not in fns:
        raise ValueError(f"gradients must be 'hand' or 'autograd', got {gradients!r}")
    if loss not in ("mae", "mse"):
        raise ValueError(f"loss must be 'mae' or 'mse', got {loss!r}")
    grad_fn = fns[gradients]
    x, y = diabetes()
    params = regression_init(seed, x.shape[1])
    run = RegressionRun([], [])
    for _ in range(steps):
        j, g = grad_fn(x, y, params, loss)
        params = {k: params[k] - lr * g[k] for k in params}
        run.losses.append(j)
        run.params.append(params)
        if progress is not None:
            progress.update(1)
    run.losses.append(grad_fn(x, y, params, loss)[0])
    return run


# ----------------------------------------------------------------------------- figures CLI


_NARROW, _WIDE = (7, 3.2), (9, 3.4)  # pragma: no mutate (figure sizes, inches)


def _figures(out: Path, seed: int) -> list[Path]:
    """Train every run once (seed ``seed``) and write the PNG figures to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    init_epochs, short = 20, 10
    total = (2 * 150 + 4 * init_epochs + 2 * short + 2 * short
             + (len(_LR_GRID) * len(_MOMENTA) + 1) * short + 4 * 200)
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=72)  # pragma: no mutate
        plt.close(fig)
        written.append(path)

    with tqdm(total=total, unit="epoch", desc="training") as bar:
        # 1. memorisation (000 P6)
        fig, ax = plt.subplots(figsize=_NARROW)
        for random, style in ((True, "-"), (False, "--")):
            h = memorisation_run(seed, random=random, progress=bar)
            tag = "random labels" if random else "true labels"
            ax.plot(h.train_acc, "C0" + style, label=f"train, {tag}")  # pragma: no mutate
            ax.plot(h.test_acc, "C3" + style, label=f"test, {tag}")  # pragma: no mutate
        ax.axhline(1 / DIGITS_CLASSES,  # the chance level
                   color="gray", lw=0.8, ls=":", label="chance")  # pragma: no mutate
        ax.set(xlabel="epoch (full batch, Adam)", ylabel="accuracy",
               title="Label memorisation on 500 digits (seed 000 P6)")
        ax.legend(fontsize=7)  # pragma: no mutate
        save(fig, "memorisation.png")

        # 2. depth and initialisation (002 Q4): gradient norms at initialisation, training
        data = digits(seed)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=_WIDE)
        for c, d in enumerate(INITS):
            g = layer_gradients(tanh_net(seed, d), data.x_train[:256], data.y_train[:256])
            a1.semilogy(range(1, len(g.weight_norms) + 1), g.weight_norms, f"C{c}o-",
                        label=f"d={d}")
            layers = range(1, g.act_grad_norms.shape[0] + 1)
            a2.semilogy(layers, np.linalg.norm(g.act_grad_norms, axis=1), f"C{c}o-",
                        label=f"d={d}")
            a2.semilogy(layers, np.linalg.norm(backprop_bound(g), axis=1), f"C{c}:")
        a1.set(xlabel="layer k (1 = input)", ylabel="‖∂L/∂A_k‖_F",
               title="weight gradients at init")
        a2.set(xlabel="tanh layer i", ylabel="‖∂L/∂y_i‖ (dotted: bound)",
               title="activation gradients and the bound")
        a1.legend(fontsize=7)  # pragma: no mutate
        save(fig, "init_gradient_norms.png")

        fig, ax = plt.subplots(figsize=_NARROW)
        for c, d in enumerate(INITS):
            h = init_run(seed, d, epochs=init_epochs, progress=bar)
            ax.plot(h.train_acc, f"C{c}-", label=f"train, d={d}")
            ax.plot(h.test_acc, f"C{c}--")
        ax.set(xlabel="epoch (SGD lr 0.01, batch 32)", ylabel="accuracy (dashed: test)",
               title="Depth 8 width 50 tanh net on digits (seed 002 Q4)")
        ax.legend(fontsize=7)  # pragma: no mutate
        save(fig, "init_training.png")

        # 3. seed 003 q9–q12
        fig, (a1, a2) = plt.subplots(1, 2, figsize=_WIDE)
        for c, act in enumerate(("relu", "sigmoid")):
            h = activation_run(seed, act, epochs=short, lr=0.1, progress=bar)
            a1.plot(h.train_loss, f"C{c}-", label=f"{act} loss")
            a1.plot(h.train_acc, f"C{c}--", label=f"{act} accuracy")
        a1.set(xlabel="epoch (SGD lr 0.1)", title="q9: ReLU vs sigmoid")
        a1.legend(fontsize=7)  # pragma: no mutate
        for c, res in enumerate((True, False)):
            h = residual_run(seed, res, lr=1e-3, optimiser="adam", epochs=short, progress=bar)
            a2.plot(h.train_loss, f"C{c}-", label="residual" if res else "plain")
        a2.set(xlabel="epoch (Adam lr 1e-3)", ylabel="training loss",
               title="q10: residual connection")
        a2.legend(fontsize=7)  # pragma: no mutate
        save(fig, "activation_residual.png")

        fig, (a1, a2) = plt.subplots(1, 2, figsize=_WIDE)
        for c, (lr, m) in enumerate((lr, m) for lr in _LR_GRID for m in _MOMENTA):
            h = optimiser_run(seed, "sgd", lr=lr, momentum=m, epochs=short, progress=bar)
            a1.semilogy(h.train_loss, f"C{c}-", label=f"SGD lr={lr} m={m}")
            a2.plot(h.test_acc, f"C{c}-")
        h = optimiser_run(seed, "adam", lr=1e-3, epochs=short, progress=bar)
        a1.semilogy(h.train_loss, "k-", lw=2, label="Adam lr=1e-3")  # pragma: no mutate
        a2.plot(h.test_acc, "k-", lw=2)  # pragma: no mutate
        a1.set(xlabel="epoch", ylabel="training loss", title="q11–12: SGD+momentum vs Adam")
        a2.set(xlabel="epoch", ylabel="test accuracy")
        a1.legend(fontsize=6)  # pragma: no mutate
        save(fig, "optimisers.png")

        # 4. the seed-002 Q1 regressor: hand gradients vs autograd
        fig, (a1, a2) = plt.subplots(1, 2, figsize=_WIDE)
        for c, loss in enumerate(("mae", "mse")):
            hand = regression_run("hand", seed=seed, loss=loss, progress=bar)
            auto = regression_run("autograd", seed=seed, loss=loss, progress=bar)
            a1.plot(hand.losses, f"C{c}-", label=f"{loss}, hand")
            a1.plot(auto.losses, f"C{c}:", lw=3, alpha=0.6,  # pragma: no mutate
                    label=f"{loss}, autograd")
            diff = [max(float(np.abs(ph[k] - pa[k]).max()) for k in ph)
                    for ph, pa in zip(hand.params, auto.params, strict=True)]
            floor = np.maximum(diff, 1e-18)  # pragma: no mutate (log axis: 0 → 1e-18)
            a2.semilogy(range(1, len(diff) + 1), floor, f"C{c}-", label=loss)
        a1.set(xlabel="gradient-descent step", ylabel="training loss",
               title="Q1 regressor on diabetes")
        a1.legend(fontsize=7)  # pragma: no mutate
        a2.set(xlabel="step", ylabel="max |θ_hand − θ_autograd|", title="hand vs autograd")
        a2.legend(fontsize=7)  # pragma: no mutate
        save(fig, "regression_hand_vs_autograd.png")
    return written


_LR_GRID = (0.0005, 0.001, 0.01)
_MOMENTA = (0.9, 0.95)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m impl.experiments",
                                     description="The seeds' experiments at a small scale.")
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("figures", help="train every run and write PNG figures")
    fig.add_argument("--out", type=Path, default=Path("reports"),
                     help="directory for the PNG files (default reports/, ignored by git; "
                     "pass docs/figures to replace the committed copies)")
    fig.add_argument("--seed", type=int, default=0, help="the runs' seed (default 0)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for path in _figures(args.out, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
