r"""The Jacobian of a deep tanh network by hand: reverse mode, forward mode, and the optimal
order of the matrix chain.

Source: ``002_f6a45d0186751a72.txt`` Problem 2 (notebook Question 2, exercises 2.(a)–(d)).

.. math::

    f(x) = W_F \tanh(W_L \tanh(\cdots \tanh(W_1 x))),\qquad
    z_1 = W_1 x,\; h_i = \tanh z_i,\; z_{i+1} = W_{i+1} h_i,

with per-layer widths :math:`W_1 \in \mathbb R^{K_1\times D}`,
:math:`W_i \in \mathbb R^{K_i\times K_{i-1}}` and :math:`W_F \in \mathbb R^{P\times K_L}`
(the seed's network is the uniform case :math:`K_i = K`). With :math:`s_i = 1 - h_i^2`,

.. math::

    J = \frac{\partial f}{\partial x}
      = W_F\, \operatorname{diag}(s_L)\, W_L \cdots W_2\, \operatorname{diag}(s_1)\, W_1
      \in \mathbb R^{P\times D},

a chain of L + 1 matrices. Reverse mode multiplies it from the left (a :math:`P\times K_i`
block travels backwards), forward mode from the right (a :math:`K_i\times D` block travels
forwards), and :func:`jacobian_optimal` in the bracketing that the matrix-chain dynamic
programme finds cheapest (:func:`accumulation_plan`). A ``diag(s)`` factor is never formed: it
scales the columns of the product on its left or the rows of the product on its right.

The seed's own kernels multiply by dense ``torch.diag`` matrices; that method is implemented
here (not copied) as the named baselines :func:`dense_diag_reverse` and
:func:`dense_diag_forward`, for the benchmark.

``params`` is a dict with keys ``W1 … WL, WF`` as in the seed; arrays are torch tensors
(float32/float64, any one device) or numpy arrays. The Jacobian is returned in the same kind
and dtype, detached from any autograd graph (nothing here calls autograd). Values are never
read for validation: NaN or inf in ``x`` or the weights propagate to the result. No argument
is modified.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
from torch.utils._python_dispatch import _get_current_dispatch_mode

from impl._validate import namespace, require_array, require_same_kind

__all__ = [
    "Plan",
    "accumulation_plan",
    "dense_diag_forward",
    "dense_diag_reverse",
    "jacobian_forward",
    "jacobian_optimal",
    "jacobian_reverse",
    "network",
    "validate",
]

_KEY = re.compile(r"^W([1-9][0-9]*)$")


def validate(x: Any, params: Any) -> tuple[list[Any], Any]:
    """Check ``params`` (keys ``W1 … WL, WF``, chaining shapes) and ``x`` (length D).

    Order: the keys, then each array's kind, dtype and device (before any shape), then the
    shapes: ``x`` a vector of length D, ``W1`` of shape (K1, D), ``Wi`` of shape
    (Ki, K(i−1)), ``WF`` of shape (P, KL), no dimension 0. Returns ``([W1, …, WL], WF)``.
    Raises ``ValueError`` naming the key or argument (a missing or extra key, a shape that does
    not chain, an empty layer, mixed dtypes, kinds or devices); ``TypeError`` for a non-dict or
    a non-array.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict with keys W1 … WL, WF, got "
                        f"{type(params).__name__}")
    layers = []
    for key in params:
        m = _KEY.match(key) if isinstance(key, str) else None
        if m:
            layers.append(int(m.group(1)))
        elif key != "WF":
            raise ValueError(f"params has an unexpected key {key!r}: keys must be W1 … WL, WF")
    if "WF" not in params:
        raise ValueError("params is missing key 'WF' (the P×KL output matrix)")
    if not layers:
        raise ValueError("params is missing key 'W1' (the K1×D first-layer matrix)")
    L = max(layers)
    for i in range(1, L + 1):
        if i not in layers:
            raise ValueError(f"params is missing key 'W{i}' (keys must be W1 … W{L}, WF)")
    Ws = [params[f"W{i}"] for i in range(1, L + 1)]
    WF = params["WF"]
    x = require_array("x", x)
    named = [(f"params['W{i}']", W) for i, W in enumerate(Ws, 1)] + [("params['WF']", WF)]
    for name, a in named:
        require_array(name, a)
        require_same_kind(name, a, "x", x, error=ValueError)
    if x.ndim != 1:
        raise ValueError(f"x must be a vector of shape (D,), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("x must be non-empty: D ≥ 1, got shape (0,)")
    for name, a in named:
        if a.ndim != 2:
            raise ValueError(f"{name} must be a matrix, got shape {tuple(a.shape)}")
    cols, below = x.shape[0], "x of length D"
    for i, W in enumerate(Ws, 1):
        want = "(K1, D)" if i == 1 else f"(K{i}, K{i - 1})"
        if W.shape[1] != cols:
            raise ValueError(f"params['W{i}'] has shape {tuple(W.shape)}, expected {want} with "
                             f"{cols} columns to chain with {below}")
        if W.shape[0] == 0:
            raise ValueError(f"params['W{i}'] has shape {tuple(W.shape)}: an empty layer "
                             f"(K{i} = 0); every width must be at least 1")
        cols, below = W.shape[0], f"params['W{i}'] of shape {tuple(W.shape)}"
    if WF.shape[1] != cols:
        raise ValueError(f"params['WF'] has shape {tuple(WF.shape)}, expected (P, K{L}) with "
                         f"{cols} columns to chain with {below}")
    if WF.shape[0] == 0:
        raise ValueError(f"params['WF'] has shape {tuple(WF.shape)}: P = 0 outputs; P must be "
                         f"at least 1")
    return Ws, WF


def widths_of(Ws: Sequence[Any], WF: Any) -> tuple[int, ...]:
    """(D, K1, …, KL, P) of validated weights."""
    return (int(Ws[0].shape[1]), *(int(W.shape[0]) for W in Ws), int(WF.shape[0]))


# CPU tensors run the kernels on zero-copy numpy views (``Tensor.numpy()`` in,
# ``torch.from_numpy`` out), at every size. Measured on this machine (AMD EPYC, one thread,
# float32, K = 1000, min of 400 interleaved calls): five matrix×vector products take 1.02 ms
# in torch (its CPU wheel calls MKL) and 0.72 ms in numpy (OpenBLAS, Haswell kernels); five
# vector×matrix products 0.92 against 0.61 ms; and a torch call costs 3–5 µs of dispatch
# against numpy's ~1 µs. K×K by K×D products run at about the same rate in both (24 against
# 22 ms at 1000³). ``network`` takes the same path, so "reverse mode ÷ one evaluation of f"
# compares modes on one BLAS, not two libraries.
#
# The torch-op path is taken instead for tensors on other devices, for tensors without
# storage (inside ``torch.func.vmap``, ``torch.compile``'s fake tensors), and while a
# ``TorchDispatchMode`` such as ``FlopCounterMode`` is active, so that it sees the products.
# numpy's OpenBLAS keeps its own thread pool: ``torch.set_num_threads`` does not reach it
# (``threadpoolctl`` does).


def _numpy_views(x: Any, Ws: list[Any], WF: Any):
    """Zero-copy numpy views of CPU tensors, or None where the torch-op path must run."""
    if not isinstance(x, torch.Tensor) or x.device.type != "cpu":
        return None
    if _get_current_dispatch_mode() is not None:
        return None
    try:
        return x.detach().numpy(), [W.detach().numpy() for W in Ws], WF.detach().numpy()
    except RuntimeError:  # no storage: a vmap-batched or fake tensor
        return None


def _tanh_derivative(h: Any) -> Any:
    """s = 1 − h² where h = tanh z (the derivative of tanh, from its output)."""
    return 1 - h * h


def _run(kernel, x: Any, params: Mapping[str, Any]) -> Any:
    """Validate, then run ``kernel(x, Ws, WF)`` on numpy arrays or torch tensors (no autograd
    graph); CPU tensors run it on numpy views where they can (see above)."""
    Ws, WF = validate(x, params)
    views = _numpy_views(x, Ws, WF)
    if views is not None:
        return torch.from_numpy(kernel(*views))
    with torch.no_grad():
        return kernel(x, Ws, WF)


def _primal(x: Any, Ws: list[Any]) -> list[Any]:
    """h_1 … h_L, h_i = tanh(W_i h_{i−1}) with h_0 = x."""
    tanh = namespace(x).tanh
    hs, h = [], x
    for W in Ws:
        h = tanh(W @ h)
        hs.append(h)
    return hs


def _network(x: Any, Ws: list[Any], WF: Any) -> Any:
    return WF @ _primal(x, Ws)[-1]


def network(x: Any, params: Mapping[str, Any]) -> Any:
    r"""One plain evaluation :math:`f(x) = W_F \tanh(W_L \cdots \tanh(W_1 x))`."""
    return _run(_network, x, params)


# ---------------------------------------------------------------------------------------
# The two pure modes
# ---------------------------------------------------------------------------------------


def jacobian_reverse(x: Any, params: Mapping[str, Any]) -> Any:
    r"""Reverse mode: a :math:`P\times K_i` block travels from :math:`W_F` back to :math:`W_1`.

    Primal pass (stores :math:`h_1 … h_L`), then
    :math:`G \leftarrow W_F \operatorname{diag}(s_L)`,
    :math:`G \leftarrow (G W_i) \operatorname{diag}(s_{i-1})` for :math:`i = L … 2`,
    :math:`J = G W_1`; each ``diag`` is a column scaling of G.
    Multiply-adds: primal :math:`\sum_i K_i K_{i-1}` (:math:`K_0 = D`) plus
    :math:`\sum_{i=2}^{L} P K_i K_{i-1} + P K_1 D`; uniform widths:
    :math:`KD + (L-1)K^2 + (L-1)PK^2 + PKD`.
    """
    return _run(_reverse, x, params)


def _reverse(x: Any, Ws: list[Any], WF: Any) -> Any:
    """The kernel, for numpy arrays and torch tensors alike (``@`` is mv/mm in torch)."""
    hs = _primal(x, Ws)
    G = WF * _tanh_derivative(hs[-1])          # P×KL: columns scaled by s_L
    for W, h in zip(reversed(Ws[1:]), reversed(hs[:-1]), strict=True):
        G = G @ W                              # (P×Ki)(Ki×K(i−1))
        G *= _tanh_derivative(h)               # columns scaled by s_{i−1}
    return G @ Ws[0]                           # (P×K1)(K1×D)


def jacobian_forward(x: Any, params: Mapping[str, Any]) -> Any:
    r"""Forward mode: a :math:`K_i\times D` block travels from :math:`W_1` to :math:`W_F`.

    :math:`T \leftarrow W_1`; for :math:`i = 2 … L`:
    :math:`T \leftarrow W_i (\operatorname{diag}(s_{i-1}) T)`, next to the primal
    :math:`z_i = W_i h_{i-1}`; finally :math:`J = W_F (\operatorname{diag}(s_L) T)`; each
    ``diag`` is a row scaling of T.
    Multiply-adds: the primal plus :math:`\sum_{i=2}^{L} K_i K_{i-1} D + P K_L D`; uniform
    widths: :math:`KD + (L-1)K^2 + (L-1)K^2D + PKD`.
    """
    return _run(_forward, x, params)


def _forward(x: Any, Ws: list[Any], WF: Any) -> Any:
    """The kernel, for numpy arrays and torch tensors alike (``@`` is mv/mm in torch)."""
    tanh = namespace(x).tanh
    z = Ws[0] @ x
    T = Ws[0]                                   # K1×D, the tangent block (not copied)
    for W in Ws[1:]:
        h = tanh(z)
        T = W @ (_tanh_derivative(h)[:, None] * T)   # rows scaled by s, then (Ki×K(i−1))(K(i−1)×D)
        z = W @ h
    h = tanh(z)
    return WF @ (_tanh_derivative(h)[:, None] * T)   # (P×KL)(KL×D)


# ---------------------------------------------------------------------------------------
# The optimal order: the matrix-chain dynamic programme
# ---------------------------------------------------------------------------------------

#: A bracketing: a key name (one factor) or a pair (left, right) of bracketings.
Order = str | tuple


@dataclass(frozen=True)
class Plan:
    """The cheapest bracketing of the chain W_F · W_L ⋯ W_1 for given widths.

    ``order``: nested pairs of key names, e.g. ``(("WF", "W3"), ("W2", "W1"))``;
    ``chain_macs``: its multiply-adds (an M1×M2 by M2×M3 product costs M1·M2·M3);
    ``primal_macs``: the primal pass Σ K_i K_(i−1), common to every order;
    ``steps``: the products in execution order, as (left, right, boundary) indices into the
    list [factors in written order WF, WL, …, W1, then each step's result], where
    ``boundary`` = t means the diag factor between written positions t and t + 1.
    """

    widths: tuple[int, ...]
    order: Order
    chain_macs: int
    primal_macs: int
    steps: tuple[tuple[int, int, int], ...]

    @property
    def macs(self) -> int:
        """Multiply-adds of the whole call: the primal plus the chain's products."""
        return self.primal_macs + self.chain_macs

    @property
    def mode(self) -> str:
        """'reverse' (left-deep), 'forward' (right-deep), both for one product, or 'mixed'."""
        left = _is_deep(self.order, 0)
        right = _is_deep(self.order, 1)
        if left and right:
            return "reverse = forward"
        return "reverse" if left else "forward" if right else "mixed"

    def __str__(self) -> str:
        return _render(self.order, top=True)


def _is_deep(order: Order, side: int) -> bool:
    """Left-deep (side 0: every right operand a single factor) or right-deep (side 1)."""
    while not isinstance(order, str):
        if not isinstance(order[1 - side], str):
            return False
        order = order[side]
    return True


def _render(order: Order, top: bool = False) -> str:
    if isinstance(order, str):
        return order
    s = f"{_render(order[0])}·{_render(order[1])}"
    return s if top else f"({s})"


def _check_widths(widths: Any) -> tuple[int, ...]:
    try:
        w = tuple(widths)
    except TypeError:
        raise TypeError(f"widths must be a sequence (D, K1, …, KL, P) of positive integers, "
                        f"got {type(widths).__name__}") from None
    if len(w) < 3:
        raise ValueError(f"widths must be (D, K1, …, KL, P) with at least one layer (L ≥ 1, "
                         f"so at least 3 entries), got {len(w)} entries: {w}")
    out = []
    for i, v in enumerate(w):
        try:
            if isinstance(v, bool):
                raise TypeError
            v = operator.index(v)
        except TypeError:
            raise TypeError(f"widths[{i}] must be an integer, got {type(v).__name__}") from None
        if v < 1:
            raise ValueError(f"widths[{i}] = {v}: every width must be at least 1 (an empty "
                             f"layer has no Jacobian)")
        out.append(v)
    return tuple(out)


def accumulation_plan(widths: Sequence[int]) -> Plan:
    r"""The bracketing of :math:`J = W_F D_L W_L \cdots D_1 W_1` with the fewest multiply-adds.

    ``widths`` = (D, K1, …, KL, P), L ≥ 1. In written order the chain has n = L + 1 factors
    :math:`A_1 = W_F, A_2 = W_L, …, A_n = W_1` with :math:`A_t \in \mathbb R^{r_{t-1}\times
    r_t}`, :math:`r = (P, K_L, …, K_1, D)`. The classic matrix-chain recurrence

    .. math:: m[i, j] = \min_{i \le k < j} m[i, k] + m[k+1, j] + r_{i-1} r_k r_j,\qquad
              m[i, i] = 0,

    gives the cheapest bracketing in :math:`O(n^3)`. The diagonal factors cost no
    multiply-adds in this count: each is folded into its product as a row or column scaling
    (of whichever operand is smaller). Left-deep is reverse mode and right-deep forward mode,
    two of the candidates, so the plan is never predicted worse than either. Ties go to the
    smallest split k (the shortest left operand: forward mode where the pure modes tie).
    Raises ``ValueError`` naming ``widths`` for fewer than one layer or a width below 1.
    """
    return _plan(_check_widths(widths))


@lru_cache(maxsize=256)
def _plan(w: tuple[int, ...]) -> Plan:
    D, Ks, P = w[0], w[1:-1], w[-1]
    L = len(Ks)
    r = (P, *reversed(Ks), D)          # r[t−1] × r[t] is factor t (1-based, written order)
    n = L + 1
    names = ["WF", *(f"W{i}" for i in range(L, 0, -1))]
    m = [[0] * (n + 1) for _ in range(n + 1)]
    split = [[0] * (n + 1) for _ in range(n + 1)]
    for length in range(2, n + 1):
        for i in range(1, n - length + 2):
            j = i + length - 1
            best, arg = None, None
            for k in range(i, j):
                c = m[i][k] + m[k + 1][j] + r[i - 1] * r[k] * r[j]
                if best is None or c < best:
                    best, arg = c, k
            m[i][j], split[i][j] = best, arg

    steps: list[tuple[int, int, int]] = []

    def build(i: int, j: int) -> tuple[Order, int]:
        """(order, register) of factors i..j; registers 0..n−1 hold the factors."""
        if i == j:
            return names[i - 1], i - 1
        k = split[i][j]
        left, a = build(i, k)
        right, b = build(k + 1, j)
        steps.append((a, b, k - 1))   # boundary between written positions k−1 and k (0-based)
        return (left, right), n + len(steps) - 1

    order, _ = build(1, n)
    primal = sum(a * b for a, b in zip(w[1:-1], w[:-2], strict=True))
    return Plan(w, order, m[1][n], primal, tuple(steps))


def jacobian_optimal(x: Any, params: Mapping[str, Any]) -> Any:
    r"""The Jacobian in the bracketing :func:`accumulation_plan` finds cheapest.

    The primal pass stores :math:`s_i = 1 - h_i^2`; then the plan's products run in order.
    The diag factor at the boundary of a product :math:`A B` is applied as a column scaling
    of A (:math:`A \operatorname{diag}(s)`) when A has no more rows than B has columns, and
    as a row scaling of B otherwise. For reverse-optimal widths (the seed's D = K = 1000,
    P = 1) this is exactly :func:`jacobian_reverse`'s sequence of operations; for
    forward-optimal widths, forward mode's products (scaling the cheaper side).
    """
    return _run(_optimal, x, params)


def _optimal(x: Any, Ws: list[Any], WF: Any) -> Any:
    plan = _plan(widths_of(Ws, WF))
    hs = _primal(x, Ws)
    # Written order: position 0 is WF, position t is W_{L+1−t}; boundary t (between
    # positions t and t+1) carries s_{L−t}.
    regs = [WF, *reversed(Ws)]
    n = len(regs)
    L = len(Ws)
    for a, b, t in plan.steps:
        A, B = regs[a], regs[b]
        s = _tanh_derivative(hs[L - 1 - t])
        if A.shape[0] <= B.shape[1]:
            if a >= n:
                A *= s                      # a product computed here: scale in place
            else:
                A = A * s                   # a weight: never modified
        elif b >= n:
            B *= s[:, None]
        else:
            B = s[:, None] * B
        regs.append(A @ B)
    return regs[-1]


# ---------------------------------------------------------------------------------------
# Baselines: the seed's method, dense diagonal matrices in every product
# ---------------------------------------------------------------------------------------
# Seed 002_f6a45d0186751a72.txt, notebook Question 2, exercises 2.(a) (``my_backward_2a``) and
# 2.(b) (``my_forward_2b``) build each tanh derivative as a dense diagonal matrix
# (``torch.diag``) and multiply by it like by any other matrix. The two functions below
# implement that method (our code, the seed's order of products), so the benchmark can show
# what the dense diagonal costs. They also serve any widths.


def dense_diag_reverse(x: Any, params: Mapping[str, Any]) -> Any:
    r"""Reverse mode with dense diagonal matrices (the method of seed 002, notebook 2.(a)).

    :math:`G = W_F \,\mathrm{Diag}(s_L)`; for :math:`i = L … 2`:
    :math:`G = (G W_i)\,\mathrm{Diag}(s_{i-1})`; :math:`J = G W_1`, where
    :math:`\mathrm{Diag}(s)` is materialised as a dense square matrix. Multiply-adds: the
    primal plus :math:`P K_L^2 + \sum_{i=2}^{L} (P K_i K_{i-1} + P K_{i-1}^2) + P K_1 D`.
    """
    return _run(_dense_diag_reverse, x, params)


def _dense_diag_reverse(x: Any, Ws: list[Any], WF: Any) -> Any:
    diag = namespace(x).diag
    hs = _primal(x, Ws)
    G = WF @ diag(_tanh_derivative(hs[-1]))
    for W, h in zip(reversed(Ws[1:]), reversed(hs[:-1]), strict=True):
        G = (G @ W) @ diag(_tanh_derivative(h))
    return G @ Ws[0]


def dense_diag_forward(x: Any, params: Mapping[str, Any]) -> Any:
    r"""Forward mode with dense diagonal matrices (the method of seed 002, notebook 2.(b)).

    :math:`T = W_1`; for :math:`i = 2 … L`: :math:`T = (W_i\,\mathrm{Diag}(s_{i-1})) T`;
    :math:`J = (W_F\,\mathrm{Diag}(s_L)) T`. Multiply-adds: the primal plus
    :math:`\sum_{i=2}^{L} (K_i K_{i-1}^2 + K_i K_{i-1} D) + P K_L^2 + P K_L D`.
    """
    return _run(_dense_diag_forward, x, params)


def _dense_diag_forward(x: Any, Ws: list[Any], WF: Any) -> Any:
    diag = namespace(x).diag
    hs = _primal(x, Ws)
    T = Ws[0]
    for W, h in zip(Ws[1:], hs[:-1], strict=True):
        T = (W @ diag(_tanh_derivative(h))) @ T
    return (WF @ diag(_tanh_derivative(hs[-1]))) @ T
