r"""The linear and ReLU modules of the numpy practical, in sympy.

Source: ``004_a5042f8004da492f.txt`` §1.1 a (the module Jacobians) and §1.1 b–c (backprop
through them, for one example and for a batch). The softmax and cross-entropy claims of the
same sections live in ``derivations/softmax.py`` (``cross_entropy.softmax_chain``,
``cross_entropy.batch_mean``) and are reused, not registered again.

Builders take the sizes and return (what sympy derives from the forward expression, the
closed form the seed states), cached per size.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_004 = "004_a5042f8004da492f.txt"

_i, _j, _q, _n = sp.symbols("i j q n", integer=True, positive=True)
_W, _x, _xt, _b = (sp.IndexedBase(s) for s in ("W", "x", r"\tilde{x}", "b"))

LINEAR_INPUT = claim(
    "modules.linear_input_jacobian",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_004} §1.1 a (linear module, ∂x̃/∂x)",
    statement="For x̃ = W x + b the Jacobian with respect to the input is W.",
    formula=lambda: sp.Eq(sp.Derivative(_xt[_i], _x[_j]), _W[_i, _j]),
)
LINEAR_WEIGHT = claim(
    "modules.linear_weight_jacobian",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §1.1 a (linear module, ∂x̃/∂W)",
    statement="∂x̃_q/∂W_ij = δ_qi x_j: the q-th slice is zero except row q, which holds xᵀ.",
    formula=lambda: sp.Eq(
        sp.Derivative(_xt[_q], _W[_i, _j]), sp.KroneckerDelta(_q, _i) * _x[_j]
    ),
)
LINEAR_BIAS = claim(
    "modules.linear_bias_jacobian",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §1.1 a (linear module, ∂x̃/∂b; the identity reading of its 𝟏)",
    statement="∂x̃/∂b is the n×n identity (x̃_i depends on b_i only), so ∂L/∂b = ∂L/∂x̃.",
    formula=lambda: sp.Eq(sp.Derivative(_xt[_i], _b[_j]), sp.KroneckerDelta(_i, _j)),
)
LINEAR_BIAS_SEED = claim(
    "modules.linear_bias_jacobian_all_ones",
    source=f"{SEED_004} §1.1 a 6 (∂x̃/∂b, as written) and §1.2 b 5 (its use)",
    statement="The seed writes ∂x̃/∂b = 𝟏 ∈ R^{n×n} and later uses it as ∂L/∂x̃ · 𝟏 = ∂L/∂x̃. "
    "Read as the all-ones matrix (bold 1 is a vector of ones in the seed's own §1.2 b 1) it is "
    "false for n ≥ 2 and §1.2 b 5 would give (Σ_i ∂L/∂x̃_i)𝟏ᵀ; read as the identity, which "
    "§1.2 b 5's '· 𝟏 = itself' requires, it holds (a notation slip, not a mathematical error).",
    formula=lambda: sp.Eq(sp.Derivative(_xt[_i], _b[_j]), 1),
    verdict="reading-dependent",
    readings=(
        ("our reading: 𝟏 is the n×n all-ones matrix (as bold 1 is a column of ones in §1.2 b 1)",
         "refuted"),
        ("our reading: 𝟏 is the n×n identity (as §1.2 b 5's ∂L/∂x̃ · 𝟏 = ∂L/∂x̃ requires)",
         "holds"),
    ),
    witnesses=("symbolic",),
)
LINEAR_BACKWARD = claim(
    "modules.linear_backward",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §1.1 b 3–5 and §1.1 c (batch)",
    statement="For a batch X̃ = X Wᵀ + 𝟏bᵀ with upstream G = ∂L/∂X̃: ∂L/∂X = G W, "
    "∂L/∂W = Gᵀ X and ∂L/∂b = Σ_n G_n (parameter gradients summed over the batch).",
    formula=lambda: _backward_formula(),
)
RELU = claim(
    "modules.relu_jacobian",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_004} §1.1 a (ReLU module) and §1.1 b 2",
    statement="ReLU's Jacobian is diag(𝟙(x̃_i > 0)); the kernels take 0 at the kink x̃_i = 0 "
    "(as torch does), where the derivative does not exist.",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Max(0, _xt[_i]), _xt[_j]),
        sp.KroneckerDelta(_i, _j) * sp.Piecewise((1, _xt[_i] > 0), (0, True)),
    ),
)
MLP_TRAINS = claim(
    "modules.mlp_training_decreases_loss",
    witnesses=("implementation", "experiment"),
    source=f"{SEED_004} §1.2 (the numpy MLP trained with these modules)",
    statement="A numpy MLP (Linear → ReLU → … → Linear → SoftMax → CrossEntropy) trained by "
    "gradient descent with its hand backprop lowers the loss: a small enough step along the "
    "negative gradient decreases it, and training on a generated classification set drives "
    "it down.",
    formula=lambda: sp.Lt(
        sp.Function("L")(sp.Symbol(r"\theta") - sp.Symbol(r"\eta") * sp.Symbol(r"\nabla L")),
        sp.Function("L")(sp.Symbol(r"\theta")),
    ),
)


def _backward_formula() -> sp.Basic:
    n, o, i = sp.symbols("N n_out n_in", integer=True, positive=True)
    g, w, x = sp.MatrixSymbol("G", n, o), sp.MatrixSymbol("W", o, i), sp.MatrixSymbol("X", n, i)
    loss, nn = sp.Symbol("L"), sp.Symbol("n", integer=True)
    return sp.And(
        sp.Eq(sp.Derivative(loss, x), g * w, evaluate=False),
        sp.Eq(sp.Derivative(loss, w), g.T * x, evaluate=False),
        sp.Eq(sp.Derivative(loss, sp.Indexed("b", _i)),
              sp.Sum(sp.Indexed("G", nn, _i), (nn, 1, n)), evaluate=False),
    )


# --------------------------------------------------------------------------- builders


@cache
def linear(n_out: int, n_in: int) -> tuple[sp.ImmutableMatrix, ...]:
    """(W, x, b, x̃ = W x + b) with real symbols; x, b, x̃ are columns."""
    w = sp.ImmutableMatrix(n_out, n_in, lambda i, j: sp.Symbol(f"W{i}_{j}", real=True))
    x = sp.ImmutableMatrix(sp.symbols(f"x0:{n_in}", real=True))
    b = sp.ImmutableMatrix(sp.symbols(f"b0:{n_out}", real=True))
    return w, x, b, sp.ImmutableMatrix(w * x + b)


@cache
def linear_input_jacobian(n_out: int, n_in: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(sympy's ∂x̃/∂x, the seed's W)."""
    w, x, _, xt = linear(n_out, n_in)
    return sp.ImmutableMatrix(xt.jacobian(x)), w


