r"""The two forms of momentum SGD in sympy.

Source: ``000_44446893528eed8a.txt`` Problem 3 (the course's problem statement).

* Form I: :math:`\theta^{k+1} = \theta^k - \alpha g^k + \beta(\theta^k - \theta^{k-1})`,
  with :math:`\theta^{-1} = \theta^0`;
* Form II: :math:`v^{k+1} = g^k + \beta v^k`, :math:`\tilde\theta^{k+1} = \tilde\theta^k -
  \alpha v^{k+1}`, with :math:`v^0 = 0` and :math:`\tilde\theta^0 = \theta^0`.

The gradients :math:`g^0, g^1, \dots \in \mathbb{R}^n` are arbitrary given vectors.

**Vectors.** Both recursions act on each coordinate separately (α, β are scalars), so a
vector of dimension n is n independent copies of the scalar recursion. The builders use an
*explicit* dimension n (a column of n scalar symbols per vector, ``theta0_0 … theta0_{n-1}``,
``g3_0 …``), drawn small by the tests; :func:`forms_matrix_symbols` additionally unrolls both
forms with ``MatrixSymbol`` vectors of *symbolic* dimension for small k.

Every builder is cached per size and returns sympy objects only (no ``impl`` import).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_000 = "000_44446893528eed8a.txt"

alpha, beta = sp.symbols("alpha beta", real=True)

# Index-notation symbols used only to render the statements.
_k, _i, _j = sp.symbols("k i j", integer=True, nonnegative=True)
_theta, _ttheta, _g, _v = (sp.IndexedBase(r"\theta"), sp.IndexedBase(r"\tilde{\theta}"),
                           sp.IndexedBase("g"), sp.IndexedBase("v"))

FORMS_AGREE = claim(
    "momentum.forms_agree",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_000} Problem 3",
    statement="Form I and Form II of momentum SGD produce the same iterates: θ_k = θ̃_k for "
    "every k, every α, β and every gradient sequence (with θ₋₁ = θ₀, v₀ = 0).",
    formula=lambda: sp.Eq(_theta[_k], _ttheta[_k]),
)
INDUCTION_STEP = claim(
    "momentum.induction_step",
    witnesses=("symbolic",),
    source=f"{SEED_000} Problem 3 (induction step)",
    statement="If θ̃_{k−1} = θ_{k−1} and θ̃_k = θ_k then αv_k = αg_{k−1} − β(θ_{k−1} − θ_{k−2}) "
    "and θ̃_{k+1} = θ_{k+1}.",
    formula=lambda: sp.Eq(alpha * _v[_k],
                          alpha * _g[_k - 1] - beta * (_theta[_k - 1] - _theta[_k - 2])),
)
CLOSED_FORM = claim(
    "momentum.closed_form",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_000} Problem 3 (unrolled)",
    statement="θ_k = θ₀ − α Σ_{j<k} (Σ_{i≤k−1−j} βⁱ) g_j for both forms.",
    formula=lambda: sp.Eq(
        _theta[_k],
        _theta[0] - alpha * sp.Sum(sp.Sum(beta**_i, (_i, 0, _k - 1 - _j)) * _g[_j],
                                   (_j, 0, _k - 1)),
    ),
)
TORCH_SGD = claim(
    "momentum.torch_sgd_is_form_two",
    witnesses=("implementation",),
    source=f"{SEED_000} Problem 3 (Form II); torch.optim.SGD",
    statement="torch.optim.SGD(lr=α, momentum=β, dampening=0, nesterov=False) performs Form II "
    "step for step (its buffer is v_{k+1}).",
    formula=lambda: sp.Eq(_ttheta[_k + 1], _ttheta[_k] - alpha * (_g[_k] + beta * _v[_k])),
)
BOUNDARY = claim(
    "momentum.boundary_conventions",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_000} Problem 3 (θ₋₁ = θ₀, v₀ = 0)",
    statement="The equivalence needs both conventions: with θ₋₁ ≠ θ₀ or v₀ = g₀ ≠ 0 (and "
    "β ≠ 0) Form I and Form II differ already at k = 1.",
    formula=lambda: sp.And(sp.Eq(_theta[-1], _theta[0]), sp.Eq(_v[0], 0)),
)


# --------------------------------------------------------------------------- builders


@cache
def vector(name: str, n: int) -> sp.ImmutableMatrix:
    """A column of n real symbols ``name_0 … name_{n−1}`` (one per coordinate)."""
    return sp.ImmutableMatrix(sp.symbols(f"{name}_0:{n}", real=True))


@cache
def theta0(n: int) -> sp.ImmutableMatrix:
    return vector("theta0", n)


@cache
def gradient(j: int, n: int) -> sp.ImmutableMatrix:
    """The given vector g_j (symbols ``g{j}_c``)."""
    return vector(f"g{j}", n)


@cache
def form_one(k: int, n: int, theta_minus_one: sp.ImmutableMatrix | None = None
             ) -> tuple[sp.ImmutableMatrix, ...]:
    r"""Form I iterates (θ_0, …, θ_k); θ_{−1} = θ_0 unless ``theta_minus_one`` is given."""
    prev = theta0(n) if theta_minus_one is None else theta_minus_one
    out = [theta0(n)]
    for j in range(k):
        cur = out[-1]
        nxt = cur - alpha * gradient(j, n) + beta * (cur - prev)
        prev = cur
        out.append(sp.ImmutableMatrix(sp.expand(nxt)))
    return tuple(out)


@cache
def form_two(k: int, n: int, v0: sp.ImmutableMatrix | None = None
             ) -> tuple[tuple[sp.ImmutableMatrix, ...], tuple[sp.ImmutableMatrix, ...]]:
    r"""Form II: ((θ̃_0, …, θ̃_k), (v_0, …, v_k)); v_0 = 0 unless ``v0`` is given."""
    v = [sp.ImmutableMatrix(sp.zeros(n, 1)) if v0 is None else v0]
    th = [theta0(n)]
    for j in range(k):
        v.append(sp.ImmutableMatrix(sp.expand(gradient(j, n) + beta * v[-1])))
        th.append(sp.ImmutableMatrix(sp.expand(th[-1] - alpha * v[-1])))
    return tuple(th), tuple(v)


def closed_form_coefficient(k: int, j: int) -> sp.Expr:
    r"""The weight of g_j in θ_k: :math:`\sum_{i=0}^{k-1-j} \beta^i`."""
    return sp.Add(*[beta**i for i in range(k - j)])


@cache
def closed_form(k: int, n: int) -> sp.ImmutableMatrix:
    r""":math:`\theta_k = \theta_0 - \alpha\sum_{j<k}(\sum_{i\le k-1-j}\beta^i) g_j`."""
    acc = theta0(n)
    for j in range(k):
        acc = acc - alpha * closed_form_coefficient(k, j) * gradient(j, n)
    return sp.ImmutableMatrix(acc)


@cache
def forms(k: int, n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(θ_k by Form I, θ̃_k by Form II), both unrolled by sympy."""
    return form_one(k, n)[k], form_two(k, n)[0][k]


