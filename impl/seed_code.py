r"""Our own small re-implementations of the training code the seeds print, built the way each
seed describes it, to show what that construction does when it runs.

Nothing here is a seed's code: each function implements the construction a seed describes
(cited by file name and problem), on tiny synthetic data, so that a test can run it and read
off what happens. ``fixed=True`` builds the same thing in the order or with the call the seed
meant, the corrected claim's witness.

* ``q1_training``: ``002_f6a45d0186751a72.txt`` Q1 Exercise 3 — an optimiser built from the
  parameter dict's values, then the dict's ``W1`` replaced by a new tensor (20×8 for the 8
  California features) and the dict re-initialised; ``torch.nn.MSELoss`` as the loss; the
  validation subset split off the training dataset after the training loader is built.
* ``q4_printed``: ``002_f6a45d0186751a72.txt`` Q4 d — per-batch values appended to one list
  over all epochs and printed after epoch e as sum / (batches per epoch · e).
* ``p6_epoch``: ``000_44446893528eed8a.txt`` Problem 6 — the loss recorded after an epoch is
  the variable left by the last mini-batch; the accuracy pass runs under ``torch.no_grad()``
  on a network with dropout that is never put in eval mode.
* ``q11_forward``: ``003_6e09f081ee206780.txt`` Q11 — inputs moved to ``device``, the network
  left where it was built (its ``.to(device)`` commented out).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["P6Run", "Q1Run", "p6_epoch", "q1_training", "q4_printed", "q11_forward"]


def _q1_forward(x: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """ŷ = w₂ᵀ tanh(W₁x + b₁) + b₂ for a batch x (N, D): W₁ (H, D), b₁ (H, 1), w₂ (H, 1),
    b₂ (1,); ŷ has shape (N,) (the seed's ``squeeze`` of the (1, N) row)."""
    return (p["W2"].T @ torch.tanh(p["W1"] @ x.T + p["b1"]) + p["b2"]).squeeze(0)


@dataclass
class Q1Run:
    """What the Q1 Exercise 3 construction did: the tensors before and after training, the
    optimiser's parameters, the loss values per step, the rows trained on and validated on;
    also the optimiser itself, the data (``x`` (n, 8), its first column the row index, and
    ``y`` (n,)) and the rows of each step's mini-batch, in the loader's order."""

    before: dict[str, torch.Tensor]
    after: dict[str, torch.Tensor]
    optimised: list[torch.Tensor]
    params: dict[str, torch.Tensor]
    losses: list[float]
    trained_rows: set[int]
    validation_rows: set[int]
    optimiser: torch.optim.Optimizer
    x: torch.Tensor
    y: torch.Tensor
    step_rows: list[list[int]]


def q1_training(*, fixed: bool = False, steps: int = 3, n: int = 40, seed: int = 0) -> Q1Run:
    """002 Q1 Exercise 3 as described (``fixed=False``): parameters for 10 features, the Adam
    optimiser built from ``params.values()``, then ``params["W1"]`` replaced by a new 20×8
    tensor and every tensor re-initialised in place (Xavier for weights, zeros for biases),
    ``MSELoss``, the training loader built before the 80/20 validation split is taken from the
    same dataset. ``fixed=True``: replace and initialise first, then build the optimiser;
    the loss mean|ŷ − y| (``L1Loss``, the MAE the question defines); split first and load only
    the training part. Data: ``n`` synthetic rows of 8 features (generator seeded ``seed``);
    the first column of each row is its index, so the rows a batch came from can be read.

    The seed's sizes: a hidden width of 20, the first W1 20×10 and w2 20×1, Adam's learning
    rate 0.001. Ours (the seed trains on California Housing, out of reach offline, in batches
    of 64): ``n = 40`` rows, mini-batches of 8 rows (5 per epoch over all 40 rows, 4 over the
    32 of the fixed run's training part), ``steps = 3`` optimiser steps (one loss each), seed
    0. After the steps the loader is run through once more, so ``trained_rows`` holds every
    row an epoch of it yields."""
    g = torch.Generator().manual_seed(seed)
    h = 20
    params = {"W1": torch.randn(h, 10, generator=g, requires_grad=True),
              "b1": torch.randn(h, 1, generator=g, requires_grad=True),
              "W2": torch.randn(h, 1, generator=g, requires_grad=True),
              "b2": torch.randn(1, generator=g, requires_grad=True)}

    def replace_and_init() -> None:
        params["W1"] = torch.randn(h, 8, generator=g, requires_grad=True)
        for key, t in params.items():
            if "W" in key:
                nn.init.xavier_uniform_(t, generator=g)
            else:
                nn.init.zeros_(t)

    if fixed:
        replace_and_init()
        optimiser = torch.optim.Adam(params.values(), lr=0.001)
    else:
        optimiser = torch.optim.Adam(params.values(), lr=0.001)
        replace_and_init()
    loss_fn = nn.L1Loss() if fixed else nn.MSELoss()

    rows = torch.arange(n, dtype=torch.float32)
    x = torch.cat([rows[:, None], torch.randn(n, 7, generator=g)], dim=1)
    y = torch.randn(n, generator=g)
    dataset = torch.utils.data.TensorDataset(x, y)
    loader_gen = torch.Generator().manual_seed(seed)
    if fixed:
        train_part, val_part = torch.utils.data.random_split(
            dataset, [int(0.8 * n), n - int(0.8 * n)], generator=loader_gen)
        train_loader = torch.utils.data.DataLoader(train_part, batch_size=8, shuffle=True,
                                                   generator=loader_gen)
    else:
        train_loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True,
                                                   generator=loader_gen)
        _, val_part = torch.utils.data.random_split(
            dataset, [int(0.8 * n), n - int(0.8 * n)], generator=loader_gen)
    validation_rows = {int(x[i, 0]) for i in val_part.indices}

    before = {k: t.detach().clone() for k, t in params.items()}
    losses: list[float] = []
    trained: set[int] = set()
    step_rows: list[list[int]] = []
    batches = iter(())
    for _ in range(steps):
        try:
            xb, yb = next(batches)
        except StopIteration:
            batches = iter(train_loader)
            xb, yb = next(batches)
        trained |= {int(v) for v in xb[:, 0]}
        step_rows.append([int(v) for v in xb[:, 0]])
        loss = loss_fn(_q1_forward(xb, params), yb)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    for xb, _ in train_loader:  # the rest of the epoch: every row the loader yields
        trained |= {int(v) for v in xb[:, 0]}
    after = {k: t.detach().clone() for k, t in params.items()}
    optimised = [p for group in optimiser.param_groups for p in group["params"]]
    return Q1Run(before, after, optimised, params, losses, trained, validation_rows,
                 optimiser, x, y, step_rows)


