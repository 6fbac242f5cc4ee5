r"""The symbolic identity checker: ``lhs − rhs`` is decided zero exactly, or the checker refuses.

``prove_identity`` returns how an identity was shown (``"symbolic"``, ``"exact"`` or
``"cases"``), raises ``AssertionError`` with an exact counterexample when it is false, and
raises :class:`ExactnessError` (a ``ValueError``) naming the atom it cannot decide. It never
samples values and calls that a proof.

**Rational functions of exp with algebraic coefficients.** Two ways, both exact (no floating
point anywhere):

1. **Symbolic**: canonicalise ``lhs - rhs``: polynomials and rational functions of exp of
   linear forms in a polynomial ring where each exp is a monomial (``_exp_rational_zero``),
   anything else with ``expand`` then ``cancel`` (hyperbolic functions rewritten through
   ``exp``, logs expanded) and, for small expressions, ``simplify``. The result is cached per
   expression, so per size; a proven entry is then evaluated exactly at three generic drawn
   points per process as a guard (see ``prove_identity``).
2. **Exact evaluation at random rational points** drawn by Hypothesis (``st.fractions``). At a
   rational point every ``exp(r)`` is a power of :math:`T = e^{1/q}` (q the common
   denominator), so the difference becomes a rational function of one transcendental number
   with algebraic coefficients. It vanishes at :math:`T = e^{1/q}` if and only if it is
   identically zero as a rational function of ``T`` (Lindemann: :math:`e^{1/q}` is
   transcendental over the algebraic numbers), and algebraic coefficients are tested exactly
   with their minimal polynomial. A nonzero rational function vanishes at random points with
   probability zero, so a few points are a sound test of the identity that never rounds.
   A point where both sides are zero (all symbols 0, γ = 0, an all-zero input) says nothing
   about the identity: when the symbolic step has not succeeded, only points where a side is
   nonzero count.

Logs must be removed by the derivation (compare ``exp`` of both sides): a value such as
``log 2 - log 3`` has no exact zero test of this kind, and the checker says so instead of
guessing.

**Piecewise identities: proof by cases.** ``Max``, ``Min``, ``Abs``, ``Heaviside``, ``sign`` and
``Piecewise`` (conditions built from <, ≤, >, ≥, =, ≠, And, Or, Not, ITE) are resolved region by
region. A region is a finite set of linear constraints ``g > 0``, ``g ≥ 0``, ``g = 0`` with
rational coefficients; the first one holds the symbols' sign assumptions. The atoms are
resolved bottom-up: where the region decides the sign of the linear form an atom depends on
(``x − 1/2`` for ``Max(2x − 1, 0)``, ``x0 − x1`` for ``Max(x0, x1)``), the atom becomes its branch;
where it does not, the region is split into ``g < 0``, ``g = 0``, ``g > 0`` and every part that
is not empty is treated in turn. Emptiness is decided exactly by Fourier–Motzkin elimination
over the rationals, which also yields a rational point of the region. On a region where every
atom is resolved both sides are smooth: the region's equalities (the breakpoints) are
substituted, and what is left must vanish on an open set, so it must be identically zero
(an exp-polynomial numerator vanishing on an open set is zero), which is decided as above.
Every region also gets an exact evaluation at a rational point inside it; a counterexample is
always such a point.

At the breakpoint of a ``Heaviside`` sympy's value (1/2 unless given) is a convention, not a
derivative: the caller states the convention with ``heaviside_at_zero=`` (0 for ReLU's
:math:`[x > 0]`, as torch uses), and reaching a breakpoint without one is refused.

Refused (:class:`ExactnessError`, naming the atom): a condition that is not linear with
rational coefficients; any function outside the classes above (``sin``, ``DiracDelta``,
``floor``, an undefined function, an unevaluated ``Derivative``, ``pi``, ...); a log that
survives at a point; a float.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy as sp
from hypothesis import assume, note
from hypothesis import strategies as st
from sympy.core.relational import Relational
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.logic.boolalg import BooleanAtom, BooleanFunction
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

from dlmath_verify.checks import names_its_claim

__all__ = ["ExactnessError", "prove_identity", "rational_point", "refute_identity"]

_HYPERBOLIC = (sp.tanh, sp.sinh, sp.cosh, sp.coth, sp.sech, sp.csch)
_PIECEWISE = (sp.Piecewise, sp.Max, sp.Min, sp.Abs, sp.Heaviside, sp.sign)
_SMOOTH = (sp.Add, sp.Mul, sp.exp, sp.log, *_HYPERBOLIC)
_LOGIC = (Relational, BooleanFunction, BooleanAtom, ExprCondPair)
_MAX_REGIONS = 20000  # a proof by cases that needs more regions is refused, not truncated
_TRIES = 10  # drawn points per region before "both sides vanish everywhere drawn" is refused
# An identity sympy has canonicalised to zero is proven; the exact evaluations at drawn points
# that follow guard against a wrong simplification. Each such identity gets at least this many
# of them per process at generic points (no coordinate 0, the sides nonzero), over every call
# and Hypothesis example that meets it, not one more per example: the 40th evaluation of the
# same proven entry adds nothing the first three did not. An entry whose guard ever failed is
# evaluated on every later call, so Hypothesis's replays of the failure fail the same way.
_SANITY_POINTS = 3
_sanity_points: dict[sp.Expr, int] = {}
_guard_failed: set[sp.Expr] = set()


class ExactnessError(ValueError):
    """The checker cannot decide the identity exactly; the message names the atom."""


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


def _polynomial_in(expr: sp.Expr, R: Any, value_of: dict, memo: dict | None = None) -> Any:
    """``expr`` as an element of the polynomial ring R (``value_of`` maps each symbol to its
    generator); _NotRational for anything but sums, products, non-negative integer powers of
    symbols and rationals."""
    memo = {} if memo is None else memo
    if expr in memo:
        return memo[expr]
    if expr.is_Symbol:
        out = value_of[expr]
    elif expr.is_Rational:
        out = R(QQ(int(expr.p), int(expr.q)))
    elif expr.is_Add:
        out = R.zero
        for a in expr.args:
            out += _polynomial_in(a, R, value_of, memo)
    elif expr.is_Mul:
        out = R.one
        for a in expr.args:
            out *= _polynomial_in(a, R, value_of, memo)
    elif expr.is_Pow and expr.exp.is_Integer and expr.exp >= 0:
        out = _polynomial_in(expr.base, R, value_of, memo) ** int(expr.exp)
    else:
        raise _NotRational(expr)
    memo[expr] = out
    return out


def _as_fraction(expr: sp.Expr, R: Any, leaf: Any, memo: dict) -> tuple:
    """``expr`` as a pair (numerator, denominator) of elements of ``R``, built without gcd
    (the pair is exact: the value is zero iff the numerator is): sums, products and integer
    powers here, every other node by ``leaf(node)``, which returns a pair or raises
    _NotRational. A zero denominator is a pole of the expression as written
    (ZeroDivisionError)."""
    if expr in memo:
        return memo[expr]
    one = R.one
    if expr.is_Add:
        num, den = R.zero, one
        for a in expr.args:
            n2, d2 = _as_fraction(a, R, leaf, memo)
            num, den = (num * d2 + n2 * den, den * d2) if d2 != den else (num + n2, den)
        out = (num, den)
    elif expr.is_Mul:
        num, den = one, one
        for a in expr.args:
            n2, d2 = _as_fraction(a, R, leaf, memo)
            num, den = num * n2, den * d2
        out = (num, den)
    elif expr.is_Pow and expr.exp.is_Integer:
        n, d = _as_fraction(expr.base, R, leaf, memo)
        k = int(expr.exp)
        out = (n**k, d**k) if k >= 0 else (d ** (-k), n ** (-k))
    else:
        out = leaf(expr)
    if not out[1]:
        raise ZeroDivisionError(expr)
    memo[expr] = out
    return out


def _exp_rational_zero(expr: sp.Expr) -> bool | None:
    """For a rational function of symbols and of exp of linear forms with rational coefficients
    (polynomials; softmax, cross-entropy and their derivatives): whether it is zero, decided in
    a polynomial ring. sympy's ``expand`` of the same tree builds every intermediate product as
    an expression: on a depth-3 cubic conv net it ran for minutes where the ring takes a second.
    With q_s the common denominator of a symbol's coefficients inside the exps, E_s =
    exp(s/q_s), and T = e^{1/q_0} for the constant parts, every exp is a monomial in E and T.
    The E_s are algebraically independent over Q(symbols) (exponentials of linearly independent
    linear forms) and T is transcendental, so the expression is zero iff the numerator of its
    value, a pair (numerator, denominator) of polynomials in QQ[symbols, E, T] built without
    gcd, is the zero polynomial. None for anything else (a non-linear exponent such as β·x, a
    log, an algebraic coefficient): the general path. Equal to ``cancel(expand(...)) == 0`` on
    this class, at a fraction of its cost."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if not symbols:
        return None
    lin, *_ = ring([s.name for s in symbols], QQ)
    lin_of = dict(zip(symbols, lin.gens, strict=True))
    exps = expr.atoms(sp.exp)
    forms = {}
    q_of = dict.fromkeys(symbols, 1)
    q0 = 1
    for a in exps:
        try:
            form = _polynomial_in(a.args[0], lin, lin_of)
        except (_NotRational, KeyError):  # KeyError: a bound symbol (an Integral's, a Sum's)
            return None
        coeffs = {}
        for monom, c in form.terms():
            if sum(monom) > 1:
                return None
            if sum(monom) == 0:
                q0 = math.lcm(q0, int(c.denominator))
            else:
                s_ = symbols[monom.index(1)]
                q_of[s_] = math.lcm(q_of[s_], int(c.denominator))
            coeffs[monom] = c
        forms[a] = coeffs
    in_exp = sorted({symbols[m.index(1)] for f in forms.values() for m in f if sum(m) == 1},
                    key=lambda s: s.name)
    names = [s.name for s in symbols] + [f"_E_{s.name}" for s in in_exp] + ["_T"]
    R, *gens = ring(names, QQ)
    value_of = dict(zip(symbols, gens, strict=False))
    e_of = dict(zip(in_exp, gens[len(symbols):-1], strict=True))
    t = gens[-1]
    one = R.one

    def exp_pair(a: sp.Expr) -> tuple:
        num, den = one, one
        for monom, c in forms[a].items():
            if sum(monom) == 0:
                k, g = c * q0, t
            else:
                s_ = symbols[monom.index(1)]
                k, g = c * q_of[s_], e_of[s_]
            k = int(k)  # an integer: q is a common denominator
            if k >= 0:
                num *= g**k
            else:
                den *= g ** (-k)
        return num, den

    def leaf(e: sp.Expr) -> tuple:
        if e.is_Symbol:
            return value_of[e], one
        if e.is_Rational:
            return R(QQ(int(e.p), int(e.q))), one
        if isinstance(e, sp.exp):
            return exp_pair(e)
        raise _NotRational(e)

    try:
        return not _as_fraction(expr, R, leaf, {})[0]
    except (_NotRational, ZeroDivisionError):  # a pole as written: the general path says so
        return None


