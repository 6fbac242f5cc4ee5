r"""The symbolic identity checker: is ``lhs - rhs`` identically zero?

Two ways, both exact (no floating point anywhere):

1. **Symbolic**: canonicalise ``lhs - rhs`` (``expand`` then ``cancel``, with hyperbolic
   functions rewritten through ``exp`` and logs expanded) and, for small expressions,
   ``simplify``. The result is cached per expression, so per size.
2. **Exact evaluation at random rational points** drawn by Hypothesis (``st.fractions``). At a
   rational point every ``exp(r)`` is a power of :math:`T = e^{1/q}` (q the common
   denominator), so the difference becomes a rational function of one transcendental number
   with algebraic coefficients. It vanishes at :math:`T = e^{1/q}` if and only if it is
   identically zero as a rational function of ``T`` (Lindemann: :math:`e^{1/q}` is
   transcendental over the algebraic numbers), and algebraic coefficients are tested exactly
   with their minimal polynomial. A nonzero rational function vanishes at random points with
   probability zero, so a few points are a sound test of the identity that never rounds.

Logs must be removed by the derivation (compare ``exp`` of both sides): a value such as
``log 2 - log 3`` has no exact zero test of this kind, and the checker says so instead of
guessing.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy as sp
from hypothesis import assume, note
from hypothesis import strategies as st

from dlmath_verify.checks import names_its_claim

__all__ = ["ExactnessError", "prove_identity", "rational_point", "refute_identity"]

_HYPERBOLIC = (sp.tanh, sp.sinh, sp.cosh, sp.coth, sp.sech, sp.csch)


class ExactnessError(ValueError):
    """The value at a point cannot be decided exactly (a log or a non-rational exponent)."""


def _entries(expr: Any) -> list[sp.Expr]:
    if isinstance(expr, sp.MatrixBase):
        return list(expr)
    return [sp.sympify(expr)]


def _differences(lhs: Any, rhs: Any) -> list[sp.Expr]:
    left, right = _entries(lhs), _entries(rhs)
    if isinstance(lhs, sp.MatrixBase) and isinstance(rhs, sp.MatrixBase):
        if lhs.shape != rhs.shape:
            raise AssertionError(f"shapes differ: lhs {lhs.shape}, rhs {rhs.shape}")
    elif len(left) != len(right):
        raise AssertionError(f"sizes differ: lhs {len(left)} entries, rhs {len(right)}")
    return [a - b for a, b in zip(left, right, strict=True)]


def _through_exp(expr: sp.Expr) -> sp.Expr:
    if expr.has(*_HYPERBOLIC):
        expr = expr.rewrite(sp.exp)
    return expr


@lru_cache(maxsize=4096)
def symbolically_zero(expr: sp.Expr, simplify_ops: int = 400) -> bool:
    """True when sympy shows ``expr == 0`` by canonicalisation (cached per expression)."""
    _no_floats(expr)
    e = _through_exp(expr)
    if e.has(sp.log):
        e = sp.expand_log(e, force=True)
    e = sp.cancel(sp.expand(e))
    if e == 0:
        return True
    if sp.count_ops(e) <= simplify_ops:
        return sp.simplify(e) == 0
    return False


def _no_floats(expr: sp.Expr) -> None:
    if expr.has(sp.Float):
        raise ExactnessError(
            f"a floating-point number in an exact identity rounds away terms; use Rational: {expr}"
        )


def _algebraic_is_zero(c: sp.Expr) -> bool:
    if c.is_Rational:
        return c == 0
    if c.free_symbols:
        raise ExactnessError(f"coefficient {c} still has free symbols")
    c = sp.radsimp(c)
    if c == 0:
        return True
    x = sp.Dummy("x")
    return sp.minimal_polynomial(c, x) == x


def exact_value_is_zero(value: sp.Expr) -> bool:
    """Decide exactly whether a closed expression (no free symbols) equals zero."""
    value = _through_exp(sp.sympify(value))
    _no_floats(value)
    if value.free_symbols:
        raise ExactnessError(f"not a point: free symbols {sorted(map(str, value.free_symbols))}")
    exps = value.atoms(sp.exp)
    args = [a.args[0] for a in exps]
    if any(not arg.is_Rational for arg in args):
        raise ExactnessError(f"exp of a non-rational argument in {value}")
    q = math.lcm(*[int(arg.q) for arg in args]) if args else 1
    t = sp.Dummy("T", positive=True)
    value = value.xreplace({a: t ** (a.args[0] * q) for a in exps})
    value = value.xreplace({sp.E: t**q})  # sympy turns exp(1) into the constant E
    if value.has(sp.log):
        raise ExactnessError(
            "a log survives at the point; compare exp of both sides instead: " + str(value)
        )
    # The value is zero iff the numerator of the rational function in T is identically zero
    # (the denominator is nonzero at a point that is not a pole). No gcd is needed.
    num, _den = sp.fraction(sp.together(value))
    num = sp.expand(num)
    if num == 0:
        return True
    return all(_algebraic_is_zero(c) for c in sp.Poly(num, t).all_coeffs())


def rational_point(
    symbols: Any,
    *,
    low: int = -3,
    high: int = 3,
    max_denominator: int = 3,
) -> st.SearchStrategy[dict[sp.Symbol, sp.Rational]]:
    """Hypothesis strategy: a rational value for each symbol, respecting ``positive``.

    Denominators stay small on purpose: at the point every exp(r) becomes T**(r·q) with q the
    common denominator, so q = lcm(1, 2, 3) = 6 keeps the polynomials in T of modest degree.
    """

    def value(sym: sp.Symbol) -> st.SearchStrategy[sp.Rational]:
        lo = Fraction(1, max_denominator) if sym.is_positive else Fraction(low)
        if sym.is_nonnegative and not sym.is_positive:
            lo = Fraction(0)
        return st.fractions(lo, Fraction(high), max_denominator=max_denominator).map(
            lambda f: sp.Rational(f.numerator, f.denominator)
        )

    ordered = sorted(symbols, key=str)
    return st.fixed_dictionaries({s: value(s) for s in ordered})


def _at(expr: sp.Expr, point: dict) -> sp.Expr:
    out = expr.xreplace(point)
    if out.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        assume(False)  # the point is a pole of the expression; draw another
    return out


def _free(diffs: list[sp.Expr], fixed: dict) -> set[sp.Symbol]:
    syms: set[sp.Symbol] = set()
    for d in diffs:
        syms |= d.free_symbols
    return syms - set(fixed)


@names_its_claim
def prove_identity(
    lhs: Any,
    rhs: Any,
    *,
    claim: str,
    data: st.DataObject,
    points: int = 1,
    substitutions: dict | None = None,
    point_strategy: Any = None,
) -> str:
    """Assert ``lhs == rhs`` identically; returns how it was shown ("symbolic" or "exact").

    ``substitutions`` are applied first (a constraint such as Σ t = 1); the remaining free
    symbols get rational values drawn from ``data``. Both the symbolic canonicalisation and the
    exact evaluation run; the exact evaluation at drawn points always runs, so a wrong cached
    simplification cannot hide a false identity.
    """
    subs = dict(substitutions or {})
    diffs = [d.xreplace(subs) if subs else d for d in _differences(lhs, rhs)]
    method = "symbolic" if all(symbolically_zero(d) for d in diffs) else "exact"
    syms = _free(diffs, {})
    strategy = point_strategy if point_strategy is not None else rational_point(syms)
    for _ in range(points):
        point = data.draw(strategy, label="rational point")
        for k, d in enumerate(diffs):
            value = _at(d, point)
            if not exact_value_is_zero(value):
                left = _at(_entries(lhs)[k].xreplace(subs), point)
                right = _at(_entries(rhs)[k].xreplace(subs), point)
                raise AssertionError(
                    f"claim {claim}: identity fails at entry {k} at the exact rational point "
                    f"{ {str(s): str(v) for s, v in point.items()} }: "
                    f"derived (lhs) = {sp.N(left, 17)}, claimed (rhs) = {sp.N(right, 17)}, "
                    f"lhs − rhs = {sp.N(value, 17)} (exactly nonzero)"
                )
    note(f"{claim}: proven ({method}) and exact at {points} rational points")
    return method


@names_its_claim
def refute_identity(
    lhs: Any,
    rhs: Any,
    *,
    claim: str,
    data: st.DataObject,
    substitutions: dict | None = None,
    point_strategy: Any = None,
) -> str:
    """Assert that ``lhs == rhs`` is false, and return an exact counterexample as text.

    The claim as written must not canonicalise to zero, and must fail exactly at the drawn
    rational point (a false identity fails at almost every point).
    """
    subs = dict(substitutions or {})
    diffs = [d.xreplace(subs) if subs else d for d in _differences(lhs, rhs)]
    if all(symbolically_zero(d) for d in diffs):
        raise AssertionError(f"claim {claim} was expected to be false but sympy proves it")
    syms = _free(diffs, {})
    strategy = point_strategy if point_strategy is not None else rational_point(syms)
    point = data.draw(strategy, label="rational point")
    for k, d in enumerate(diffs):
        value = _at(d, point)
        if not exact_value_is_zero(value):
            left = _at(_entries(lhs)[k].xreplace(subs), point)
            right = _at(_entries(rhs)[k].xreplace(subs), point)
            return (
                f"at {', '.join(f'{s}={v}' for s, v in sorted(point.items(), key=str))}: "
                f"entry {k}: derived {left}, claimed {right}"
            )
    assume(False)  # this point happens to satisfy the false identity: draw another
    raise AssertionError("unreachable")
