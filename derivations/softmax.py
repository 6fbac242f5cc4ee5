r"""The softmax family in sympy.

Sources: ``004_a5042f8004da492f.txt`` §1.1 a–c (softmax Jacobian, cross-entropy, the chain
through both, the batch mean) and ``001_d80f36ddf3b5193b.txt`` Problem 1 (the "true softmax"
:math:`\nu_\beta`).

Every builder takes the sizes (drawn by Hypothesis in the tests) and returns sympy objects:
the left-hand side is always what sympy itself derives from the forward expression
(``diff``/``jacobian``); the right-hand side is the closed form the seed states. Builders
are cached per size, so Hypothesis spends its time on values, not on sympy.
"""

from __future__ import annotations

import math
from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_004 = "004_a5042f8004da492f.txt"
SEED_001 = "001_d80f36ddf3b5193b.txt"

# Index-notation symbols used only to render the statements.
_i, _j, _n = sp.symbols("i j n", integer=True, positive=True)
_x, _s, _t, _u = sp.IndexedBase("x"), sp.IndexedBase("s"), sp.IndexedBase("t"), sp.IndexedBase("u")
_beta = sp.Symbol("beta", positive=True)

JACOBIAN = claim(
    "softmax.jacobian",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §1.1 a",
    statement="The softmax Jacobian is diag(s) − s sᵀ.",
    formula=lambda: sp.Eq(
        sp.Derivative(_s[_i], _x[_j]), _s[_i] * (sp.KroneckerDelta(_i, _j) - _s[_j])
    ),
)
JACOBIAN_ROWS = claim(
    "softmax.jacobian_rows_sum_to_zero",
    witnesses=("symbolic",),
    source=f"{SEED_004} §1.1 a",
    statement="Each row of the softmax Jacobian sums to zero (and the Jacobian is symmetric).",
    formula=lambda: sp.Eq(sp.Sum(sp.Derivative(_s[_i], _x[_j]), (_j, 1, _n)), 0),
)
VJP = claim(
    "softmax.vjp",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §1.1 b",
    statement="The softmax backward without forming the Jacobian: uᵀJ = s ⊙ (u − ⟨u, s⟩).",
    formula=lambda: sp.Eq(
        sp.Sum(_u[_i] * sp.Derivative(_s[_i], _x[_j]), (_i, 1, _n)),
        _s[_j] * (_u[_j] - sp.Sum(_u[_i] * _s[_i], (_i, 1, _n))),
    ),
)
SHIFT = claim(
    "softmax.shift_invariance",
    witnesses=("symbolic",),
    source=f"{SEED_004} §1.1 a",
    statement="Softmax is invariant to adding a constant to every logit.",
    formula=lambda: sp.Eq(
        sp.exp(_x[_i] + sp.Symbol("c")) / sp.Sum(sp.exp(_x[_j] + sp.Symbol("c")), (_j, 1, _n)),
        sp.exp(_x[_i]) / sp.Sum(sp.exp(_x[_j]), (_j, 1, _n)),
    ),
)
LOG_SOFTMAX = claim(
    "log_softmax.vjp",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §1.1 a (log of the softmax)",
    statement="∂ log s_i/∂x_j = δ_ij − s_j, so the backward is u − s Σ_i u_i.",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.log(_s[_i]), _x[_j]), sp.KroneckerDelta(_i, _j) - _s[_j]
    ),
)
CE_CHAIN = claim(
    "cross_entropy.softmax_chain",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §1.2 b 1",
    statement="(∂L/∂s)(∂s/∂x) = −tᵀ(I − 1 sᵀ) = sᵀ − tᵀ for L = −Σ t_i log s_i, Σ t_i = 1.",
    formula=lambda: sp.Eq(
        sp.Sum(-_t[_i] / _s[_i] * _s[_i] * (sp.KroneckerDelta(_i, _j) - _s[_j]), (_i, 1, _n)),
        _s[_j] - _t[_j],
    ),
)
CE_GRAD = claim(
    "cross_entropy.gradient",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_004} §1.1 a–b",
    statement="∂L/∂x = s − t for L = −Σ t_i log softmax(x)_i with t a distribution "
    "(one-hot, or integer labels).",
    formula=lambda: sp.Eq(
        sp.Derivative(-sp.Sum(_t[_i] * sp.log(_s[_i]), (_i, 1, _n)), _x[_j]), _s[_j] - _t[_j]
    ),
)
CE_BATCH = claim(
    "cross_entropy.batch_mean",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §1.1 c",
    statement="Over a batch of B the loss is the mean, and the gradient is (S − T)/B.",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Symbol("L"), sp.Indexed("X", sp.Symbol("b"), _j)),
        (sp.Indexed("S", sp.Symbol("b"), _j) - sp.Indexed("T", sp.Symbol("b"), _j))
        / sp.Symbol("B"),
    ),
)
NU_BOUNDS = claim(
    "true_softmax.bounds",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_001} Problem 1 (a)",
    statement="0 ≤ ν_β(x) − max x ≤ (log n)/β for ν_β(x) = (1/β) log Σ exp(β x_i).",
    formula=lambda: sp.And(
        sp.Le(0, sp.Symbol(r"\nu_\beta") - sp.Symbol(r"\max x")),
        sp.Le(sp.Symbol(r"\nu_\beta") - sp.Symbol(r"\max x"), sp.log(_n) / _beta),
    ),
)
NU_GRAD = claim(
    "true_softmax.gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_001} Problem 1 (b)",
    statement="∇ν_β(x) = softmax(βx).",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Symbol(r"\nu_\beta"), _x[_j]),
        sp.exp(_beta * _x[_j]) / sp.Sum(sp.exp(_beta * _x[_i]), (_i, 1, _n)),
    ),
)
NU_LIMIT = claim(
    "true_softmax.limit",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_001} Problem 1 (c)",
    statement="∇ν_β(x) → e_argmax as β → ∞ when the argmax is unique.",
    formula=lambda: sp.Eq(
        sp.Limit(sp.Derivative(sp.Symbol(r"\nu_\beta"), _x[_j]), _beta, sp.oo),
        sp.KroneckerDelta(_j, sp.Symbol(r"i_{\max}")),
    ),
)
STABLE = claim(
    "softmax.numerical_stability",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_004} §1.1; {SEED_001} Problem 1",
    statement="With max-subtraction (log-sum-exp) the kernels stay finite and correct for "
    "|logits| ≤ 1e4 in float32 and β ≤ 1e8.",
    formula=lambda: sp.Eq(
        sp.log(sp.Sum(sp.exp(_x[_i]), (_i, 1, _n))),
        sp.Symbol("m") + sp.log(sp.Sum(sp.exp(_x[_i] - sp.Symbol("m")), (_i, 1, _n))),
    ),
)