@lru_cache(maxsize=4096)
def symbolically_zero(expr: sp.Expr, simplify_ops: int = 400) -> bool:
    """True when sympy shows ``expr == 0`` by canonicalisation (cached per expression):
    rational functions of symbols and of exp of linear forms (polynomials among them) in a
    polynomial ring (``_exp_rational_zero``), everything else by ``expand``/``cancel``."""
    _no_floats(expr)
    in_ring = _exp_rational_zero(expr)
    if in_ring is not None:
        return in_ring
    e = _through_exp(expr)
    if e.has(sp.log):
        e = sp.expand_log(e, force=True)
    e = sp.cancel(sp.expand(e))
    if e == 0:
        return True
    if sp.count_ops(e) <= simplify_ops:
        return sp.simplify(e) == 0
    return False


@lru_cache(maxsize=4096)
def _expands_to_zero(expr: sp.Expr) -> bool:
    return sp.expand(expr) == 0


def _no_floats(expr: sp.Expr) -> None:
    if expr.has(sp.Float):
        raise ExactnessError(
            f"a floating-point number in an exact identity rounds away terms; use Rational: {expr}"
        )


@lru_cache(maxsize=4096)
def decidable(expr: sp.Basic) -> bool:
    """Raise :class:`ExactnessError` naming the first atom outside the decided classes; True
    when the expression has piecewise atoms (proof by cases), False when it is smooth."""
    _no_floats(expr)
    piecewise = False
    for node in sp.preorder_traversal(expr):
        if node.is_Symbol or node.is_Rational or node is sp.E:
            continue
        if isinstance(node, sp.Pow):
            if not node.exp.is_Rational:
                raise ExactnessError(
                    f"cannot decide {node}: a power with a non-rational exponent (write exp)")
            continue
        if isinstance(node, _PIECEWISE):
            piecewise = True
            continue
        if isinstance(node, _SMOOTH + _LOGIC):
            continue
        name = getattr(node, "func", type(node)).__name__
        raise ExactnessError(
            f"cannot decide an identity containing {name} ({node}): only rational functions of "
            "exp with algebraic coefficients, and Piecewise/Max/Min/Abs/Heaviside/sign of them "
            "with linear conditions, are decided exactly")
    return piecewise


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


