r"""The Jacobian of a deep tanh network: the chain rule, and the operation-count model of
reverse and forward mode.

Source: ``002_f6a45d0186751a72.txt`` Problem 2 (exercises 4–7; notebook Question 2,
exercises 2.(a)–(c)). The network is

.. math:: f(x) = W_F \tanh(W_L \tanh(\cdots \tanh(W_1 x))),

:math:`W_1 \in \mathbb R^{K\times D}`, :math:`W_i \in \mathbb R^{K\times K}` (i = 2..L),
:math:`W_F \in \mathbb R^{P\times K}`; :math:`z_1 = W_1 x`, :math:`h_i = \tanh z_i`,
:math:`z_{i+1} = W_{i+1} h_i`, :math:`s_i = 1 - h_i^2`.

**Cost convention** (the problem's, exercise 2.(d)): a product of an :math:`M_1\times M_2` by
an :math:`M_2\times M_3` matrix costs :math:`M_1 M_2 M_3` multiply-adds. The model counts the
products each mode performs, in the order the kernels in ``impl/jacobian.py`` perform them:

- primal (the pre-activations :math:`z_1 … z_L`, which *both* modes need for the
  :math:`s_i`): :math:`W_1 x`, then :math:`W_i h_{i-1}` for i = 2..L;
- reverse: :math:`G = W_F \operatorname{diag}(s_L)` (a scaling), then :math:`G W_i`
  (P×K by K×K) for i = L..2, then :math:`G W_1` (P×K by K×D);
- forward: :math:`T = W_1`, then :math:`W_i (\operatorname{diag}(s_{i-1}) T)` (K×K by K×D)
  for i = 2..L, then :math:`W_F (\operatorname{diag}(s_L) T)` (P×K by K×D).

A ``diag(s)`` factor is a scaling, not a product: reverse mode scales L blocks of P×K
entries, forward mode L blocks of K×D entries (multiplications, listed separately and not
included in the multiply-add totals). One plain evaluation of f costs the primal plus
:math:`W_F h_L` (PK).

The seed's own kernels multiply by dense ``torch.diag`` matrices; that method (implemented in
``impl/jacobian.py`` as ``dense_diag_reverse`` / ``dense_diag_forward``) is modelled too, so
the benchmark can show what the dense diagonal costs (K³ per layer in forward mode).

**Per-layer widths and the optimal order.** With W_1 ∈ ℝ^{K_1×D}, W_i ∈ ℝ^{K_i×K_{i−1}},
W_F ∈ ℝ^{P×K_L}, the Jacobian is the chain W_F D_L W_L ⋯ D_1 W_1 of L + 1 matrices (the D_i
diagonal, folded into the products as scalings). Every full bracketing of the chain is a way
to accumulate it; reverse mode is the left-deep bracketing, forward mode the right-deep one.
:func:`bracketings` enumerates all of them (Catalan(L) for L + 1 factors) by splitting at
every position, and :func:`bracketing_cost` gives the multiply-adds of one as a sympy
polynomial in D, K_1 … K_L, P. The kernels' dynamic programme (``impl/jacobian.py``,
``accumulation_plan``) must find the minimum of these; the tests compare the two.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_002 = "002_f6a45d0186751a72.txt"

D, K, P, L = sp.symbols("D K P L", integer=True, positive=True)
M = sp.Symbol("M", integer=True, positive=True)
_i = sp.Symbol("i", integer=True, positive=True)


def _products(*terms: tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr | None]) -> sp.Expr:
    """Total multiply-adds of a sequence of products; each term is (M1, M2, M3, repeat),
    repeat = None for a single product or the symbolic count of a loop over layers."""
    total = sp.Integer(0)
    for m1, m2, m3, repeat in terms:
        total += m1 * m2 * m3 * (1 if repeat is None else repeat)
    return sp.expand(total)


# The loop over layers i = 2..L runs L − 1 times: Sum(1, (i, 2, L)).
_LOOP = sp.Sum(1, (_i, 2, L)).doit()

#: The primal pre-activations z_1 … z_L (both modes need them).
PRIMAL = _products((K, D, 1, None), (K, K, 1, _LOOP))
#: One plain evaluation of f: the primal plus W_F h_L.
EVALUATION = sp.expand(PRIMAL + _products((P, K, 1, None)))
#: Products of the reverse sweep: G W_i (P×K·K×K) for i = L..2, then G W_1 (P×K·K×D).
REVERSE_SWEEP = _products((P, K, K, _LOOP), (P, K, D, None))
#: Products of the forward sweep: W_i T (K×K·K×D) for i = 2..L, then W_F T (P×K·K×D).
FORWARD_SWEEP = _products((K, K, D, _LOOP), (P, K, D, None))
#: Total multiply-adds of each mode (what FlopCounterMode sees in our kernels, divided by 2).
REVERSE = sp.expand(PRIMAL + REVERSE_SWEEP)
FORWARD = sp.expand(PRIMAL + FORWARD_SWEEP)
#: Elementwise multiplications by s_i (not multiply-adds; listed for completeness).
REVERSE_SCALINGS = L * P * K
FORWARD_SCALINGS = L * K * D
#: Predicted ratio forward / reverse.
RATIO = FORWARD / REVERSE

#: The dense-diagonal method of the seed's kernels (notebook 2.(a), 2.(b)), as implemented in
#: impl.jacobian.dense_diag_reverse / dense_diag_forward (primal, then the products in the
#: seed's order; the seed's kernels also evaluated f, which ours do not). Reverse:
#: (W_F Diag) PK², then per layer (G W_i) PK² and (· Diag) PK², then G W_1 PKD. Forward: per
#: layer (W_i Diag) K³ then (· T) K²D, then (W_F Diag) PK² and (· T) PKD.
DENSE_DIAG_REVERSE = sp.expand(
    PRIMAL + _products((P, K, K, None), (P, K, K, 2 * _LOOP), (P, K, D, None))
)
DENSE_DIAG_FORWARD = sp.expand(
    PRIMAL + _products((K, K, K, _LOOP), (K, K, D, _LOOP), (P, K, K, None), (P, K, D, None))
)


def cost(expr: sp.Expr, d: int, k: int, p: int, layers: int) -> int:
    """A cost formula at integer sizes."""
    return int(expr.subs({D: d, K: k, P: p, L: layers}))


# ---------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------

CHAIN_RULE = claim(
    "jacobian.chain_rule",
    source=f"{SEED_002} Problem 2, exercises 4–5 (notebook 2.(a), 2.(b))",
    statement="The Jacobian of the tanh network is W_F diag(s_L) W_L ⋯ W_2 diag(s_1) W_1 with "
              "s_i = 1 − tanh²(z_i); reverse mode multiplies it from the left, forward mode "
              "from the right.",
    formula=lambda: sp.Eq(
        sp.Symbol(r"\frac{\partial f}{\partial x}"),
        sp.Symbol(r"W_F \operatorname{diag}(s_L) W_L \cdots W_2 \operatorname{diag}(s_1) W_1"),
    ),
    witnesses=("symbolic", "autograd"),
)
REVERSE_COST = claim(
    "jacobian.reverse_cost",
    source=f"{SEED_002} Problem 2, exercise 7 (notebook 2.(d) convention)",
    statement="Reverse mode costs the primal KD + (L−1)K² plus (L−1)PK² + PKD multiply-adds.",
    formula=lambda: sp.Eq(sp.Symbol("C_{rev}"), REVERSE),
    witnesses=("symbolic", "implementation"),
)
FORWARD_COST = claim(
    "jacobian.forward_cost",
    source=f"{SEED_002} Problem 2, exercise 7 (notebook 2.(d) convention)",
    statement="Forward mode costs the same primal plus (L−1)K²D + PKD multiply-adds.",
    formula=lambda: sp.Eq(sp.Symbol("C_{fwd}"), FORWARD),
    witnesses=("symbolic", "implementation"),
)
DENSE_DIAG_COST = claim(
    "jacobian.dense_diag_cost",
    source=f"{SEED_002} notebook 2.(a), 2.(b) (the seed's method)",
    statement="Multiplying by dense diagonal matrices, as the seed's kernels do, costs "
              "C_diag,rev and C_diag,fwd (forward: K³ per layer for W_i·Diag(s)).",
    formula=lambda: sp.Tuple(sp.Eq(sp.Symbol("C_{diag,rev}"), DENSE_DIAG_REVERSE),
                             sp.Eq(sp.Symbol("C_{diag,fwd}"), DENSE_DIAG_FORWARD)),
    witnesses=("implementation",),
)
CROSSOVER = claim(
    "jacobian.crossover",
    source=f"{SEED_002} Problem 2, exercise 7",
    statement="C_fwd − C_rev = (L−1)K²(D − P): forward mode is cheaper exactly when D < P, "
              "reverse when D > P; they tie at D = P or L = 1. The primal is common to both.",
    formula=lambda: sp.Eq(FORWARD - REVERSE, (L - 1) * K**2 * (D - P)),
    witnesses=("symbolic",),
)
EX7_ORDERS_AS_WRITTEN = claim(
    "jacobian.ex7_orders_as_written",
    source=f"{SEED_002} Problem 2, exercise 7",
    statement="'Backward results in M² multiply operations and forward results in M³', "
              "read in the seed's own setting of (b) and (c): D = K = M, P = 1 and the depths "
              "L ∈ {3, 5, 10} of its benchmark (notebook 2.(c)). Holds there (C_rev = 2LM², "
              "C_fwd = (L−1)M³ + (L+1)M²); L = 1, where both are 2M², is outside the seed's "
              "statement.",
    formula=lambda: sp.Tuple(
        sp.Eq(sp.Symbol(r"\deg_M C_{rev}(M, M, 1, L)"), 2),
        sp.Eq(sp.Symbol(r"\deg_M C_{fwd}(M, M, 1, L)"), 3),
        sp.Contains(L, sp.FiniteSet(3, 5, 10)),
    ),
    witnesses=("symbolic",),
)
EX7_ORDERS = claim(
    "jacobian.ex7_orders",
    source=f"{SEED_002} Problem 2, exercise 7 (corrected)",
    statement="With D = K = M and P = 1: reverse mode costs exactly 2LM² and forward mode "
              "(L−1)M³ + (L+1)M²; so M² against M³ for L ≥ 2, but both M² (2M²) at L = 1.",
    formula=lambda: sp.Tuple(
        sp.Eq(REVERSE.subs({D: M, K: M, P: 1}), 2 * L * M**2),
        sp.Eq(FORWARD.subs({D: M, K: M, P: 1}), (L - 1) * M**3 + (L + 1) * M**2),
    ),
    witnesses=("symbolic",),
)
EX7_PRIMAL_AS_WRITTEN = claim(
    "jacobian.ex7_primal_explains_small_case_as_written",
    source=f"{SEED_002} Problem 2, exercise 7",
    statement="At D = 2, K = 30, P = 10 'the difference is not much and forward could be "
              "faster, due backward need to perform a forward pass at first': reverse costs "
              "forward's products plus the primal.",
    formula=lambda: sp.Eq(REVERSE - FORWARD, PRIMAL),
    verdict="refuted",
    corrected_by="jacobian.crossover",
    witnesses=("symbolic",),
)


# ---------------------------------------------------------------------------------------
# Builders (cached per size): what sympy derives, and the closed form
# ---------------------------------------------------------------------------------------


@cache
def chain_rule_case(d: int, k: int, p: int, layers: int) -> tuple[sp.Matrix, sp.Matrix]:
    """(sympy's Jacobian of f, the chain-rule product) with symbolic x and weights."""
    x = sp.Matrix(sp.symbols(f"x0:{d}"))
    Ws = [sp.Matrix(k, d, sp.symbols(f"a1_0:{k * d}"))]
    Ws += [sp.Matrix(k, k, sp.symbols(f"a{i}_0:{k * k}")) for i in range(2, layers + 1)]
    WF = sp.Matrix(p, k, sp.symbols(f"f0:{p * k}"))
    h, zs = x, []
    for W in Ws:
        z = W * h
        zs.append(z)
        h = z.applyfunc(sp.tanh)
    derived = (WF * h).jacobian(x)

    def scale(z: sp.Matrix) -> sp.Matrix:
        return sp.diag(*[1 - sp.tanh(zj) ** 2 for zj in z])

    chain = WF * scale(zs[-1])
    for W, z in zip(reversed(Ws[1:]), reversed(zs[:-1]), strict=True):
        chain = chain * W * scale(z)
    return derived, chain * Ws[0]


# ---------------------------------------------------------------------------------------
# Per-layer widths: the chain, its bracketings and their costs
# ---------------------------------------------------------------------------------------

#: A bracketing: a key name (one factor) or a pair (left, right) of bracketings.
Order = str | tuple


@cache
def widths_symbols(layers: int) -> tuple[sp.Symbol, ...]:
    """(D, K_1, …, K_L, P) as positive integer symbols (D and P shared with the uniform
    formulas)."""
    Ks = sp.symbols(f"K_1:{layers + 1}", integer=True, positive=True)
    return (D, *Ks, P)


def factor_names(layers: int) -> tuple[str, ...]:
    """The chain's factors in written order: W_F, W_L, …, W_1."""
    return ("WF", *(f"W{i}" for i in range(layers, 0, -1)))


def factor_shapes(widths: tuple) -> dict[str, tuple]:
    """name -> (rows, cols): W_1 is K_1×D, W_i is K_i×K_(i−1), W_F is P×K_L."""
    layers = len(widths) - 2
    shapes = {f"W{i}": (widths[i], widths[i - 1]) for i in range(1, layers + 1)}
    shapes["WF"] = (widths[-1], widths[-2])
    return shapes


@cache
def bracketings(names: tuple[str, ...]) -> tuple[Order, ...]:
    """Every full bracketing of the product of ``names`` (in this order): split after each
    position, bracket both sides every way. Catalan(n − 1) of them for n factors."""
    if len(names) == 1:
        return (names[0],)
    out = []
    for k in range(1, len(names)):
        out += [(a, b) for a in bracketings(names[:k]) for b in bracketings(names[k:])]
    return tuple(out)


def bracketing_cost(order: Order, shapes: dict[str, tuple]) -> sp.Expr:
    """Multiply-adds of a bracketing: each product of an M1×M2 by an M2×M3 block costs
    M1·M2·M3 (the problem's convention); the diagonal factors are scalings, not counted."""

    def walk(o):
        if isinstance(o, str):
            return (*shapes[o], sp.Integer(0))
        (r1, c1, x1), (r2, c2, x2) = walk(o[0]), walk(o[1])
        if c1 != r2 and not (isinstance(c1, sp.Basic) or isinstance(r2, sp.Basic)):
            raise ValueError(f"factors do not chain: {c1} columns against {r2} rows")
        return r1, c2, x1 + x2 + r1 * c1 * c2

    return sp.expand(walk(order)[2])


def left_deep(names: tuple[str, ...]) -> Order:
    """Reverse mode: ((…(WF·WL)·…)·W1)."""
    order: Order = names[0]
    for n in names[1:]:
        order = (order, n)
    return order


def right_deep(names: tuple[str, ...]) -> Order:
    """Forward mode: WF·(WL·(…·(W2·W1)))."""
    order: Order = names[-1]
    for n in reversed(names[:-1]):
        order = (n, order)
    return order


def primal_cost(widths: tuple) -> sp.Expr:
    """The primal pass z_i = W_i h_(i−1): Σ_i K_i K_(i−1) (K_0 = D)."""
    return sp.expand(sum(widths[i] * widths[i - 1] for i in range(1, len(widths) - 1)))


def reverse_cost_per_layer(widths: tuple) -> sp.Expr:
    """C_rev = primal + Σ_{i=2}^{L} P K_i K_(i−1) + P K_1 D, written out (not from a
    bracketing)."""
    layers, p = len(widths) - 2, widths[-1]
    return sp.expand(primal_cost(widths) + sum(p * widths[i] * widths[i - 1]
                                               for i in range(2, layers + 1))
                     + p * widths[1] * widths[0])


def forward_cost_per_layer(widths: tuple) -> sp.Expr:
    """C_fwd = primal + Σ_{i=2}^{L} K_i K_(i−1) D + P K_L D, written out."""
    layers, d = len(widths) - 2, widths[0]
    return sp.expand(primal_cost(widths) + sum(widths[i] * widths[i - 1] * d
                                               for i in range(2, layers + 1))
                     + widths[-1] * widths[-2] * d)


@cache
def bracketing_cost_table(layers: int) -> tuple[tuple[Order, ...], object]:
    """(every bracketing of the L + 1 factors, one numpy function of (D, K_1, …, K_L, P)
    returning the vector of their costs), lambdified once per L."""
    w = widths_symbols(layers)
    orders = bracketings(factor_names(layers))
    shapes = factor_shapes(w)
    costs = [bracketing_cost(o, shapes) for o in orders]
    return orders, sp.lambdify(w, costs, "math")


PER_LAYER_COST = claim(
    "jacobian.per_layer_cost",
    source=f"{SEED_002} Problem 2 (d) convention, per-layer widths (our generalisation)",
    statement="With W_1: K_1×D, W_i: K_i×K_(i−1), W_F: P×K_L, reverse mode costs "
              "Σ K_iK_(i−1) + Σ_{i≥2} P K_i K_(i−1) + P K_1 D and forward mode "
              "Σ K_iK_(i−1) + Σ_{i≥2} K_i K_(i−1) D + P K_L D multiply-adds; the left-deep "
              "and right-deep bracketings of the chain; C_rev, C_fwd at K_i = K.",
    formula=lambda: sp.Tuple(
        sp.Eq(sp.Symbol("C_{rev}(L=3)"), reverse_cost_per_layer(widths_symbols(3))),
        sp.Eq(sp.Symbol("C_{fwd}(L=3)"), forward_cost_per_layer(widths_symbols(3)))),
    witnesses=("symbolic", "implementation"),
)
OPTIMAL_ORDER = claim(
    "jacobian.optimal_order",
    source=f"{SEED_002} Problem 2 (d) convention, per-layer widths (our generalisation; "
           "the matrix-chain problem)",
    statement="The matrix-chain dynamic programme (impl accumulation_plan) returns a "
              "bracketing of W_F D_L W_L ⋯ D_1 W_1 whose cost is the minimum over all "
              "Catalan(L) bracketings, hence never above reverse or forward mode.",
    formula=lambda: sp.Eq(sp.Symbol("C_{opt}"),
                          sp.Symbol(r"\min_{b \in \mathcal{B}(W_F, W_L, \dots, W_1)} C(b)")),
    witnesses=("symbolic", "implementation"),
)
OPTIMAL_JACOBIAN = claim(
    "jacobian.optimal_jacobian",
    source=f"{SEED_002} Problem 2, exercises 4–5 (any bracketing of the chain)",
    statement="Accumulating the chain in the optimal bracketing, each diag(s_i) folded into "
              "its product as a row or column scaling, gives the Jacobian: jacobian_optimal "
              "equals torch.func.jacrev for any per-layer widths.",
    witnesses=("autograd",),
)
