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

The seed's own kernels multiply by dense ``torch.diag`` matrices; their cost is modelled too
(``seed_*``), so the benchmark can show what the ``diag`` costs (K³ per layer in forward mode).
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

#: The seed's kernels (torch.diag products), in the seed's order of evaluation. Both also
#: compute the output W_F h_L (PK). Reverse: (W_F diag) PK², then per layer (G W_i) PK² and
#: (· diag) PK², then G W_1 PKD. Forward: per layer (W_i diag) K³ then (· T) K²D, then
#: (W_F diag) PK² and (· T) PKD.
SEED_REVERSE = sp.expand(
    EVALUATION + _products((P, K, K, None), (P, K, K, 2 * _LOOP), (P, K, D, None))
)
SEED_FORWARD = sp.expand(
    EVALUATION + _products((K, K, K, _LOOP), (K, K, D, _LOOP), (P, K, K, None), (P, K, D, None))
)


def cost(expr: sp.Expr, d: int, k: int, p: int, layers: int) -> int:
    """A cost formula at integer sizes."""
    return int(expr.subs({D: d, K: k, P: p, L: layers}))


# ---------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------

CHAIN_RULE = claim(
    "jacobian.chain_rule",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_002} Problem 2, exercises 4–5 (notebook 2.(a), 2.(b))",
    statement="The Jacobian of the tanh network is W_F diag(s_L) W_L ⋯ W_2 diag(s_1) W_1 with "
              "s_i = 1 − tanh²(z_i); reverse mode multiplies it from the left, forward mode "
              "from the right.",
    formula=lambda: sp.Eq(
        sp.Symbol(r"\frac{\partial f}{\partial x}"),
        sp.Symbol(r"W_F \operatorname{diag}(s_L) W_L \cdots W_2 \operatorname{diag}(s_1) W_1"),
    ),
)
REVERSE_COST = claim(
    "jacobian.reverse_cost",
    witnesses=("implementation",),
    source=f"{SEED_002} Problem 2, exercise 7 (notebook 2.(d) convention)",
    statement="Reverse mode costs the primal KD + (L−1)K² plus (L−1)PK² + PKD multiply-adds.",
    formula=lambda: sp.Eq(sp.Symbol("C_{rev}"), REVERSE),
)
FORWARD_COST = claim(
    "jacobian.forward_cost",
    witnesses=("implementation",),
    source=f"{SEED_002} Problem 2, exercise 7 (notebook 2.(d) convention)",
    statement="Forward mode costs the same primal plus (L−1)K²D + PKD multiply-adds.",
    formula=lambda: sp.Eq(sp.Symbol("C_{fwd}"), FORWARD),
)
SEED_KERNEL_COST = claim(
    "jacobian.seed_kernel_cost",
    witnesses=("implementation",),
    source=f"{SEED_002} notebook 2.(a), 2.(b)",
    statement="The seed's kernels, multiplying by dense torch.diag matrices, cost "
              "C_seed,rev and C_seed,fwd (forward: K³ per layer for W_i·diag).",
    formula=lambda: sp.Tuple(sp.Eq(sp.Symbol("C_{seed,rev}"), SEED_REVERSE),
                             sp.Eq(sp.Symbol("C_{seed,fwd}"), SEED_FORWARD)),
)
CROSSOVER = claim(
    "jacobian.crossover",
    witnesses=("symbolic",),
    source=f"{SEED_002} Problem 2, exercise 7",
    statement="C_fwd − C_rev = (L−1)K²(D − P): forward mode is cheaper exactly when D < P, "
              "reverse when D > P; they tie at D = P or L = 1. The primal is common to both.",
    formula=lambda: sp.Eq(FORWARD - REVERSE, (L - 1) * K**2 * (D - P)),
)
EX7_ORDERS_AS_WRITTEN = claim(
    "jacobian.ex7_orders_as_written",
    witnesses=("symbolic",),
    source=f"{SEED_002} Problem 2, exercise 7",
    statement="'Backward results in M² multiply operations and forward results in M³' "
              "(read with D = K = M, P = 1, any depth L ≥ 1).",
    formula=lambda: sp.Tuple(
        sp.Eq(sp.Symbol(r"\deg_M C_{rev}(M, M, 1, L)"), 2),
        sp.Eq(sp.Symbol(r"\deg_M C_{fwd}(M, M, 1, L)"), 3),
    ),
    verdict="refuted",
    corrected_by="jacobian.ex7_orders",
)
EX7_ORDERS = claim(
    "jacobian.ex7_orders",
    witnesses=("symbolic",),
    source=f"{SEED_002} Problem 2, exercise 7 (corrected)",
    statement="With D = K = M and P = 1: reverse mode costs exactly 2LM² and forward mode "
              "(L−1)M³ + (L+1)M²; so M² against M³ for L ≥ 2, but both M² (2M²) at L = 1.",
    formula=lambda: sp.Tuple(
        sp.Eq(REVERSE.subs({D: M, K: M, P: 1}), 2 * L * M**2),
        sp.Eq(FORWARD.subs({D: M, K: M, P: 1}), (L - 1) * M**3 + (L + 1) * M**2),
    ),
)
EX7_PRIMAL_AS_WRITTEN = claim(
    "jacobian.ex7_primal_explains_small_case_as_written",
    witnesses=("symbolic",),
    source=f"{SEED_002} Problem 2, exercise 7",
    statement="At D = 2, K = 30, P = 10 'the difference is not much and forward could be "
              "faster, due backward need to perform a forward pass at first': reverse costs "
              "forward's products plus the primal.",
    formula=lambda: sp.Eq(REVERSE - FORWARD, PRIMAL),
    verdict="refuted",
    corrected_by="jacobian.crossover",
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


def sequence_cost(mode: str, d: int, k: int, p: int, layers: int) -> int:
    """Multiply-adds by walking the explicit list of products a mode performs at these sizes
    (an independent count of the same sequence, to check the closed forms against)."""
    primal = [(k, d, 1)] + [(k, k, 1)] * (layers - 1)
    if mode == "reverse":
        sweep = [(p, k, k)] * (layers - 1) + [(p, k, d)]
    elif mode == "forward":
        sweep = [(k, k, d)] * (layers - 1) + [(p, k, d)]
    elif mode == "evaluation":
        sweep = [(p, k, 1)]
    else:
        raise ValueError(f"mode must be 'reverse', 'forward' or 'evaluation', got {mode!r}")
    return sum(a * b * c for a, b, c in primal + sweep)
