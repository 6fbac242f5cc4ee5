r"""Least squares and gradient descent in sympy.

Source: ``002_f6a45d0186751a72.txt`` Q5 (Problem 5, Exercises 15–18).

Loss :math:`L(w) = \tfrac12\|Xw - y\|^2` with X of shape (n, d). Two encodings:

* ``MatrixSymbol`` with *symbolic* sizes (n, d): the gradient, the rewriting of one GD step as
  :math:`w \mapsto A w + \alpha b` with :math:`A = I - \alpha X^\top X`, :math:`b = X^\top y`,
  and the k-step unrolling in A and b (sympy expands noncommutative products of one matrix);
* explicit small matrices of scalar symbols (n ≤ 3, d ≤ 2): everything above plus the
  minimiser (a rational function of X's entries), proven exactly at rational points.

The induction step of the closed form is a polynomial identity in the single matrix A; it is
proven with a scalar indeterminate a and *symbolic* k (``Sum``), which is enough because
:math:`p(a) = q(a)` in ℝ[a] implies :math:`p(A) = q(A)` (evaluation at A is a ring
homomorphism; only powers of one matrix appear).

The seed's convergence proof says ":math:`I - \alpha X^\top X` is positive definite" for
:math:`0 < \alpha < 2/\lambda_{\max}`; that is false (any α in (1/λ_max, 2/λ_max) makes the
eigenvalue 1 − αλ_max negative). What the proof needs is the spectral radius
:math:`\rho(I - \alpha X^\top X) = \max_i |1 - \alpha\lambda_i| < 1`.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_002 = "002_f6a45d0186751a72.txt"

alpha = sp.Symbol("alpha", positive=True)
lam = sp.Symbol("lambda", positive=True)  # an eigenvalue of XᵀX (full column rank: > 0)

# Symbols used only to render the statements (symbolic sizes).
_n, _d = sp.symbols("n d", integer=True, positive=True)
_X, _y = sp.MatrixSymbol("X", _n, _d), sp.MatrixSymbol("y", _n, 1)
_w, _w0 = sp.MatrixSymbol("w", _d, 1), sp.MatrixSymbol("w_0", _d, 1)
_k, _i = sp.symbols("k i", integer=True, nonnegative=True)
_A = sp.Identity(_d) - alpha * _X.T * _X
# sympy cannot add a matrix-valued Sum to a MatAdd; the sum is rendered as one named vector
_GEOMETRIC = sp.MatrixSymbol(r"\sum_{i=0}^{k-1} \left(\mathbb{I} - \alpha X^{T} X\right)^{i} "
                             r"X^{T} y", _d, 1)
_lam_max = sp.Symbol(r"\lambda_{\max}", positive=True)
_w_star, _w_k, _w_2 = (sp.MatrixSymbol(r"w^\star", _d, 1), sp.MatrixSymbol("w_k", _d, 1),
                       sp.MatrixSymbol("w_2", _d, 1))


def _loss(X, w, y):
    return sp.Rational(1, 2) * (X * w - y).T * (X * w - y)


GRADIENT = claim(
    "least_squares.gradient",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_002} Q5 (Exercise 15)",
    statement="∇_w ½‖Xw − y‖² = Xᵀ(Xw − y).",
    formula=lambda: sp.Eq(sp.Derivative(_loss(_X, _w, _y), _w), _X.T * (_X * _w - _y),
                          evaluate=False),
)
MINIMISER = claim(
    "least_squares.minimiser",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_002} Q5 (Exercise 15)",
    statement="With X of full column rank the unique minimiser is (XᵀX)⁻¹Xᵀy (gradient zero, "
    "Hessian XᵀX positive definite).",
    formula=lambda: sp.Eq(_w_star, (_X.T * _X).inverse() * _X.T * _y),
)
FIRST_ITERATES = claim(
    "least_squares.first_iterates",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_002} Q5 (Exercise 16)",
    statement="w₁ = (I − αXᵀX)w₀ + αXᵀy and w₂ = (I − αXᵀX)²w₀ + (I − αXᵀX)αXᵀy + αXᵀy.",
    formula=lambda: sp.Eq(_w_2,
                          _A**2 * _w0 + _A * alpha * _X.T * _y + alpha * _X.T * _y),
)
ITERATE_CLOSED_FORM = claim(
    "least_squares.iterate_closed_form",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_002} Q5 (Exercise 17)",
    statement="w_k = (I − αXᵀX)^k w₀ + α Σ_{i<k} (I − αXᵀX)^i Xᵀy, by induction on k.",
    formula=lambda: sp.Eq(_w_k, sp.MatPow(_A, _k) * _w0
                          + alpha * _GEOMETRIC),
)
CONVERGES = claim(
    "least_squares.converges_iff_step_below_two_over_lambda_max",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_002} Q5 (Exercise 18)",
    statement="w_k − w* = (I − αXᵀX)^k (w₀ − w*), so GD converges to the minimiser for every w₀ "
    "iff 0 < α < 2/λ_max(XᵀX), and diverges for generic w₀ when α > 2/λ_max.",
    formula=lambda: sp.Eq(_w_k - _w_star,
                          sp.MatPow(_A, _k) * (_w0 - _w_star)),
)
SPECTRAL_RADIUS = claim(
    "least_squares.spectral_radius_below_one",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_002} Q5 (Exercise 18, corrected)",
    statement="For XᵀX positive definite: ρ(I − αXᵀX) = max_i |1 − αλ_i| < 1 ⟺ "
    "0 < α < 2/λ_max; then Σ_i (I − αXᵀX)^i = (αXᵀX)⁻¹ (Neumann series).",
    formula=lambda: sp.Equivalent(sp.Lt(sp.Abs(1 - alpha * lam), 1),
                                  sp.And(sp.Lt(0, alpha), sp.Lt(alpha, 2 / lam))),
)
POSITIVE_DEFINITE = claim(
    "least_squares.iteration_matrix_positive_definite",
    witnesses=("symbolic",),
    source=f"{SEED_002} Q5 (Exercise 18: 'I − αXᵀX is positive definite')",
    statement="As written in the seed: 0 < α < 2/λ_max implies I − αXᵀX is positive definite "
    "(false for every α in (1/λ_max, 2/λ_max)).",
    # I − αXᵀX ≻ 0 ⟺ its smallest eigenvalue 1 − αλ_max is positive
    formula=lambda: sp.Implies(sp.And(sp.Lt(0, alpha), sp.Lt(alpha, 2 / _lam_max)),
                               sp.Gt(1 - alpha * _lam_max, 0)),
    verdict="refuted",
    corrected_by="least_squares.spectral_radius_below_one",
)


# ----------------------------------------------------------- MatrixSymbol (symbolic sizes)


@cache
def gradient_matrix_symbols() -> sp.MatrixExpr:
    """sympy's ∇_w ½‖Xw − y‖² minus Xᵀ(Xw − y), expanded (symbolic n, d)."""
    return sp.expand(sp.diff(_loss(_X, _w, _y), _w) - _X.T * (_X * _w - _y))