# --------------------------------------------------------------------------- builders


@cache
def logits(n: int) -> sp.ImmutableMatrix:
    """A column of n real logit symbols x_0 … x_{n−1}."""
    return sp.ImmutableMatrix(sp.symbols(f"x0:{n}", real=True))


@cache
def softmax(n: int, beta: sp.Expr = sp.S.One) -> sp.ImmutableMatrix:
    r"""s_i = \exp(\beta x_i) / \sum_j \exp(\beta x_j) as a sympy column."""
    x = logits(n)
    e = [sp.exp(beta * xi) for xi in x]
    return sp.ImmutableMatrix([ei / sp.Add(*e) for ei in e])


@cache
def softmax_jacobian(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(sympy's Jacobian of softmax, the closed form diag(s) − s sᵀ)."""
    s = softmax(n)
    derived = s.jacobian(logits(n))
    closed = sp.diag(*s) - s * s.T
    return sp.ImmutableMatrix(derived), sp.ImmutableMatrix(closed)


@cache
def upstream(n: int, name: str = "u") -> sp.ImmutableMatrix:
    """A column of n real symbols for an upstream gradient (or a target)."""
    return sp.ImmutableMatrix(sp.symbols(f"{name}0:{n}", real=True))


@cache
def softmax_jacobian_row_sums(n: int) -> sp.ImmutableMatrix:
    """Row sums of sympy's softmax Jacobian (claimed zero)."""
    derived, _ = softmax_jacobian(n)
    return sp.ImmutableMatrix(derived * sp.ones(n, 1))


@cache
def softmax_vjp(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(uᵀ J from sympy's Jacobian, the closed form s ⊙ (u − ⟨u, s⟩))."""
    derived, _ = softmax_jacobian(n)
    s, u = softmax(n), upstream(n)
    closed = sp.ImmutableMatrix([s[i] * (u[i] - (u.T * s)[0]) for i in range(n)])
    return sp.ImmutableMatrix(derived.T * u), closed


@cache
def softmax_shifted(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix, sp.Symbol]:
    """(softmax(x + c·1), softmax(x), c)."""
    c = sp.Symbol("c", real=True)
    x = logits(n)
    shifted = softmax(n).xreplace({xi: xi + c for xi in x})
    return sp.ImmutableMatrix(shifted), softmax(n), c


@cache
def log_softmax_vjp(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(uᵀ ∂ log s/∂x from sympy, the closed form u − s Σ u)."""
    x, u, s = logits(n), upstream(n), softmax(n)
    log_s = sp.ImmutableMatrix([xi - sp.log(sp.Add(*[sp.exp(xj) for xj in x])) for xi in x])
    derived = log_s.jacobian(x).T * u
    closed = sp.ImmutableMatrix([u[j] - s[j] * sum(u) for j in range(n)])
    return sp.ImmutableMatrix(derived), closed


@cache
def cross_entropy_gradient(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(∇_x of −Σ t_i log softmax(x)_i from sympy, the closed form s·Σt − t).

    With Σ t = 1 (one-hot, or a distribution) the closed form is s − t; the tests
    substitute targets that sum to one.
    """
    x, t, s = logits(n), upstream(n, "t"), softmax(n)
    loss = -sum(t[i] * sp.log(s[i]) for i in range(n))
    derived = sp.ImmutableMatrix([sp.diff(loss, xi) for xi in x])
    closed = sp.ImmutableMatrix([s[j] * sum(t) - t[j] for j in range(n)])
    return derived, closed


@cache
def cross_entropy_softmax_chain(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """The seed's chain (§1.2 b 1): the gradient sympy takes of the composed loss
    x ↦ −Σ t_i log softmax(x)_i (a row; no Jacobian, closed or derived, is used to build it)
    against the seed's product written out, −tᵀ(I − 1 sᵀ).

    The seed then writes sᵀ − tᵀ, which holds when Σ t = 1.
    """
    x, t, s = logits(n), upstream(n, "t"), softmax(n)
    loss = -sp.Add(*[t[i] * sp.log(s[i]) for i in range(n)])
    composed = sp.ImmutableMatrix([[sp.diff(loss, xi) for xi in x]])
    seed = -t.T * (sp.eye(n) - sp.ones(n, 1) * s.T)
    return composed, sp.ImmutableMatrix(seed)


@cache
def cross_entropy_batch(b: int, n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(∇_X of the batch-mean cross-entropy from sympy, the closed form (S − T)/B).

    Each target row is made a distribution by construction: t_{b,n−1} = 1 − Σ_{j<n−1} t_{b,j}.
    """
    rows_x, rows_t, rows_s = [], [], []
    for r in range(b):
        x = sp.symbols(f"x{r}_0:{n}", real=True)
        free = sp.symbols(f"t{r}_0:{n - 1}", real=True)
        t = [*free, 1 - sp.Add(*free)]
        e = [sp.exp(xi) for xi in x]
        rows_x.append(x)
        rows_t.append(t)
        rows_s.append([ei / sp.Add(*e) for ei in e])
    loss = sp.Rational(1, b) * sum(
        -rows_t[r][j] * sp.log(rows_s[r][j]) for r in range(b) for j in range(n)
    )
    derived = sp.ImmutableMatrix(b, n, lambda r, j: sp.diff(loss, rows_x[r][j]))
    closed = sp.ImmutableMatrix(b, n, lambda r, j: (rows_s[r][j] - rows_t[r][j]) / b)
    return derived, closed


@cache
def true_softmax(n: int) -> tuple[sp.Expr, sp.Symbol]:
    r"""(ν_β(x) = (1/β) log Σ exp(β x_i), β)."""
    beta = sp.Symbol("beta", positive=True)
    return sp.log(sp.Add(*[sp.exp(beta * xi) for xi in logits(n)])) / beta, beta


@cache
def true_softmax_gradient(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix, sp.Symbol]:
    """(∇ν_β from sympy, softmax(βx), β)."""
    nu, beta = true_softmax(n)
    derived = sp.ImmutableMatrix([sp.diff(nu, xi) for xi in logits(n)])
    return derived, softmax(n, beta), beta


def true_softmax_excess(n: int, k: int) -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    r"""(exp(β(ν_β(x) − x_k)) expanded by sympy, 1 + Σ_{i≠k} exp(β(x_i − x_k)), β).

    Both sides are exponentiated (exp is injective) so the identity is a rational function of
    exponentials and can be checked exactly. With x_k the maximum every term of the sum lies in
    (0, 1], so exp(β(ν_β − max x)) ∈ [1, n], i.e. 0 ≤ ν_β − max x ≤ (log n)/β: the seed's
    argument for (a).
    """
    nu, beta = true_softmax(n)
    x = logits(n)
    derived = sp.expand(sp.exp(sp.expand(beta * (nu - x[k]))))
    rest = sp.Add(*[sp.exp(beta * (x[i] - x[k])) for i in range(n) if i != k])
    return derived, 1 + rest, beta


def true_softmax_gradient_limit(xs: tuple[sp.Rational, ...]) -> sp.ImmutableMatrix:
    """lim_{β→∞} ∇ν_β(x) computed by sympy's ``limit`` at the given rational x.

    With q the common denominator of x, β = q log T (T → ∞ exactly when β → ∞) turns every
    exp(β x_i) into the integer power T^{q x_i}: sympy takes the limit of a rational function
    of T, a few times faster than Gruntz's algorithm on the sum of exponentials."""
    derived, _, beta = true_softmax_gradient(len(xs))
    subs = dict(zip(logits(len(xs)), xs, strict=True))
    q = math.lcm(*(sp.Rational(x).q for x in xs))
    t = sp.Symbol("T", positive=True)
    return sp.ImmutableMatrix([sp.limit(g.xreplace(subs).subs(beta, q * sp.log(t)), t, sp.oo)
                               for g in derived])


@cache
def log_sum_exp_shift(n: int) -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    """exp of both sides of log Σ exp(x_i) = m + log Σ exp(x_i − m), expanded by sympy, and m.

    The identity that lets the kernels subtract the row maximum m without changing the value.
    """
    m = sp.Symbol("m", real=True)
    x = logits(n)
    lhs = sp.log(sp.Add(*[sp.exp(xi) for xi in x]))
    rhs = m + sp.log(sp.Add(*[sp.exp(xi - m) for xi in x]))
    return sp.expand(sp.exp(lhs)), sp.expand(sp.exp(rhs)), m
