r"""Batch normalisation in sympy: the backward formula and folding BN into the layer before it.

Sources: ``004_a5042f8004da492f.txt`` §3.2 a (the backward pass of batch norm, formulas (1)–(5))
and ``001_d80f36ddf3b5193b.txt`` Problem 3 (removing BN after training).

For one neuron and a batch of m values x_1 … x_m (m drawn by Hypothesis in the tests):

.. math::
    \mu = \tfrac1m \sum_i x_i,\quad \sigma^2 = \tfrac1m \sum_i (x_i-\mu)^2\ \text{(biased)},\quad
    \hat x_i = \frac{x_i-\mu}{\sqrt{\sigma^2+\varepsilon}},\quad y_i = \gamma\hat x_i + \beta,

and the loss is the linear functional :math:`L = \sum_i g_i y_i` with g = ∂L/∂y the upstream
gradient (any loss has this first-order form, so its gradients are the VJPs of batch norm).

Every builder returns (what sympy derives from the forward expression, the seed's closed form).
The derivative on the left is always sympy's own ``diff`` of L with μ and σ² written out as
functions of x.

**The inverse-standard-deviation symbol.** ``with_inverse_std`` replaces the one subexpression
:math:`\sigma^2(x)+\varepsilon` by :math:`r^{-2}` with r a positive symbol, *after* sympy has
differentiated. That is a substitution of equals (r = (σ²+ε)^{-1/2} exactly), so an identity
that holds after it holds before it; it turns the square roots into powers of r, and the exact
checker then proves an identity of rational functions in (x, g, γ, r), which is stronger (it
holds for every r > 0, not only the one tied to x) and fast for m ≤ 6. The function asserts
that no square root of an expression in x survives, so nothing escapes the substitution. The
tests also prove the same identities with the square roots left in, for m ≤ 3 (the exact checker
handles square roots of rationals through minimal polynomials).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_004 = "004_a5042f8004da492f.txt"
SEED_001 = "001_d80f36ddf3b5193b.txt"

# Scalar symbols shared by every size.
GAMMA = sp.Symbol("gamma", real=True)
BETA = sp.Symbol("beta", real=True)
EPS = sp.Symbol("epsilon", positive=True)
R = sp.Symbol("r", positive=True)  # stands for 1/sqrt(sigma^2 + epsilon), see the docstring

# Index-notation symbols used only to render the statements.
_i, _j, _m = sp.symbols("i j m", integer=True, positive=True)
_x, _g, _xh = sp.IndexedBase("x"), sp.IndexedBase("g"), sp.IndexedBase(r"\hat{x}")
_mu, _var = sp.Symbol(r"\mu"), sp.Symbol(r"\sigma^2")
_L = sp.Symbol("L")
_sd = sp.sqrt(_var + EPS)

FORWARD = claim(
    "batchnorm.forward",
    witnesses=("implementation",),
    source=f"{SEED_004} §3.1 (biased variance, as torch's training mode)",
    statement="Training-mode batch norm per neuron: y = γ(x − μ)/√(σ²+ε) + β with the batch "
    "mean and the biased batch variance (= torch.nn.functional.batch_norm, training=True).",
    formula=lambda: sp.Eq(sp.Indexed("y", _i), GAMMA * (_x[_i] - _mu) / _sd + BETA),
)
STATISTICS = claim(
    "batchnorm.normalised_statistics",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_004} §3.1",
    statement="Before the affine step each neuron has batch mean 0 and biased variance "
    "σ²/(σ²+ε) (1 up to the ε-effect).",
    formula=lambda: sp.And(
        sp.Eq(sp.Sum(_xh[_i], (_i, 1, _m)) / _m, 0),
        sp.Eq(sp.Sum(_xh[_i] ** 2, (_i, 1, _m)) / _m, _var / (_var + EPS)),
    ),
)
AFFINE = claim(
    "batchnorm.affine_gradients",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §3.2 a",
    statement="∂L/∂γ = Σ_i g_i x̂_i and ∂L/∂β = Σ_i g_i.",
    formula=lambda: sp.And(
        sp.Eq(sp.Derivative(_L, GAMMA), sp.Sum(_g[_i] * _xh[_i], (_i, 1, _m))),
        sp.Eq(sp.Derivative(_L, BETA), sp.Sum(_g[_i], (_i, 1, _m))),
    ),
)
MEAN_GRADIENT = claim(
    "batchnorm.mean_gradient",
    witnesses=("symbolic",),
    source=f"{SEED_004} §3.2 a, (1)–(2)",
    statement="In the chain rule through μ the σ²-term carries Σ_i −2(x_i − μ)/m = 0, so "
    "∂L/∂μ = −Σ_i (∂L/∂x̂_i)/√(σ²+ε).",
    formula=lambda: sp.And(
        sp.Eq(sp.Sum(-2 * (_x[_i] - _mu), (_i, 1, _m)) / _m, 0),
        sp.Eq(sp.Derivative(_L, _mu),
              -sp.Sum(sp.Derivative(_L, _xh[_i]), (_i, 1, _m)) / _sd),
    ),
)
CHAIN = claim(
    "batchnorm.chain_rule_terms",
    witnesses=("symbolic",),
    source=f"{SEED_004} §3.2 a, (3) (after Ioffe & Szegedy 2015)",
    statement="∂L/∂x_i = (∂L/∂x̂_i)/√(σ²+ε) + (∂L/∂σ²)·2(x_i − μ)/m + (∂L/∂μ)/m, with "
    "∂L/∂σ² = −½ Σ_j (∂L/∂x̂_j)(x_j − μ)(σ²+ε)^{−3/2}.",
    formula=lambda: sp.Eq(
        sp.Derivative(_L, _x[_i]),
        sp.Derivative(_L, _xh[_i]) / _sd
        + sp.Derivative(_L, _var) * 2 * (_x[_i] - _mu) / _m
        + sp.Derivative(_L, _mu) / _m,
    ),
)
INPUT_GRADIENT = claim(
    "batchnorm.input_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_004} §3.2 a, (5)",
    statement="The seed's formula (5): ∂L/∂x_i = γ/(m√(σ²+ε)) (m g_i − Σ_j g_j − x̂_i Σ_j g_j x̂_j).",
    formula=lambda: sp.Eq(
        sp.Derivative(_L, _x[_i]),
        GAMMA / (_m * _sd) * (_m * _g[_i] - sp.Sum(_g[_j], (_j, 1, _m))
                              - _xh[_i] * sp.Sum(_g[_j] * _xh[_j], (_j, 1, _m))),
    ),
)
ISSUE_4 = "issue 4 (the suite's own statement, derived from (5))"
SUMS_TO_ZERO = claim(
    "batchnorm.input_gradient_sums_to_zero",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_004} §3.2 a, consequence of (5)",
    statement="Σ_i ∂L/∂x_i = 0: the input gradient is orthogonal to shifting the batch "
    "(batch norm is shift-invariant).",
    formula=lambda: sp.Eq(sp.Sum(sp.Derivative(_L, _x[_i]), (_i, 1, _m)), 0),
)
ALONG_XHAT = claim(
    "batchnorm.input_gradient_along_xhat",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_004} §3.2 a, consequence of (5)",
    statement="Σ_i x̂_i ∂L/∂x_i = γ ε (σ²+ε)^{−3/2} Σ_j g_j x̂_j: the gradient is orthogonal to "
    "scaling the batch only when ε = 0 (ε breaks the scale invariance).",
    formula=lambda: sp.Eq(
        sp.Sum(_xh[_i] * sp.Derivative(_L, _x[_i]), (_i, 1, _m)),
        GAMMA * EPS / _sd**3 * sp.Sum(_g[_j] * _xh[_j], (_j, 1, _m)),
    ),
)
ORTHOGONAL_TO_XHAT = claim(
    "batchnorm.input_gradient_orthogonal_to_xhat",
    witnesses=("symbolic",),
    source=ISSUE_4,
    statement="As stated in issue 4: Σ_i x̂_i ∂L/∂x_i = 0 (the gradient is orthogonal to "
    "scalings of the batch). False for ε > 0.",
    formula=lambda: sp.Eq(sp.Sum(_xh[_i] * sp.Derivative(_L, _x[_i]), (_i, 1, _m)), 0),
    verdict="refuted",
    corrected_by="batchnorm.input_gradient_along_xhat",
)

_w, _xin, _b = sp.IndexedBase("w"), sp.IndexedBase("x"), sp.Symbol("b")
_k, _K = sp.symbols("k K", integer=True, positive=True)
FOLD = claim(
    "batchnorm.fold_into_preceding_layer",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_001} Problem 3",
    statement="Eval-mode BN after a linear or conv layer (W, b) is the single layer "
    "W' = W·γ/√(σ²+ε) (per output channel), b' = (b − μ)·γ/√(σ²+ε) + β (running μ, σ²).",
    formula=lambda: sp.Eq(
        GAMMA * (sp.Sum(_w[_k] * _xin[_k], (_k, 1, _K)) + _b - _mu) / _sd + BETA,
        sp.Sum(GAMMA * _w[_k] / _sd * _xin[_k], (_k, 1, _K)) + (_b - _mu) * GAMMA / _sd + BETA,
    ),
)


# --------------------------------------------------------------------------- builders


@cache
def inputs(m: int) -> sp.ImmutableMatrix:
    """A column of m real symbols x0 … x{m−1}: one neuron over a batch of m."""
    return sp.ImmutableMatrix(sp.symbols(f"x0:{m}", real=True))


@cache
def upstream(m: int) -> sp.ImmutableMatrix:
    """A column of m real symbols g0 … g{m−1}: the upstream gradient ∂L/∂y."""
    return sp.ImmutableMatrix(sp.symbols(f"g0:{m}", real=True))


@cache
def mean(m: int) -> sp.Expr:
    return sp.Add(*inputs(m)) / m


@cache
def variance(m: int) -> sp.Expr:
    """The biased batch variance (1/m) Σ (x_i − μ)²."""
    mu = mean(m)
    return sp.Add(*[(xi - mu) ** 2 for xi in inputs(m)]) / m


@cache
def variance_plus_eps(m: int) -> sp.Expr:
    """σ²(x) + ε: the one subexpression under every square root."""
    return variance(m) + EPS


@cache
def normalised(m: int) -> sp.ImmutableMatrix:
    r"""x̂_i = (x_i − μ)/√(σ² + ε) with μ, σ² written out in x."""
    mu, sd = mean(m), sp.sqrt(variance_plus_eps(m))
    return sp.ImmutableMatrix([(xi - mu) / sd for xi in inputs(m)])


@cache
def loss(m: int) -> sp.Expr:
    """L = Σ g_i (γ x̂_i + β): the upstream gradient contracted with the output."""
    xh, g = normalised(m), upstream(m)
    return sp.Add(*[g[i] * (GAMMA * xh[i] + BETA) for i in range(m)])


def with_inverse_std(expr: sp.Basic, m: int) -> sp.Basic:
    """Replace σ²(x) + ε by r⁻² (r = 1/√(σ²+ε) > 0); assert no root of x survives."""
    out = expr.xreplace({variance_plus_eps(m): R ** -2})
    xs = set(inputs(m))
    left = [p for p in out.atoms(sp.Pow) if p.exp.is_integer is False and p.base.free_symbols & xs]
    if left:
        raise AssertionError(f"substitution σ²+ε → r⁻² missed {left[:3]}")
    return out


@cache
def normalised_statistics(m: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """((1/m) Σ x̂_i, (1/m) Σ x̂_i²) as derived, and the claim (0, σ²/(σ²+ε))."""
    xh = normalised(m)
    derived = sp.ImmutableMatrix([sp.Add(*xh) / m, sp.Add(*[v**2 for v in xh]) / m])
    claimed = sp.ImmutableMatrix([0, variance(m) / variance_plus_eps(m)])
    return derived, claimed


@cache
def affine_gradients(m: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """((∂L/∂γ, ∂L/∂β) by sympy, the seed's (Σ g_i x̂_i, Σ g_i))."""
    L, xh, g = loss(m), normalised(m), upstream(m)
    derived = sp.ImmutableMatrix([sp.diff(L, GAMMA), sp.diff(L, BETA)])
    closed = sp.ImmutableMatrix([sp.Add(*[g[i] * xh[i] for i in range(m)]), sp.Add(*g)])
    return derived, closed


@cache
def input_gradient(m: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    r"""(∂L/∂x by sympy, the seed's formula (5)).

    (5): :math:`\frac{\gamma}{m\sqrt{\sigma^2+\varepsilon}}\big(m g_i - \sum_j g_j
    - \hat x_i \sum_j g_j \hat x_j\big)`, where the seed's :math:`\partial l/\partial\hat x_j`
    is γ g_j (the seed factors γ out).
    """
    L, x, xh, g = loss(m), inputs(m), normalised(m), upstream(m)
    derived = sp.ImmutableMatrix([sp.diff(L, xi) for xi in x])
    sum_g = sp.Add(*g)
    sum_gx = sp.Add(*[g[j] * xh[j] for j in range(m)])
    sd = sp.sqrt(variance_plus_eps(m))
    closed = sp.ImmutableMatrix(
        [GAMMA / (m * sd) * (m * g[i] - sum_g - xh[i] * sum_gx) for i in range(m)]
    )
    return derived, closed


@cache
def mean_gradient(m: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    r"""The seed's (1) and (2), with μ and v = σ² first treated as graph nodes.

    Build :math:`L(\hat x(x, \mu, v))` with free symbols μ, v; the total derivative along μ
    (through x̂ directly and through v(μ) = (1/m)Σ(x_i − μ)²) is
    :math:`\partial L/\partial\mu|_v + \partial L/\partial v \cdot \partial v/\partial\mu`.
    Returns ((∂v/∂μ at μ = mean, that total derivative at μ = mean), (0, the seed's (2):
    −Σ_i (∂L/∂x̂_i)/√(σ²+ε))).
    """
    x, g = inputs(m), upstream(m)
    mu, v = sp.Symbol("mu", real=True), sp.Symbol("v", positive=True)
    xh = [(xi - mu) / sp.sqrt(v + EPS) for xi in x]
    L = sp.Add(*[g[i] * (GAMMA * xh[i] + BETA) for i in range(m)])
    v_of_mu = sp.Add(*[(xi - mu) ** 2 for xi in x]) / m
    dv_dmu = sp.diff(v_of_mu, mu)  # the seed's Σ −2(x_i − μ)/m
    total = sp.diff(L, mu) + sp.diff(L, v) * dv_dmu
    at_batch = {mu: mean(m), v: variance(m)}
    dl_dxh = [g[i] * GAMMA for i in range(m)]
    seed_2 = sp.Add(*[d * (-1) / sp.sqrt(variance_plus_eps(m)) for d in dl_dxh])
    derived = sp.ImmutableMatrix([dv_dmu.xreplace(at_batch), total.xreplace(at_batch)])
    return derived, sp.ImmutableMatrix([0, seed_2])


@cache
def chain_rule_terms(m: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    r"""(∂L/∂x by sympy, the seed's (3) assembled from its three terms)."""
    x, g = inputs(m), upstream(m)
    mu, var = mean(m), variance(m)
    sd = sp.sqrt(variance_plus_eps(m))
    dl_dxh = [g[i] * GAMMA for i in range(m)]
    dl_dvar = sp.Add(*[dl_dxh[j] * (x[j] - mu) for j in range(m)]) * sp.Rational(-1, 2) * (
        var + EPS) ** sp.Rational(-3, 2)
    dl_dmu = sp.Add(*[d * (-1) / sd for d in dl_dxh])  # (2)
    seed_3 = sp.ImmutableMatrix([
        dl_dxh[i] / sd + dl_dvar * 2 * (x[i] - mu) / m + dl_dmu / m for i in range(m)
    ])
    return input_gradient(m)[0], seed_3


@cache
def input_gradient_projections(m: int) -> sp.ImmutableMatrix:
    """(Σ_i ∂L/∂x_i, Σ_i x̂_i ∂L/∂x_i) with ∂L/∂x sympy's own derivative."""
    derived, _ = input_gradient(m)
    xh = normalised(m)
    return sp.ImmutableMatrix([sp.Add(*derived), sp.Add(*[xh[i] * derived[i] for i in range(m)])])


@cache
def input_gradient_along_xhat(m: int) -> tuple[sp.Expr, sp.Expr]:
    """(Σ_i x̂_i ∂L/∂x_i by sympy, the corrected closed form γ ε (σ²+ε)^{-3/2} Σ_j g_j x̂_j)."""
    xh, g = normalised(m), upstream(m)
    closed = GAMMA * EPS / sp.sqrt(variance_plus_eps(m)) ** 3 * sp.Add(
        *[g[j] * xh[j] for j in range(m)])
    return input_gradient_projections(m)[1], closed


def eps_in_terms_of_r(m: int) -> dict[sp.Symbol, sp.Expr]:
    """ε = r⁻² − σ²(x): the definition of r solved for ε, for identities that involve ε and r
    together (a substitution of equals, like ``with_inverse_std``)."""
    return {EPS: R ** -2 - variance(m)}


@cache
def fold(k: int) -> tuple[sp.Expr, sp.Expr, dict[str, sp.Expr]]:
    r"""Eval-mode BN of one output channel of a layer with k inputs per output (a linear row, or a
    conv filter of k = C_in·kh·kw taps at one position), and the folded layer.

    Returns (γ(w·x + b − μ)/√(σ²+ε) + β, w'·x + b', {"weight": w', "bias": b'}) with
    w' = w γ/√(σ²+ε), b' = (b − μ)γ/√(σ²+ε) + β; μ and σ² are running statistics (symbols).
    """
    w = sp.symbols(f"w0:{k}", real=True)
    x = sp.symbols(f"x0:{k}", real=True)
    b, mu = sp.symbols("b mu", real=True)
    var = sp.Symbol("sigma2", positive=True)
    scale = GAMMA / sp.sqrt(var + EPS)
    pre = sp.Add(*[wi * xi for wi, xi in zip(w, x, strict=True)]) + b
    bn = GAMMA * (pre - mu) / sp.sqrt(var + EPS) + BETA
    w_folded = sp.ImmutableMatrix([wi * scale for wi in w])
    b_folded = (b - mu) * scale + BETA
    folded = sp.Add(*[wf * xi for wf, xi in zip(w_folded, x, strict=True)]) + b_folded
    return bn, folded, {"weight": w_folded, "bias": b_folded}