@cache
def gd_step_is_affine_matrix_symbols() -> sp.MatrixExpr:
    """(w − αXᵀ(Xw − y)) − ((I − αXᵀX)w + αXᵀy), expanded (symbolic n, d)."""
    step = _w - alpha * _X.T * (_X * _w - _y)
    return sp.expand(step - (_A * _w + alpha * _X.T * _y))


@cache
def unrolled_matrix_symbols(k: int) -> sp.MatrixExpr:
    r"""k steps of w ↦ Aw + αb minus A^k w₀ + α Σ_{i<k} A^i b, expanded (A, b symbols, d
    symbolic)."""
    A, b, w0 = sp.MatrixSymbol("A", _d, _d), sp.MatrixSymbol("b", _d, 1), _w0
    cur = w0
    for _ in range(k):
        cur = A * cur + alpha * b
    if k == 0:
        return sp.expand(cur - w0)
    geometric = sp.MatAdd(b, *[A**i * b for i in range(1, k)])  # Σ_{i<k} A^i b
    closed = A**k * w0 + alpha * geometric
    return sp.expand(cur - closed)


# ----------------------------------------------------------- explicit small matrices


@cache
def problem(n: int, d: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(X, y, w₀) as explicit matrices of real symbols, X of shape (n, d)."""
    X = sp.ImmutableMatrix(n, d, lambda r, c: sp.Symbol(f"x{r}_{c}", real=True))
    y = sp.ImmutableMatrix(sp.symbols(f"y0:{n}", real=True))
    w0 = sp.ImmutableMatrix(sp.symbols(f"w0_0:{d}", real=True))
    return X, y, w0


@cache
def weights(d: int) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(sp.symbols(f"w0:{d}", real=True))


@cache
def explicit_loss(n: int, d: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix,
                                           sp.ImmutableMatrix, sp.Expr]:
    """(X, w, r = Xw − y, ½‖r‖²) for the explicit n×d problem."""
    X, y, _ = problem(n, d)
    w = weights(d)
    r = X * w - y
    return X, w, r, sp.Rational(1, 2) * (r.T * r)[0]


@cache
def loss_gradient(n: int, d: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(sympy's gradient of ½‖Xw − y‖², the closed form Xᵀ(Xw − y))."""
    X, w, r, loss = explicit_loss(n, d)
    derived = sp.ImmutableMatrix([sp.diff(loss, wi) for wi in w])
    return derived, sp.ImmutableMatrix(X.T * r)


@cache
def hessian(n: int, d: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(sympy's Hessian of the loss, XᵀX)."""
    X, w, _, loss = explicit_loss(n, d)
    return sp.ImmutableMatrix(sp.hessian(loss, list(w))), sp.ImmutableMatrix(X.T * X)


@cache
def minimiser(n: int, d: int) -> sp.ImmutableMatrix:
    """The seed's minimiser (XᵀX)⁻¹Xᵀy (entries rational in X; poles where det XᵀX = 0)."""
    X, y, _ = problem(n, d)
    return sp.ImmutableMatrix((X.T * X).inv() * X.T * y)


@cache
def gradient_at_minimiser(n: int, d: int) -> sp.ImmutableMatrix:
    """Xᵀ(Xw* − y) at w* = (XᵀX)⁻¹Xᵀy (claimed identically zero)."""
    X, y, _ = problem(n, d)
    return sp.ImmutableMatrix(X.T * (X * minimiser(n, d) - y))


def iteration_matrix(X: sp.MatrixBase) -> sp.ImmutableMatrix:
    """A = I − αXᵀX."""
    return sp.ImmutableMatrix(sp.eye(X.shape[1]) - alpha * X.T * X)


@cache
def gd_iterates(n: int, d: int, k: int) -> tuple[sp.ImmutableMatrix, ...]:
    """w₀ … w_k of w_{j+1} = w_j − α Xᵀ(Xw_j − y), unrolled and expanded by sympy."""
    X, y, w0 = problem(n, d)
    out = [w0]
    for _ in range(k):
        w = out[-1]
        out.append(sp.ImmutableMatrix(sp.expand(w - alpha * X.T * (X * w - y))))
    return tuple(out)


@cache
def seed_first_iterates(n: int, d: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """The seed's w₁ = (I − αXᵀX)w₀ + αXᵀy and w₂ = A²w₀ + Aα Xᵀy + αXᵀy."""
    X, y, w0 = problem(n, d)
    A, b = iteration_matrix(X), X.T * y
    return (sp.ImmutableMatrix(A * w0 + alpha * b),
            sp.ImmutableMatrix(A**2 * w0 + A * alpha * b + alpha * b))


@cache
def iterate_closed_form(n: int, d: int, k: int) -> sp.ImmutableMatrix:
    r"""w_k = A^k w₀ + α Σ_{i=0}^{k−1} A^i Xᵀy (the seed's Exercise 17)."""
    X, y, w0 = problem(n, d)
    A, b = iteration_matrix(X), X.T * y
    acc = A**k * w0
    for i in range(k):
        acc = acc + alpha * A**i * b
    return sp.ImmutableMatrix(sp.expand(acc))


@cache
def error_recursion_matrix_symbols(k: int) -> sp.MatrixExpr:
    r"""(w_k − w*) − A^k (w₀ − w*), expanded, for k steps of w ↦ Aw + αb (symbolic d).

    The minimiser enters only through the normal equations XᵀXw* = Xᵀy, i.e.
    αb = αXᵀXw* = (I − A)w*, which is substituted for αb. The identity behind both
    convergence (ρ(A) < 1) and divergence (an eigenvalue of modulus > 1 and a generic w₀).
    """
    A, w_star, w0 = sp.MatrixSymbol("A", _d, _d), sp.MatrixSymbol("w_star", _d, 1), _w0
    alpha_b = w_star - A * w_star  # (I − A) w*
    cur = w0
    for _ in range(k):
        cur = A * cur + alpha_b
    return sp.expand(cur - w_star - A**k * (w0 - w_star)) if k else sp.expand(cur - w0)


@cache
def induction_step_scalar() -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    r"""Induction step with symbolic k, as a polynomial identity in one indeterminate a (= A):

    :math:`a\,(a^k w + \alpha\sum_{i=0}^{k-1} a^i b) + \alpha b` against
    :math:`a^{k+1} w + \alpha\sum_{i=0}^{k} a^i b`; ``doit`` sums the geometric series (with
    its a = 1 branch), so the two sides are compared for *every* k. Returns (lhs, rhs, k).
    """
    a, w, b = sp.symbols("a w b")
    k = sp.Symbol("k", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    w_k = a**k * w + alpha * sp.Sum(a**i, (i, 0, k - 1)) * b
    lhs = a * w_k + alpha * b
    rhs = a ** (k + 1) * w + alpha * sp.Sum(a**i, (i, 0, k)) * b
    return lhs, rhs, k


@cache
def telescoping(d: int, k: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    r"""(αXᵀX) Σ_{i<k} A^i = I − A^k with A = I − αXᵀX (explicit d×d symmetric M = XᵀX).

    Hence, when ρ(A) < 1, A^k → 0 and α Σ_i A^i Xᵀy → (XᵀX)⁻¹Xᵀy: the seed's limit, which
    needs αXᵀX (not I − αXᵀX) invertible.
    """
    M = sp.ImmutableMatrix(d, d, lambda r, c: sp.Symbol(f"m{min(r, c)}_{max(r, c)}", real=True))
    A = sp.eye(d) - alpha * M
    total = sp.zeros(d, d)
    for i in range(k):
        total += A**i
    return sp.ImmutableMatrix(sp.expand(alpha * M * total)), sp.ImmutableMatrix(
        sp.expand(sp.eye(d) - A**k))


@cache
def eigenvalue_map(d: int) -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    r"""det(tI − (I − αM)) against (−α)^d det(((1 − t)/α) I − M): the eigenvalues of
    I − αM are exactly 1 − αλ_i (explicit symmetric d×d M). Returns (lhs, rhs, t)."""
    t = sp.Symbol("t", real=True)
    M = sp.ImmutableMatrix(d, d, lambda r, c: sp.Symbol(f"m{min(r, c)}_{max(r, c)}", real=True))
    lhs = (t * sp.eye(d) - (sp.eye(d) - alpha * M)).det()
    rhs = (-alpha) ** d * (((1 - t) / alpha) * sp.eye(d) - M).det()
    return sp.expand(lhs), sp.expand(rhs), t


@cache
def contraction_condition() -> tuple[sp.Set, sp.Set]:
    r"""(the set of α > 0 with |1 − αλ| < 1 solved by sympy for λ > 0, the interval (0, 2/λ)).

    Applied to every eigenvalue λ_i of XᵀX, ρ(I − αXᵀX) < 1 ⟺ α < 2/λ_i for all i ⟺
    α < 2/λ_max: the condition is sharp.
    """
    solved = sp.solveset(sp.Abs(1 - alpha * lam) < 1, alpha, sp.Interval.open(0, sp.oo))
    return solved, sp.Interval.open(0, 2 / lam)


@cache
def positive_definite_condition() -> tuple[sp.Set, sp.Set]:
    """(the α > 0 with 1 − αλ > 0 for λ > 0, i.e. the PD condition on that eigenvalue, solved
    by sympy, the interval (0, 1/λ)): strictly smaller than (0, 2/λ)."""
    solved = sp.solveset(1 - alpha * lam > 0, alpha, sp.Interval.open(0, sp.oo))
    return solved, sp.Interval.open(0, 1 / lam)