class _NotRational(Exception):
    """The fast evaluation met something outside Q(T) (an algebraic number, a log, ...)."""


_QT, _T = ring("T", QQ)


def _rational_at(expr: sp.Expr, point: dict, memo: dict) -> Any:
    """``expr`` at the point, as a rational number (a QQ element); _NotRational otherwise."""
    num, den = _fraction_in_t(expr, point, memo, 1)
    if num.degree() > 0 or den.degree() > 0:
        raise _NotRational(expr)
    return QQ(num.LC) / QQ(den.LC) if num else QQ(0)


def _fraction_in_t(expr: sp.Expr, point: dict, memo: dict, q: int) -> tuple:
    """``expr`` at the point as a pair (numerator, denominator) of polynomials in T with
    rational coefficients, where exp(r) = T**(r·q). No gcd is taken: the pair is exact, and
    the value is zero iff the numerator is the zero polynomial (T = e^{1/q} is transcendental).
    A zero denominator is a pole of the expression as written (ZeroDivisionError)."""
    one = _QT.one

    def leaf(e: sp.Expr) -> tuple:
        if e.is_Symbol:
            v = point.get(e, _MISSING_VALUE)
            if not getattr(v, "is_Rational", False):
                raise _NotRational(v)
            return _QT(QQ(int(v.p), int(v.q))), one
        if e.is_Rational:
            return _QT(QQ(int(e.p), int(e.q))), one
        if e is sp.E or isinstance(e, sp.exp):
            r = QQ(1) if e is sp.E else _rational_at(e.args[0], point, memo)
            k = r * q
            if k.denominator != 1:
                raise _NotRational(e)  # q is not a common denominator (never with _exp_lcm)
            k = int(k.numerator)
            return (_T**k, one) if k >= 0 else (one, _T ** (-k))
        raise _NotRational(e)

    return _as_fraction(expr, _QT, leaf, memo.setdefault(q, {}))