@cache
def induction_step(n: int) -> dict[str, tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]]:
    r"""The seed's induction step as identities in free symbols (valid for every k ≥ 1).

    Free vectors: :math:`a = \theta_{k-2}`, :math:`b = \theta_{k-1}`, :math:`g_{k-1}`,
    :math:`g_k`. Form I gives :math:`\theta_k = b - \alpha g_{k-1} + \beta(b - a)` and
    :math:`\theta_{k+1}`. The hypothesis :math:`\tilde\theta_{k-1} = b`,
    :math:`\tilde\theta_k = \theta_k` and Form II's :math:`\tilde\theta_k = \tilde\theta_{k-1}
    - \alpha v_k` fix :math:`\alpha v_k = b - \theta_k`. Returns, per step of the seed's
    argument, (what the recursions give, what the seed writes):

    * ``"alpha_v_k"``: αv_k = αg_{k−1} − β(θ_{k−1} − θ_{k−2});
    * ``"next_iterate"``: θ̃_{k+1} = θ̃_k − α(g_k + βv_k) equals θ_{k+1}.

    (For k = 1 the same algebra runs with a = θ_{−1} = θ_0 and v_0 = 0: the base case.)
    """
    a, b = vector("thetakm2", n), vector("thetakm1", n)
    g_prev, g_k = vector("gkm1", n), vector("gk", n)
    theta_k = b - alpha * g_prev + beta * (b - a)
    theta_next = theta_k - alpha * g_k + beta * (theta_k - b)
    alpha_v_k = b - theta_k  # Form II with the hypothesis θ̃_{k−1} = b, θ̃_k = θ_k
    seed_alpha_v_k = alpha * g_prev - beta * (b - a)
    ttheta_next = theta_k - alpha * g_k - beta * alpha_v_k  # θ̃_k − αg_k − β(αv_k)
    return {
        "alpha_v_k": (sp.ImmutableMatrix(alpha_v_k), sp.ImmutableMatrix(seed_alpha_v_k)),
        "next_iterate": (sp.ImmutableMatrix(sp.expand(ttheta_next)),
                         sp.ImmutableMatrix(sp.expand(theta_next))),
    }


@cache
def closed_form_induction_step(k: int, n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    r"""The closed form satisfies Form I's recursion: (c_{k+1}, c_k − αg_k + β(c_k − c_{k−1})).

    With c_0 = c_{−1} = θ_0 (the convention), this and the base case prove the closed form for
    every k by induction; the tests check it for drawn k ≥ 1.
    """
    prev = closed_form(k - 1, n) if k >= 1 else theta0(n)
    rhs = closed_form(k, n) - alpha * gradient(k, n) + beta * (closed_form(k, n) - prev)
    return closed_form(k + 1, n), sp.ImmutableMatrix(sp.expand(rhs))


@cache
def boundary_variants(n: int) -> dict[str, tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]]:
    """θ_1 against θ̃_1 when one convention is changed.

    * ``"theta_minus_one"``: θ_{−1} = p (free vector) instead of θ_0: θ_1 gains β(θ_0 − p);
    * ``"v0_is_g0"``: v_0 = g_0 instead of 0 (the planted-bug convention): θ̃_1 gains −αβg_0.
    """
    p = vector("p", n)
    return {
        "theta_minus_one": (form_one(1, n, p)[1], form_two(1, n)[0][1]),
        "v0_is_g0": (form_one(1, n)[1], form_two(1, n, gradient(0, n))[0][1]),
    }


@cache
def forms_matrix_symbols(k: int) -> sp.MatrixExpr:
    """θ_k − θ̃_k with ``MatrixSymbol`` vectors of symbolic dimension n, expanded by sympy.

    Noncommutative expansion is slow (seconds at k = 8), so the tests use it for small k only;
    the explicit-dimension builders cover larger k.
    """
    dim = sp.Symbol("n", integer=True, positive=True)
    t0 = sp.MatrixSymbol("theta0", dim, 1)
    gs = [sp.MatrixSymbol(f"g{j}", dim, 1) for j in range(k)]
    prev, cur = t0, t0
    for j in range(k):
        prev, cur = cur, cur - alpha * gs[j] + beta * (cur - prev)
    tt, v = t0, sp.ZeroMatrix(dim, 1)
    for j in range(k):
        v = gs[j] + beta * v
        tt = tt - alpha * v
    return sp.expand(cur - tt)