def q4_printed(batch_values: list[list[float]]) -> list[float]:
    """002 Q4 d's print after each epoch e (1-based): every batch value of epochs 1 … e in one
    list, divided by (batches per epoch) · e. ``batch_values[e]`` holds epoch e+1's batches
    (the same number per epoch: the seed's loaders drop the last incomplete batch)."""
    history: list[float] = []
    printed = []
    for epoch, values in enumerate(batch_values):
        if len(values) != len(batch_values[0]):
            raise ValueError("batch_values must have the same number of batches every epoch")
        history.extend(values)
        printed.append(sum(history) / (len(values) * (epoch + 1)))
    return printed


@dataclass
class P6Run:
    """What the Problem 6 epoch did: the loss recorded for the epoch, the epoch's mini-batch
    losses, the accuracies of the two passes; also the network and its optimiser after the
    epoch, the images ``x`` (n, 4, 4) and ``labels`` (n,), and the rows of each mini-batch."""

    recorded: float
    losses: list[float]
    accuracies: list[float]
    net: nn.Sequential
    optimiser: torch.optim.Optimizer
    x: torch.Tensor
    labels: torch.Tensor
    batch_rows: list[list[int]]


def p6_epoch(*, fixed: bool = False, seed: int = 0, n: int = 50, batch: int = 16
             ) -> P6Run:
    """000 P6's epoch as described: a tiny classifier with ``nn.Dropout()`` trained one epoch
    of SGD on ``n`` random images in mini-batches, then (as the seed records them) the loss
    variable left by the last mini-batch, and the accuracy computed twice under
    ``torch.no_grad()`` without ``eval()``. ``fixed=True``: the mean of the epoch's mini-batch
    losses, and the accuracy pass in eval mode.

    The seed's settings: 10 classes (its network ends in a 10-way linear layer; the labels
    here are drawn from all 10, the corrected draw), plain SGD with learning rate 0.1. Ours
    (the seed trains a modified AlexNet on 6,000 MNIST images in batches of 64): ``n = 50``
    random 4×4 images, flattened into one linear layer 16 → 10 after the dropout, mini-batches
    of 16 rows taken in order (16, 16, 16, 2: one epoch, every image once), global torch seed
    0."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Dropout(), nn.Linear(16, 10))
    x = torch.randn(n, 4, 4)
    labels = torch.randint(0, 10, (n,))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    batch_rows = []
    for start in range(0, n, batch):
        rows = torch.arange(n)[start:start + batch]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x[rows]), labels[rows])
        loss.backward()
        opt.step()
        losses.append(loss.item())
        batch_rows.append(rows.tolist())
    recorded = sum(losses) / len(losses) if fixed else loss.item()
    if fixed:
        net.eval()
    accuracies = []
    with torch.no_grad():
        for _ in range(2):
            accuracies.append(float((net(x).argmax(dim=1) == labels).double().mean()))
    return P6Run(recorded, losses, accuracies, net, opt, x, labels, batch_rows)


def q11_forward(device: str | torch.device, *, fixed: bool = False) -> torch.Tensor:
    """003 Q11's forward as described: a small network built on the CPU and, unless
    ``fixed``, not moved; a batch of inputs moved to ``device``; the network applied to it.
    Sizes ours (the seed's network is a CIFAR-10 classifier): a 4 → 3 → 2 network with a ReLU
    between, applied to a batch of 5 zero inputs, so the output is (5, 2), every row the
    same."""
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    if fixed:
        net.to(device)
    inputs = torch.zeros(5, 4).to(device)
    return net(inputs)