_MISSING_VALUE = sp.Rational(1, 3)  # as in _at: a symbol the point lacks


def _exp_lcm(expr: sp.Expr, point: dict, memo: dict) -> int:
    q = 1
    for a in expr.atoms(sp.exp):
        q = math.lcm(q, int(_rational_at(a.args[0], point, memo).denominator))
    return q


def _zero_at(expr: sp.Expr, point: dict) -> bool:
    """Whether ``expr`` is exactly zero at the rational point: the same decision as
    ``exact_value_is_zero(_at(expr, point))``, computed by evaluating the expression tree
    directly in Q(T) (no sympy expression is built); anything outside Q(T) (algebraic numbers,
    hyperbolic functions, logs) takes the general path. A pole draws another point."""
    memo: dict = {}
    try:
        q = _exp_lcm(expr, point, memo)
        num, _den = _fraction_in_t(expr, point, memo, q)
    except _NotRational:
        return exact_value_is_zero(_at(expr, point))
    except ZeroDivisionError:
        assume(False)  # the point is a pole of the expression; draw another
        raise AssertionError("unreachable") from None
    return not num


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

    The values of one symbol are the finitely many fractions p/q in [low, high] (in (0, high]
    for a ``positive`` symbol, [0, high] for a ``nonnegative`` one) with q ≤ max_denominator,
    drawn with ``sampled_from`` in order of simplicity (denominator, then size, positive
    first), so a failure shrinks towards 0, ±1, …: the same values ``st.fractions`` gives,
    at a sixteenth of its cost per draw (a proof draws one point per identity).
    """

    def value(sym: sp.Symbol) -> st.SearchStrategy[sp.Rational]:
        lo = Fraction(1, max_denominator) if sym.is_positive else Fraction(low)
        if sym.is_nonnegative and not sym.is_positive:
            lo = Fraction(0)
        return st.sampled_from(_values(lo, Fraction(high), max_denominator))

    ordered = sorted(symbols, key=str)
    return st.fixed_dictionaries({s: value(s) for s in ordered})


@lru_cache(maxsize=64)
def _values(lo: Fraction, hi: Fraction, max_denominator: int) -> tuple[sp.Rational, ...]:
    found = {Fraction(p, q) for q in range(1, max_denominator + 1)
             for p in range(math.ceil(lo * q), math.floor(hi * q) + 1)}
    if not found:
        raise ValueError(f"no fraction with denominator ≤ {max_denominator} in [{lo}, {hi}]")
    ordered = sorted(found, key=lambda f: (f.denominator, abs(f), f < 0))
    return tuple(sp.Rational(f.numerator, f.denominator) for f in ordered)


def _at(expr: sp.Expr, point: dict) -> sp.Expr:
    """expr at the point; a symbol the point lacks (one that cancels in lhs − rhs, so no value
    was drawn for it) takes the value 1/3."""
    missing = expr.free_symbols - set(point)
    if missing:
        point = point | dict.fromkeys(missing, sp.Rational(1, 3))
    out = expr.xreplace(point)
    if out.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        assume(False)  # the point is a pole of the expression; draw another
    return out


def _free(diffs: list[sp.Expr], fixed: dict) -> set[sp.Symbol]:
    syms: set[sp.Symbol] = set()
    for d in diffs:
        syms |= d.free_symbols
    return syms - set(fixed)


# ------------------------------------------------- regions: linear constraints over Q
# A constraint is (coefficients, constant, kind): Σ a_v v + c  kind  0, kind in {">", ">=",
# "="}; coefficients a tuple of (symbol, Fraction) sorted by name, so regions are hashable.

_HOLDS = {">": operator.gt, ">=": operator.ge, "=": operator.eq}


def _fraction(r: sp.Expr) -> Fraction:
    return Fraction(int(r.p), int(r.q))


@lru_cache(maxsize=65536)
def _linear(g: sp.Expr) -> tuple[tuple[tuple[sp.Symbol, Fraction], ...], Fraction]:
    """g as (coefficients, constant), or ExactnessError when g is not linear over Q."""
    coeffs: dict[sp.Symbol, Fraction] = {}
    const = Fraction(0)
    for term in sp.Add.make_args(sp.expand(g)):
        c, rest = term.as_coeff_Mul()
        if not c.is_Rational:
            raise ExactnessError(f"cannot decide the sign of {g}: coefficient {c} is not rational")
        if rest is sp.S.One:
            const += _fraction(c)
        elif rest.is_Symbol:
            coeffs[rest] = coeffs.get(rest, Fraction(0)) + _fraction(c)
        else:
            raise ExactnessError(
                f"cannot decide the sign of {g}: the condition is not linear in the symbols "
                f"(term {term}); only linear conditions with rational coefficients are split")
    items = tuple(sorted(((s, a) for s, a in coeffs.items() if a != 0), key=lambda p: p[0].name))
    return items, const


def _constraint(g: sp.Expr, kind: str) -> tuple:
    items, const = _linear(g)
    return items, const, kind


def _eliminate(cons: list, v: Any, expr: dict, e0: Fraction) -> list:
    """Substitute v = Σ expr_w w + e0 into constraints held as (dict, constant, kind)."""
    out = []
    for a, c, k in cons:
        av = a.get(v)
        if av is None:
            out.append((a, c, k))
            continue
        a = {w: x for w, x in a.items() if w != v}
        for w, e in expr.items():
            x = a.get(w, 0) + av * e
            if x:
                a[w] = x
            else:
                a.pop(w, None)
        out.append((a, c + av * e0, k))
    return out


@lru_cache(maxsize=65536)
def _region_point(region: tuple, prefer: tuple = ()) -> tuple | None:
    """A rational point satisfying every constraint of ``region`` (as sorted (symbol, Fraction)
    pairs), or None when the region is empty: Fourier–Motzkin elimination, exact.

    ``prefer`` (sorted (symbol, Fraction) pairs) gives values to keep where they fit."""
    pref = dict(prefer)
    cons = [(dict(items), c, k) for items, c, k in region]
    steps: list[tuple] = []
    while True:  # equalities first: solve one variable, substitute it everywhere
        i = next((i for i, con in enumerate(cons) if con[2] == "=" and con[0]), None)
        if i is None:
            break
        a, c, _ = cons.pop(i)
        v = min(a, key=lambda s: s.name)
        av = a[v]
        expr = {w: -b / av for w, b in a.items() if w != v}
        steps.append(("=", v, expr, -c / av))
        cons = _eliminate(cons, v, expr, -c / av)
    live = []
    for con in cons:
        if not con[0]:
            if not _HOLDS[con[2]](con[1], 0):
                return None
        else:
            live.append(con)
    cons = live
    while cons:
        count: dict = {}
        for a, _c, _k in cons:
            for w, x in a.items():
                p, n = count.get(w, (0, 0))
                count[w] = (p + 1, n) if x > 0 else (p, n + 1)
        v = min(sorted(count, key=lambda s: s.name),
                key=lambda w: count[w][0] * count[w][1] - count[w][0] - count[w][1])
        pos, neg, rest = [], [], []
        for con in cons:
            av = con[0].get(v, 0)
            (pos if av > 0 else neg if av < 0 else rest).append(con)
        steps.append(("<>", v, pos, neg))
        seen = {(frozenset(a.items()), c, k): (a, c, k) for a, c, k in rest}
        for ap, cp, kp in pos:
            sp_ = ap[v]
            for an, cn, kn in neg:
                sn = -an[v]
                a = {}
                for w in ap.keys() | an.keys():
                    if w is v:
                        continue
                    x = ap.get(w, 0) / sp_ + an.get(w, 0) / sn
                    if x:
                        a[w] = x
                kind = ">" if ">" in (kp, kn) else ">="
                const = cp / sp_ + cn / sn
                if not a:
                    if not _HOLDS[kind](const, 0):
                        return None
                    continue
                seen.setdefault((frozenset(a.items()), const, kind), (a, const, kind))
        cons = list(seen.values())
    point: dict = {}

    def val(w: Any) -> Fraction:
        if w not in point:
            point[w] = pref.get(w, Fraction(0))
        return point[w]

    for step in reversed(steps):
        if step[0] == "=":
            _, v, expr, e0 = step
            point[v] = e0 + sum((e * val(w) for w, e in expr.items()), Fraction(0))
            continue
        _, v, pos, neg = step
        lo = hi = None
        lo_strict = hi_strict = False
        for a, c, k in pos + neg:
            av = a[v]
            bound = -(c + sum((x * val(w) for w, x in a.items() if w is not v),
                              Fraction(0))) / av
            if av > 0 and (lo is None or bound > lo or (bound == lo and k == ">")):
                lo, lo_strict = bound, k == ">"
            if av < 0 and (hi is None or bound < hi or (bound == hi and k == ">")):
                hi, hi_strict = bound, k == ">"
        p = pref.get(v)
        fits = p is not None and (lo is None or p > lo or (p == lo and not lo_strict)) and (
            hi is None or p < hi or (p == hi and not hi_strict))
        if fits:
            point[v] = p
        elif lo is not None and hi is not None:
            point[v] = lo if lo == hi else (lo + hi) / 2
        elif lo is not None:
            point[v] = lo + 1
        elif hi is not None:
            point[v] = hi - 1
        else:
            point[v] = Fraction(0)
    for items, _c, _k in region:  # every symbol of the region gets a value
        for w, _ in items:
            val(w)
    return tuple(sorted(point.items(), key=lambda p: p[0].name))


def _feasible(region: tuple) -> bool:
    return _region_point(region) is not None


def _sign_at(items: tuple, const: Fraction, point: dict) -> int:
    value = const + sum((a * point[s] for s, a in items), Fraction(0))
    return (value > 0) - (value < 0)


@lru_cache(maxsize=65536)
def _signs(region: tuple, g: sp.Expr) -> frozenset[int]:
    """The signs g can take on the region. A region only grows by constraints appended at
    its end, so the signs possible on its parent bound those possible on it; the sign at a
    point of the region is possible without a search."""
    items, const = _linear(g)
    if not items:
        return frozenset({(const > 0) - (const < 0)})
    candidates = {-1, 0, 1}
    if len(region) > 1:
        candidates = set(_signs(region[:-1], g))
        if len(candidates) == 1:
            return frozenset(candidates)
    point = _region_point(region)
    if point is None:
        return frozenset()
    here = dict(point)
    found = {_sign_at(items, const, here)} if all(s in here for s, _ in items) else set()
    extra = {-1: (tuple((s, -a) for s, a in items), -const, ">"), 0: (items, const, "="),
             1: (items, const, ">")}
    for s in candidates - found:
        if _feasible((*region, extra[s])):
            found.add(s)
    return frozenset(found)


def _split(region: tuple, g: sp.Expr) -> list[tuple]:
    items, const = _linear(g)
    parts = [(*region, (tuple((s, -a) for s, a in items), -const, ">")),
             (*region, (items, const, "=")), (*region, (items, const, ">"))]
    return [p for p in parts if _feasible(p)]


class _Undecided(Exception):
    def __init__(self, g: sp.Expr) -> None:
        super().__init__(str(g))
        self.g = g


_RELATIONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
              "==": operator.eq, "!=": operator.ne}


class _Resolver:
    """Resolves the piecewise atoms of an expression on one region (or names a split)."""

    def __init__(self, region: tuple, heaviside_at_zero: Any) -> None:
        self.region = region
        self.h0 = heaviside_at_zero

    def signs(self, g: sp.Expr) -> frozenset[int]:
        return _signs(self.region, sp.expand(g))

    def truth(self, cond: Any) -> bool:
        if isinstance(cond, BooleanAtom) or cond in (True, False):
            return bool(cond)
        if isinstance(cond, Relational):
            g = self.expr(cond.lhs) - self.expr(cond.rhs)
            op = _RELATIONS[cond.rel_op]
            values = {op(s, 0) for s in self.signs(g)}
            if len(values) != 1:
                raise _Undecided(g)
            return values.pop()
        if isinstance(cond, sp.Not):
            return not self.truth(cond.args[0])
        if isinstance(cond, sp.And):
            return all(self.truth(c) for c in cond.args)
        if isinstance(cond, sp.Or):
            return any(self.truth(c) for c in cond.args)
        if isinstance(cond, sp.ITE):
            a, b, c = cond.args
            return self.truth(b) if self.truth(a) else self.truth(c)
        if isinstance(cond, BooleanFunction):
            return self.truth(cond.to_nnf())
        raise ExactnessError(f"cannot decide the condition {cond}")

    def expr(self, e: Any) -> Any:
        if not isinstance(e, sp.Basic) or not e.has(*_PIECEWISE):
            return e
        if isinstance(e, sp.Piecewise):
            for value, cond in e.args:
                if self.truth(cond):
                    return self.expr(value)
            raise ExactnessError(f"{e} is undefined on part of the region (no condition holds)")
        args = [self.expr(a) for a in e.args]
        if isinstance(e, sp.Max | sp.Min):
            sign = 1 if isinstance(e, sp.Max) else -1
            for i, ai in enumerate(args):
                beaten = False
                for j, aj in enumerate(args):
                    if i == j:
                        continue
                    s = self.signs(sign * (ai - aj))
                    if s <= {-1}:
                        beaten = True
                        break
                    if not s <= {0, 1}:
                        raise _Undecided(ai - aj)
                if not beaten:
                    return ai
            raise AssertionError(f"no argument of {e} is extremal")  # pragma: no cover
        if isinstance(e, sp.Abs | sp.sign | sp.Heaviside):
            a = args[0]
            s = self.signs(a)
            if isinstance(e, sp.Abs):
                if s <= {0, 1}:
                    return a
                if s <= {-1, 0}:
                    return -a
                raise _Undecided(a)
            if len(s) != 1:
                raise _Undecided(a)
            (s,) = s
            if isinstance(e, sp.sign):
                return sp.Integer(s)
            if s == 0:
                if self.h0 is None:
                    raise ExactnessError(
                        f"{e} at its breakpoint {a} = 0: sympy's value there ({e.args[1]}) is a "
                        "convention, not a derivative; state it with heaviside_at_zero=")
                return sp.sympify(self.h0)
            return sp.Integer(1 if s > 0 else 0)
        return e.func(*args)


def _base_region(exprs: list[sp.Expr]) -> tuple:
    """The sign assumptions of the symbols inside piecewise atoms, as constraints."""
    syms: set[sp.Symbol] = set()
    for e in exprs:
        for atom in e.atoms(*_PIECEWISE):
            syms |= atom.free_symbols
    out = []
    for s in sorted(syms, key=lambda s: s.name):
        if s.is_positive:
            out.append(_constraint(s, ">"))
        elif s.is_negative:
            out.append(_constraint(-s, ">"))
        elif s.is_nonnegative:
            out.append(_constraint(s, ">="))
        elif s.is_nonpositive:
            out.append(_constraint(-s, ">="))
    return tuple(out)


def _describe(region: tuple) -> str:
    parts = []
    for items, c, k in region:
        g = sp.Add(*[sp.Rational(a.numerator, a.denominator) * s for s, a in items],
                   sp.Rational(c.numerator, c.denominator))
        parts.append(f"{g} {'==' if k == '=' else k} 0")
    return " and ".join(parts) if parts else "everywhere"


def _as_prefer(point: dict) -> tuple:
    return tuple(sorted(((s, _fraction(v)) for s, v in point.items() if v.is_Rational),
                        key=lambda p: p[0].name))


def _equalities(region: tuple) -> dict:
    """The region's equalities solved for some of its symbols (a substitution)."""
    subs: dict = {}
    for items, c, k in region:
        if k != "=":
            continue
        g = sp.Add(*[sp.Rational(a.numerator, a.denominator) * s for s, a in items],
                   sp.Rational(c.numerator, c.denominator)).xreplace(subs)
        g = sp.expand(g)
        free = sorted(g.free_symbols, key=lambda s: s.name)
        if not free:
            continue
        v = free[0]
        coeff = g.coeff(v)
        value = sp.expand(-(g - coeff * v) / coeff)
        subs = {k2: sp.expand(v2.xreplace({v: value})) for k2, v2 in subs.items()}
        subs[v] = value
    return subs


