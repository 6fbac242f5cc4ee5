r"""Two functions written as ReLU networks, proven interval by interval in sympy.

Source: ``002_f6a45d0186751a72.txt`` Q3 (Problem 3, Exercises 8 and 9).

* The hat function :math:`f(x) = 2x` on [0, ½], :math:`2(1-x)` on [½, 1], 0 elsewhere, is
  :math:`\mathrm{ReLU}(-\mathrm{ReLU}(2x-1) - \mathrm{ReLU}(1-2x) + 1)`;
* the soft threshold :math:`\operatorname{sign}(x)\max(|x| - s, 0)` is
  :math:`\mathrm{ReLU}(x - s) - \mathrm{ReLU}(-x - s)` for every s ≥ 0.

**How an interval is proven.** Each piece of the real line is covered by a parametrisation
whose sign pattern sympy's assumptions decide: a half-line ``x = a − t`` or ``x = a + t``
with t ≥ 0 (or t > 0), a bounded piece ``x = a + (b − a)·w²/(1 + w²)`` with w real (which
covers [a, b) exactly). ReLU is ``Max(0, factor(z))``: after factoring, sympy knows the sign of
every pre-activation on the piece, so each ``Max`` resolves and the network *is* a polynomial
(rational) expression in the parameter; that expression is then shown equal to the seed's
formula for the piece. The pieces together cover ℝ, so the identity holds everywhere.

The tests also prove network = target directly by cases (``dlmath_verify.symbolic``), which
splits ℝ at the breakpoints sympy sees in ``Max``/``Piecewise``/``sign``/``Abs``.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_002 = "002_f6a45d0186751a72.txt"

x = sp.Symbol("x", real=True)
s = sp.Symbol("s", nonnegative=True)
t = sp.Symbol("t", nonnegative=True)
t_pos = sp.Symbol("t", positive=True)
w = sp.Symbol("w", real=True)
HALF = sp.Rational(1, 2)

HAT_BREAKPOINTS = (sp.S.Zero, HALF, sp.S.One)


def relu(z: sp.Expr) -> sp.Expr:
    """ReLU(z) = max(0, z); the argument is factored first so that sympy can decide its sign."""
    return sp.Max(0, sp.factor(z))


def hat_network(z: sp.Expr) -> sp.Expr:
    """The seed's network ReLU(−ReLU(2z − 1) − ReLU(−2z + 1) + 1)."""
    return relu(-relu(2 * z - 1) - relu(-2 * z + 1) + 1)


def soft_threshold_network(z: sp.Expr, threshold: sp.Expr = s) -> sp.Expr:
    """The seed's network ReLU(z − s) − ReLU(−z − s)."""
    return relu(z - threshold) - relu(-z - threshold)


HAT_TARGET = sp.Piecewise(
    (2 * x, (x >= 0) & (x <= HALF)),
    (2 * (1 - x), (x > HALF) & (x <= 1)),
    (0, True),
)
SOFT_TARGET = sp.sign(x) * sp.Max(sp.Abs(x) - s, 0)

HAT = claim(
    "relu_net.hat_function",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_002} Q3 (Exercise 8)",
    statement="ReLU(−ReLU(2x − 1) − ReLU(1 − 2x) + 1) is the hat function: 2x on [0, ½], "
    "2(1 − x) on [½, 1], 0 elsewhere.",
    formula=lambda: sp.Eq(sp.Symbol(r"\mathrm{ReLU}(-\mathrm{ReLU}(2x-1)-\mathrm{ReLU}(1-2x)+1)"),
                          HAT_TARGET),
)
SOFT = claim(
    "relu_net.soft_threshold",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_002} Q3 (Exercise 9)",
    statement="ReLU(x − s) − ReLU(−x − s) = sign(x)·max(|x| − s, 0) for every s ≥ 0 (and not "
    "for s < 0).",
    formula=lambda: sp.Eq(sp.Symbol(r"\mathrm{ReLU}(x-s)-\mathrm{ReLU}(-x-s)"), SOFT_TARGET),
)
DERIVATIVES = claim(
    "relu_net.derivatives",
    witnesses=("autograd",),
    source=f"{SEED_002} Q3 (the networks' slopes)",
    statement="Away from the breakpoints the networks' derivatives are the piecewise "
    "derivatives: 2, −2, 0 for the hat; 1 for |x| > s and 0 for |x| < s for the soft threshold.",
    formula=lambda: sp.Eq(sp.Derivative(HAT_TARGET, x), sp.diff(HAT_TARGET, x)),
)


def _bounded(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """x = a + (b − a)·w²/(1 + w²), w real: exactly [a, b)."""
    return a + (b - a) * w**2 / (1 + w**2)


@cache
def hat_pieces() -> tuple[tuple[str, sp.Expr, sp.Expr], ...]:
    """(interval, parametrisation of x, the seed's formula there) covering ℝ."""
    return (
        ("(-oo, 0]", -t, sp.S.Zero),
        ("[0, 1/2)", _bounded(0, HALF), 2 * x),
        ("[1/2, 1)", _bounded(HALF, 1), 2 * (1 - x)),
        ("[1, oo)", 1 + t, sp.S.Zero),
    )


@cache
def soft_threshold_pieces() -> tuple[tuple[str, sp.Expr, sp.Expr], ...]:
    """(interval, parametrisation of x, the formula there) covering ℝ for symbolic s ≥ 0."""
    return (
        ("(-oo, -s]", -s - t, x + s),
        ("[-s, s)", _bounded(-s, s), sp.S.Zero),
        ("[s, oo)", s + t, x - s),
    )


def on_piece(network, piece: tuple[str, sp.Expr, sp.Expr]) -> tuple[sp.Expr, sp.Expr]:
    """(the network at the parametrised x, with every ReLU resolved by sympy; the formula)."""
    _, param, formula = piece
    return sp.factor(network(param)), formula.xreplace({x: param})


@cache
def hat_on_pieces() -> tuple[tuple[str, sp.Expr, sp.Expr], ...]:
    return tuple((p[0], *on_piece(hat_network, p)) for p in hat_pieces())


@cache
def soft_threshold_on_pieces() -> tuple[tuple[str, sp.Expr, sp.Expr], ...]:
    return tuple((p[0], *on_piece(soft_threshold_network, p)) for p in soft_threshold_pieces())


@cache
def hat_derivative() -> sp.Expr:
    """sympy's derivative of the hat target (a Piecewise, valid off the breakpoints)."""
    return sp.diff(HAT_TARGET, x)


@cache
def soft_threshold_derivative() -> sp.Expr:
    """sympy's derivative of the soft threshold written by pieces (x + s, 0, x − s), which
    equals the target on each piece (proven by cases in the tests): 1 on |x| > s, 0 on |x| < s."""
    by_pieces = sp.Piecewise((x + s, x < -s), (0, x < s), (x - s, True))
    return sp.diff(by_pieces, x)


@cache
def piece_slopes() -> dict[str, tuple[sp.Expr, ...]]:
    """sympy's d/dx of each piece's formula (the network's slope on that open piece)."""
    return {
        "hat": tuple(sp.diff(f, x) for _, _, f in hat_pieces()),
        "soft": tuple(sp.diff(f, x) for _, _, f in soft_threshold_pieces()),
    }