@cache
def linear_weight_jacobian(n_out: int, n_in: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(sympy's ∂x̃_q/∂W_ij stacked as rows q, columns (i, j); the seed's δ_qi x_j)."""
    w, x, _, xt = linear(n_out, n_in)
    flat = [w[i, j] for i in range(n_out) for j in range(n_in)]
    derived = sp.ImmutableMatrix(xt.jacobian(flat))
    seed = sp.ImmutableMatrix(
        n_out, n_out * n_in, lambda q, k: x[k % n_in] if k // n_in == q else 0
    )
    return derived, seed


@cache
def linear_bias_jacobian(n_out: int, n_in: int) -> tuple[sp.ImmutableMatrix, ...]:
    """(sympy's ∂x̃/∂b, the identity (corrected claim), the seed's all-ones matrix)."""
    _, _, b, xt = linear(n_out, n_in)
    derived = sp.ImmutableMatrix(xt.jacobian(b))
    return derived, sp.ImmutableMatrix(sp.eye(n_out)), sp.ImmutableMatrix(sp.ones(n_out, n_out))


@cache
def linear_bias_chain(n_out: int, one: str = "ones") -> tuple[sp.ImmutableMatrix, ...]:
    """The seed's §1.2 b 5 step gᵀ𝟏 = gᵀ with 𝟏 read as ``"ones"`` (the all-ones matrix) or
    ``"identity"``: (gᵀ𝟏, the gᵀ the seed writes), g the upstream gradient."""
    g = sp.ImmutableMatrix(sp.symbols(f"g0:{n_out}", real=True))
    readings = {"ones": sp.ones(n_out, n_out), "identity": sp.eye(n_out)}
    if one not in readings:
        raise ValueError(f"one must be 'ones' or 'identity', got {one!r}")
    return sp.ImmutableMatrix(g.T * readings[one]), sp.ImmutableMatrix(g.T)


@cache
def linear_batch_backward(
    batch: int, n_out: int, n_in: int
) -> tuple[tuple[sp.ImmutableMatrix, ...], tuple[sp.ImmutableMatrix, ...], tuple]:
    """Gradients of L = Σ_{n,q} G_nq X̃_nq, X̃ = X Wᵀ + 𝟏bᵀ, from sympy and in closed form.

    Returns ((dX, dW, db) derived by sympy, (G W, Gᵀ X, Σ_n G_n) the closed forms,
    (X, W, b, G) the symbols). L is linear in X̃ with a generic upstream G, so its gradients
    are exactly the vector–Jacobian products the module's backward computes.
    """
    w = sp.ImmutableMatrix(n_out, n_in, lambda i, j: sp.Symbol(f"W{i}_{j}", real=True))
    x = sp.ImmutableMatrix(batch, n_in, lambda n, j: sp.Symbol(f"X{n}_{j}", real=True))
    b = sp.ImmutableMatrix(sp.symbols(f"b0:{n_out}", real=True))
    g = sp.ImmutableMatrix(batch, n_out, lambda n, q: sp.Symbol(f"G{n}_{q}", real=True))
    xt = x * w.T + sp.ones(batch, 1) * b.T
    loss = sum(g[n, q] * xt[n, q] for n in range(batch) for q in range(n_out))
    derived = (
        sp.ImmutableMatrix(batch, n_in, lambda n, j: sp.diff(loss, x[n, j])),
        sp.ImmutableMatrix(n_out, n_in, lambda i, j: sp.diff(loss, w[i, j])),
        sp.ImmutableMatrix([sp.diff(loss, bi) for bi in b]),
    )
    closed = (
        sp.ImmutableMatrix(g * w),
        sp.ImmutableMatrix(g.T * x),
        sp.ImmutableMatrix(g.T * sp.ones(batch, 1)),
    )
    return derived, closed, (x, w, b, g)


@cache
def relu_jacobian(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(sympy's Jacobian of Max(0, x̃) (Heaviside on the diagonal), diag(𝟙(x̃_i > 0))).

    They agree away from the kink x̃_i = 0; there sympy's Heaviside(0) = 1/2 is a convention,
    not a derivative, and the proof by cases states the kernels' (torch's) convention 0.
    """
    xt = sp.ImmutableMatrix(sp.symbols(f"xt0:{n}", real=True))
    y = sp.ImmutableMatrix([sp.Max(0, v) for v in xt])
    derived = sp.ImmutableMatrix(y.jacobian(xt))
    closed = sp.ImmutableMatrix(
        sp.diag(*[sp.Piecewise((1, v > 0), (0, True)) for v in xt])
    )
    return derived, closed


RELU_BACKWARD_PROSE = claim(
    "modules.relu_backward_as_described",
    source=f"{SEED_004} §1.2 b 2 (the sentence after the formula)",
    statement="The ReLU backward 'sets the gradients to 0 if the output of the layer is "
    "smaller than 0, and … to 1 if the output … is greater than 0'. False: it passes the "
    "upstream gradient through (∂L/∂x̃_i = ∂L/∂x_i, not 1) where the *input* x̃_i > 0, and "
    "the output max(0, x̃) is never below 0 (at x̃ = (2, −1), upstream (3, 5): (3, 0)).",
    formula=lambda: sp.Eq(sp.Derivative(sp.Symbol("L"), _xt[_i]),
                          sp.Piecewise((1, sp.Max(0, _xt[_i]) > 0), (0, True))),
    verdict="refuted",
    corrected_by="modules.relu_jacobian",
    witnesses=("symbolic", "implementation"),
)


def relu_backward_at(xt: tuple, upstream: tuple) -> tuple[sp.ImmutableMatrix, list]:
    """(sympy's ∂L/∂x̃ for L = Σ g_i max(0, x̃_i) at the given point, the seed's sentence's
    value there: 1 where the output max(0, x̃_i) > 0, 0 where it is < 0, None otherwise)."""
    syms = sp.symbols(f"xt0:{len(xt)}", real=True)
    loss = sum(g * sp.Max(0, v) for g, v in zip(upstream, syms, strict=True))
    point = dict(zip(syms, xt, strict=True))
    derived = sp.ImmutableMatrix([sp.diff(loss, v).subs(point) for v in syms])
    outputs = [sp.Max(0, v).subs(point) for v in syms]
    described = [1 if o > 0 else 0 if o < 0 else None for o in outputs]
    return derived, described