class _Prover:
    def __init__(self, claim: str, data: Any, strategy: Any, points: int, h0: Any) -> None:
        self.claim, self.data, self.strategy = claim, data, strategy
        self.points, self.h0 = points, h0
        self.drawn: list[dict] = []
        self.method = "symbolic"

    def point(self, k: int) -> dict:
        """The k-th drawn point; from the second on, the i-th symbol is shifted by (i + k)/3,
        so that a retry after a point where both sides vanish is neither the all-zero point
        (Hypothesis's first example) nor a point with every coordinate equal."""
        while len(self.drawn) <= k:
            self.drawn.append(self.data.draw(self.strategy, label="rational point"))
        if k == 0:
            return self.drawn[0]
        ordered = sorted(self.drawn[k].items(), key=lambda p: p[0].name)
        return {s: v + sp.Rational(i + k, 3) for i, (s, v) in enumerate(ordered)}

    def counterexample(self, k: int, lhs: sp.Expr, rhs: sp.Expr, point: dict,
                       region: tuple | None) -> str:
        left, right = _at(lhs, point), _at(rhs, point)
        where = f" on the region {_describe(region)}" if region else ""
        return (f"identity fails at entry {k}{where} at the exact rational point "
                f"{ {str(s): str(v) for s, v in sorted(point.items(), key=str)} }: "
                f"derived (lhs) = {sp.N(left, 17)}, claimed (rhs) = {sp.N(right, 17)}, "
                f"lhs − rhs = {sp.N(left - right, 17)} (exactly nonzero)")

    def in_region(self, region: tuple | None, prefer: dict) -> dict:
        if not region:
            return prefer
        found = _region_point(region, _as_prefer(prefer))
        assert found is not None, f"empty region {_describe(region)}"  # checked when split
        return prefer | {s: sp.Rational(v.numerator, v.denominator) for s, v in found}

    def leaf(self, k: int, lhs: sp.Expr, rhs: sp.Expr, region: tuple | None) -> str | None:
        """Both sides smooth on the region: None when lhs − rhs vanishes there, else a
        counterexample. The exact evaluation at a point runs on every region of a proof by
        cases; for an entry sympy proves everywhere, until it has had ``_SANITY_POINTS``."""
        subs = _equalities(region) if region else {}
        diff = lhs - rhs if not subs else (lhs - rhs).xreplace(subs)
        if region and _expands_to_zero(diff):
            return None  # the resolved sides expand to the same polynomial: nothing to evaluate
        proven = symbolically_zero(diff)  # cached per expression: the unexpanded one is the key
        # The points are drawn either way, so the choice sequence does not depend on this
        # state; only whether a trusted entry is evaluated (and a pole rejected) does.
        guarded = proven and not region
        trusted = (guarded and diff not in _guard_failed
                   and _sanity_points.get(diff, 0) >= max(_SANITY_POINTS, self.points))
        counted = 0
        for attempt in range(max(1, self.points) if proven else _TRIES):
            point = self.in_region(region, self.point(attempt))
            if trusted:
                continue
            if not _zero_at(lhs - rhs, point):
                if guarded:
                    _guard_failed.add(diff)
                return self.counterexample(k, lhs, rhs, point, region)
            if guarded:  # a guard point counts where it is generic: no coordinate 0, lhs ≠ 0
                if all(v != 0 for v in point.values()) and not _zero_at(lhs, point):
                    _sanity_points[diff] = _sanity_points.get(diff, 0) + 1
                continue
            if proven:
                continue
            if _zero_at(lhs, point) and _zero_at(rhs, point):
                continue  # both sides vanish here: the point proves nothing
            counted += 1
            if counted >= self.points:
                break
        if not proven:
            if counted == 0:
                raise ExactnessError(
                    f"claim {self.claim}: entry {k}: the symbolic step did not show lhs − rhs = "
                    f"0{' on ' + _describe(region) if region else ''}, and both sides vanish at "
                    f"every point drawn ({_TRIES}): nothing is decided")
            if self.method == "symbolic":
                self.method = "exact"
        return None

    def entry(self, k: int, lhs: sp.Expr, rhs: sp.Expr) -> str | None:
        if not decidable(lhs - rhs):
            return self.leaf(k, lhs, rhs, None)
        self.method = "cases" if self.method == "symbolic" else self.method
        stack = [_base_region([lhs, rhs])]
        visited = 0
        while stack:
            region = stack.pop()
            visited += 1
            if visited > _MAX_REGIONS:
                raise ExactnessError(f"claim {self.claim}: entry {k} needs more than "
                                     f"{_MAX_REGIONS} regions; refused rather than truncated")
            resolver = _Resolver(region, self.h0)
            try:
                left, right = resolver.expr(lhs), resolver.expr(rhs)
            except _Undecided as split:
                stack.extend(_split(region, split.g))
                continue
            loose = next((c for c in region if c[2] == ">="), None)
            if loose is not None:  # split g ≥ 0 into g > 0 and g = 0: each part has interior
                rest = tuple(c for c in region if c is not loose)
                stack.extend(p for p in ((*rest, (loose[0], loose[1], ">")),
                                         (*rest, (loose[0], loose[1], "="))) if _feasible(p))
                continue
            found = self.leaf(k, left, right, region)
            if found:
                return found
        return None


def _run(lhs: Any, rhs: Any, claim: str, data: Any, points: int, substitutions: dict | None,
         point_strategy: Any, heaviside_at_zero: Any) -> tuple[str | None, str]:
    subs = dict(substitutions or {})
    left = [e.xreplace(subs) if subs else e for e in _entries(lhs)]
    right = [e.xreplace(subs) if subs else e for e in _entries(rhs)]
    diffs = [d.xreplace(subs) if subs else d for d in _differences(lhs, rhs)]
    strategy = point_strategy if point_strategy is not None else rational_point(_free(diffs, {}))
    prover = _Prover(claim, data, strategy, points, heaviside_at_zero)
    for k, (a, b) in enumerate(zip(left, right, strict=True)):
        found = prover.entry(k, a, b)
        if found:
            return found, prover.method
    return None, prover.method


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
    heaviside_at_zero: Any = None,
) -> str:
    """Assert ``lhs == rhs`` identically; returns how it was shown: "symbolic" (sympy's
    canonicalisation), "exact" (exact evaluation at rational points where a side is nonzero)
    or "cases" (a proof by cases of a piecewise identity, see the module docstring).

    ``substitutions`` are applied first (a constraint such as Σ t = 1); the remaining free
    symbols get rational values drawn from ``data``. Exact evaluations at drawn points run
    too, so a wrong cached simplification cannot hide a false identity: for an entry sympy
    proves, ``points`` per call until it has had three (``_SANITY_POINTS``) at generic points
    (no coordinate 0, the sides nonzero) in this process, and on every call once one has
    failed; for every
    other entry and every region of a proof by cases, on every call.
    ``heaviside_at_zero`` states the convention at a Heaviside breakpoint (e.g. 0: ReLU'(0) = 0).
    Raises ``AssertionError`` with an exact counterexample, or :class:`ExactnessError`.
    """
    found, method = _run(lhs, rhs, claim, data, points, substitutions, point_strategy,
                         heaviside_at_zero)
    if found:
        raise AssertionError(f"claim {claim}: {found}")
    note(f"{claim}: proven ({method})")
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
    heaviside_at_zero: Any = None,
) -> str:
    """Assert that ``lhs == rhs`` is false, and return an exact counterexample as text.

    The claim as written must not canonicalise to zero (nor be proven by cases), and must fail
    exactly at a rational point (for a piecewise identity, a point of a region where it fails).
    """
    diffs = [d.xreplace(substitutions) if substitutions else d
             for d in _differences(lhs, rhs)]
    piecewise = any(decidable(d) for d in diffs)
    if not piecewise and all(symbolically_zero(d) for d in diffs):
        raise AssertionError(f"claim {claim} was expected to be false but sympy proves it")
    found, method = _run(lhs, rhs, claim, data, 1, substitutions, point_strategy,
                         heaviside_at_zero)
    if found:
        return found
    if piecewise:
        raise AssertionError(f"claim {claim} was expected to be false but sympy proves it "
                             f"({method})")
    assume(False)  # this point happens to satisfy the false identity: draw another
    raise AssertionError("unreachable")
