r"""Backpropagation through multilayer perceptrons, in sympy.

Sources:

* ``000_44446893528eed8a.txt`` Problem 1 (the sigmoid MLP and its backprop recursion, with the
  printed gradient table for A₁) and Problem 2 (vanishing gradients);
* ``002_f6a45d0186751a72.txt`` Q1 (the tanh regressor with the mean absolute error: the four
  gradient formulas).

Builders take the sizes and return (what sympy derives from the forward expression, the
seed's closed form), cached per size. Two devices keep the exact checker applicable:

* nested sigmoids put ``exp`` of non-rational arguments into the expressions, so
  ``exp_atoms_as_symbols`` replaces every ``exp(·)`` atom (outermost first) by a fresh symbol,
  consistently on both sides. Two rational functions that agree with those atoms as
  *independent* symbols agree at their actual values, so proving the replaced identity proves
  the original one;
* ``|·|`` differentiates to ``sign(ŷ_i − y_i)``, constant where ŷ_i ≠ y_i; each ``sign`` atom
  is replaced by a symbol s_i (with s_i = sign(ŷ_i − y_i) on both sides).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_000 = "000_44446893528eed8a.txt"
SEED_002 = "002_f6a45d0186751a72.txt"

# The seed's printed table (000, Problem 1, both "autograd" and "backprop" outputs), row-major.
SEED_A1_GRADIENT_TABLE = (
    ("2.3943e-05", "3.7064e-05", "4.2687e-06", "6.3700e-06"),
    ("3.4104e-05", "5.2794e-05", "6.0804e-06", "9.0735e-06"),
    ("2.4438e-05", "3.7831e-05", "4.3571e-06", "6.5019e-06"),
    ("2.0187e-05", "3.1250e-05", "3.5991e-06", "5.3707e-06"),
)

_l, _i, _k, _L = sp.symbols(r"\ell i k L", integer=True, positive=True)
_A, _b, _y, _yt = (sp.IndexedBase(s) for s in ("A", "b", "y", r"\tilde{y}"))
_sig = sp.Function(r"\sigma")
_N = sp.Symbol("N", integer=True, positive=True)
_norm = sp.Function("norm")


def _d(num: str, den: str) -> sp.Derivative:
    """∂num/∂den, unevaluated, for rendering."""
    return sp.Derivative(sp.Symbol(num), sp.Symbol(den))

SIGMOID_BACKPROP = claim(
    "mlp.sigmoid_backprop",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_000} Problem 1 (Option 3)",
    statement="For y_ℓ = σ(A_ℓ y_{ℓ−1} + b_ℓ) (identity last layer), loss ½‖y_L − Y‖²: with the "
    "row δ_ℓ = ∂loss/∂y_ℓ, ∂loss/∂b_ℓ = δ_ℓ diag(σ′(ỹ_ℓ)), ∂loss/∂A_ℓ = (y_{ℓ−1} ∂loss/∂b_ℓ)ᵀ, "
    "δ_{ℓ−1} = (∂loss/∂b_ℓ) A_ℓ, starting from δ_L = (y_L − Y)ᵀ.",
    formula=lambda: _backprop_formula(),
)


def _backprop_formula() -> sp.Basic:
    n, m = sp.symbols("n_ell n_{ell-1}", integer=True, positive=True)
    db, dlt = sp.MatrixSymbol(r"\partial b_\ell", 1, n), sp.MatrixSymbol(r"\delta_\ell", 1, n)
    da, a = sp.MatrixSymbol(r"\partial A_\ell", n, m), sp.MatrixSymbol(r"A_\ell", n, m)
    dprev, yprev = sp.MatrixSymbol(r"\delta_{\ell-1}", 1, m), sp.MatrixSymbol(r"y_{\ell-1}", m, 1)
    slope = sp.MatrixSymbol(r"\operatorname{diag}(\sigma'(\tilde y_\ell))", n, n)
    return sp.And(sp.Eq(db, dlt * slope), sp.Eq(da, (yprev * db).T), sp.Eq(dprev, db * a))


SIGMOID_GOLDEN = claim(
    "mlp.sigmoid_golden_table",
    witnesses=("implementation", "autograd"),
    source=f"{SEED_000} Problem 1 (printed output)",
    statement="With torch.manual_seed(0), L = 6, float32 draws X (4×1), Y (1×1), then (A, b) "
    "(4×4, 4×1) ×5 and (1×4, 1×1), the gradient of ½(y_L − Y)² with respect to A₁ is the "
    "printed table, to the 5 significant digits printed.",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Symbol("loss"), sp.MatrixSymbol("A_1", 4, 4)),
        sp.ImmutableMatrix([[sp.Float(v, 5) for v in row] for row in SEED_A1_GRADIENT_TABLE]),
        evaluate=False,
    ),
)
SIGMOID_SLOPE = claim(
    "mlp.sigmoid_derivative_bound",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_000} Problem 2 (σ′ small / not too large)",
    statement="σ′ = σ(1 − σ) and 1/4 − σ′ = (σ − 1/2)², so 0 < σ′ ≤ 1/4, with equality only "
    "at 0; and σ′(z) ≤ e^{−|z|}.",
    formula=lambda: sp.And(
        sp.Eq(sp.Derivative(_sig(sp.Symbol("z")), sp.Symbol("z")),
              _sig(sp.Symbol("z")) * (1 - _sig(sp.Symbol("z")))),
        sp.Eq(sp.Rational(1, 4) - _sig(sp.Symbol("z")) * (1 - _sig(sp.Symbol("z"))),
              (_sig(sp.Symbol("z")) - sp.Rational(1, 2)) ** 2),
    ),
)
BIAS_BOUND = claim(
    "mlp.bias_gradient_bound",
    witnesses=("autograd",),
    source=f"{SEED_000} Problem 2 ①②",
    statement="For a hidden layer i < L: ∂y_L/∂b_i = (∂y_L/∂y_i) diag(σ′(ỹ_i)), hence "
    "‖∂y_L/∂b_i‖ ≤ ‖∂y_L/∂y_i‖·(1/4) (Frobenius and spectral norms).",
    formula=lambda: sp.Le(
        _norm(_d("y_L", "b_i")), _norm(_d("y_L", "y_i")) / 4,
    ),
)
JACOBIAN_BOUND = claim(
    "mlp.jacobian_norm_bound",
    witnesses=("autograd",),
    source=f"{SEED_000} Problem 2 ①",
    statement="∂y_L/∂y_i = A_L D_{L−1}A_{L−1}⋯D_{i+1}A_{i+1} with D_k = diag(σ′(ỹ_k)), so "
    "‖∂y_L/∂y_i‖₂ ≤ ‖A_L‖₂ ∏_{i<k<L} ‖A_k‖₂/4 (the last layer is linear).",
    formula=lambda: sp.Le(
        _norm(_d("y_L", "y_i")),
        _norm(sp.Symbol("A_L")) * sp.Product(_norm(_A[_k]) / 4, (_k, _i + 1, _L - 1)),
    ),
)
SMALL_WEIGHT = claim(
    "mlp.small_weight_vanishing",
    witnesses=("autograd",),
    source=f"{SEED_000} Problem 2 ① (some A_j small)",
    statement="Scaling one A_j by t: for every earlier layer i < j, ‖∂y_L/∂b_i‖ ≤ t·B_i and "
    "‖∂y_L/∂A_i‖_F ≤ t·B_i‖y_{i−1}‖ (scalar y_L), with B_i = ¼‖A_L‖₂∏_{i<k<L}(‖A_k‖₂/4) "
    "computed from the unscaled weights; both → 0 as t → 0.",
    formula=lambda: sp.Eq(
        sp.Limit(_norm(_d("y_L", "b_i")).subs(sp.Symbol("A_j"), sp.Symbol("t") * sp.Symbol("A_j")),
                 sp.Symbol("t"), 0), 0
    ),
)
SATURATION = claim(
    "mlp.saturation_vanishing",
    witnesses=("autograd",),
    source=f"{SEED_000} Problem 2 ② (|ỹ_j| → ∞)",
    statement="If every pre-activation of a hidden layer j saturates, m = min_k|ỹ_{j,k}| → ∞, "
    "then for i ≤ j: ‖∂y_L/∂b_i‖₂ ≤ e^{−m}·‖A_L‖₂∏_{j<k<L}(‖A_k‖₂/4)·∏_{i<k≤j}(‖A_k‖₂/4) → 0 "
    "(σ′(z) ≤ e^{−|z|}).",
    formula=lambda: sp.Eq(
        sp.Limit(_norm(_d("y_L", "b_i")), sp.Symbol("s"), sp.oo), 0
    ),
)


def _tanh_formula(name: str, rhs: sp.Expr) -> sp.Eq:
    return sp.Eq(sp.Symbol(rf"\partial J/\partial {name}"), rhs)


_s_i = sp.Function("sign")(sp.Symbol(r"\hat y^i") - sp.Symbol("y^i"))
_h_i = sp.tanh(sp.Symbol("b_1") + sp.Symbol("W_1") * sp.Symbol("x^i"))
_avg = lambda e: sp.Sum(e, (_i, 1, _N)) / _N  # noqa: E731
TANH_W1 = claim(
    "mlp.tanh_regression_grad_W1",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_002} Q1 Exercise 1",
    statement="J = (1/N)Σ|ŷ^i − y^i|, ŷ = w₂ᵀ tanh(W₁x + b₁) + b₂: ∂J/∂W₁ = (1/N)Σ sign(ŷ^i − y^i)"
    " (w₂ ⊙ (1 − tanh(b₁ + W₁x^i)²)) x^{iᵀ} (where every ŷ^i ≠ y^i).",
    formula=lambda: _tanh_formula(
        "W_1", _avg(_s_i * sp.Symbol("w_2") * (1 - _h_i**2) * sp.Symbol("x^{i T}"))),
)
TANH_W2 = claim(
    "mlp.tanh_regression_grad_w2",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_002} Q1 Exercise 1",
    statement="∂J/∂w₂ = (1/N)Σ sign(ŷ^i − y^i) tanh(b₁ + W₁x^i).",
    formula=lambda: _tanh_formula("w_2", _avg(_s_i * _h_i)),
)
TANH_B1 = claim(
    "mlp.tanh_regression_grad_b1",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_002} Q1 Exercise 1",
    statement="∂J/∂b₁ = (1/N)Σ sign(ŷ^i − y^i) w₂ ⊙ (1 − tanh(b₁ + W₁x^i)²).",
    formula=lambda: _tanh_formula("b_1", _avg(_s_i * sp.Symbol("w_2") * (1 - _h_i**2))),
)
TANH_B2 = claim(
    "mlp.tanh_regression_grad_b2",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_002} Q1 Exercise 1",
    statement="∂J/∂b₂ = (1/N)Σ sign(ŷ^i − y^i).",
    formula=lambda: _tanh_formula("b_2", _avg(_s_i)),
)
TANH_MSE = claim(
    "mlp.tanh_regression_mse_gradients",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_002} Q1 (the same network with J = (1/2N)Σ(ŷ^i − y^i)², our variant)",
    statement="With the half mean squared error the four formulas hold with sign(ŷ^i − y^i) "
    "replaced by the residual ŷ^i − y^i.",
    formula=lambda: _tanh_formula("b_2", _avg(sp.Symbol(r"\hat y^i") - sp.Symbol("y^i"))),
)


# --------------------------------------------------------------------------- helpers


def exp_atoms_as_symbols(*exprs: sp.MatrixBase) -> tuple[sp.ImmutableMatrix, ...]:
    """Replace every exp(·) atom, outermost first, by a fresh symbol, the same on all exprs."""
    atoms: set[sp.Expr] = set()
    for e in exprs:
        atoms |= e.atoms(sp.exp)
    ordered = sorted(atoms, key=sp.default_sort_key)
    mapping = {a: sp.Symbol(f"E{k}", positive=True) for k, a in enumerate(ordered)}
    # xreplace matches a whole subtree before descending, so an outer exp swallows the
    # inner ones it contains; inner exps elsewhere get their own symbols.
    return tuple(sp.ImmutableMatrix(e.xreplace(mapping)) for e in exprs)


def _sigmoid(z: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-z))


# --------------------------------------------------------------------------- builders


@cache
def sigmoid_network(widths: tuple[int, ...]) -> dict:
    """Symbols and forward expressions of the sigmoid MLP with layer widths n_0 … n_L.

    Returns a dict: ``A``, ``b`` (lists of matrices of symbols), ``x``, ``Y`` (columns),
    ``pre`` (ỹ_ℓ), ``ys`` (y_0 … y_L), ``loss`` = ½‖y_L − Y‖².
    """
    depth = len(widths) - 1
    x = sp.ImmutableMatrix(sp.symbols(f"x0:{widths[0]}", real=True))
    target = sp.ImmutableMatrix(sp.symbols(f"Y0:{widths[-1]}", real=True))
    a_list, b_list, pre, ys = [], [], [], [x]
    for ell in range(1, depth + 1):
        a = sp.ImmutableMatrix(widths[ell], widths[ell - 1],
                               lambda i, j, e=ell: sp.Symbol(f"A{e}_{i}_{j}", real=True))
        b = sp.ImmutableMatrix(sp.symbols(f"b{ell}_0:{widths[ell]}", real=True))
        z = sp.ImmutableMatrix(a * ys[-1] + b)
        a_list.append(a)
        b_list.append(b)
        pre.append(z)
        ys.append(z.applyfunc(_sigmoid) if ell < depth else z)
    r = ys[-1] - target
    loss = sp.Rational(1, 2) * (r.T * r)[0]
    return {"A": a_list, "b": b_list, "x": x, "Y": target, "pre": pre, "ys": ys, "loss": loss}


@cache
def sigmoid_backprop(widths: tuple[int, ...]) -> tuple[list, list]:
    """(sympy's ∂loss/∂A_ℓ, ∂loss/∂b_ℓ for every ℓ; the seed's recursion), exp atoms replaced.

    Each list is [dA_1, db_1, dA_2, db_2, …] with db as a column (the shape of b).
    """
    net = sigmoid_network(widths)
    depth = len(widths) - 1
    loss = net["loss"]
    derived: list = []
    for a, b in zip(net["A"], net["b"], strict=True):
        derived.append(sp.ImmutableMatrix(a.shape[0], a.shape[1],
                                          lambda i, j, a=a: sp.diff(loss, a[i, j])))
        derived.append(sp.ImmutableMatrix([sp.diff(loss, bi) for bi in b]))
    # The seed's Option 3, with σ′(z) = σ(z)(1 − σ(z)) evaluated at the pre-activation.
    closed: list = [None] * (2 * depth)
    dy = (net["ys"][-1] - net["Y"]).T
    for ell in reversed(range(depth)):
        z = net["pre"][ell]
        slope = z.applyfunc(lambda v: _sigmoid(v) * (1 - _sigmoid(v))) if ell < depth - 1 \
            else sp.ones(*z.shape)
        db = sp.ImmutableMatrix(dy * sp.diag(*slope))
        closed[2 * ell] = sp.ImmutableMatrix((net["ys"][ell] * db).T)
        closed[2 * ell + 1] = sp.ImmutableMatrix(db.T)
        dy = db * net["A"][ell]
    replaced = exp_atoms_as_symbols(*derived, *closed)
    return list(replaced[: 2 * depth]), list(replaced[2 * depth:])


@cache
def sigmoid_derivative() -> tuple[sp.Expr, sp.Expr, sp.Expr, sp.Symbol]:
    """(sympy's d/dz σ(z), σ(1 − σ), 1/4 − σ(1 − σ) − (σ − 1/2)², z)."""
    z = sp.Symbol("z", real=True)
    s = _sigmoid(z)
    gap = sp.Rational(1, 4) - s * (1 - s) - (s - sp.Rational(1, 2)) ** 2
    return sp.diff(s, z), s * (1 - s), gap, z


@cache
def tanh_regression(n: int, d: int, h: int, loss: str = "mae") -> tuple[dict, dict, dict]:
    """(sympy's ∂J/∂{W1, b1, w2, b2}, the seed's four formulas, the symbols) for J over N = n.

    ``loss="mae"``: J = (1/N)Σ|r_i|, r_i = ŷ_i − y_i; sympy's sign(±r_i) atoms become ±s_i and
    the seed's sign(r_i) is s_i. ``loss="mse"``: J = (1/2N)Σ r_i², closed forms with r_i.
    """
    w1 = sp.ImmutableMatrix(h, d, lambda i, j: sp.Symbol(f"W{i}_{j}", real=True))
    b1 = sp.ImmutableMatrix(sp.symbols(f"b0:{h}", real=True))
    w2 = sp.ImmutableMatrix(sp.symbols(f"w0:{h}", real=True))
    b2 = sp.Symbol("c", real=True)
    xs = [sp.ImmutableMatrix([sp.Symbol(f"x{i}_{j}", real=True) for j in range(d)])
          for i in range(n)]
    ys = sp.symbols(f"y0:{n}", real=True)
    signs = sp.symbols(f"s0:{n}", real=True)
    hidden = [sp.ImmutableMatrix(w1 * x + b1).applyfunc(sp.tanh) for x in xs]
    r = [(w2.T * hid)[0] + b2 - y for hid, y in zip(hidden, ys, strict=True)]
    if loss == "mae":
        j_loss = sp.Add(*[sp.Abs(ri) for ri in r]) / n
        g = list(signs)
    else:
        j_loss = sp.Add(*[ri**2 for ri in r]) / (2 * n)
        g = r
    params = {"W1": w1, "b1": b1, "w2": w2, "b2": sp.ImmutableMatrix([b2])}
    derived = {k: sp.ImmutableMatrix(v.shape[0], v.shape[1],
                                      lambda i, j, v=v: sp.diff(j_loss, v[i, j]))
               for k, v in params.items()}
    if loss == "mae":
        sign_map = {}
        for ri, si in zip(r, signs, strict=True):
            sign_map[sp.sign(ri)] = si
            sign_map[sp.sign(-ri)] = -si
        derived = {k: v.xreplace(sign_map) for k, v in derived.items()}
        for v in derived.values():
            if v.has(sp.sign, sp.Abs):
                raise AssertionError(f"an unmatched sign/Abs atom survives: {v}")
    one = sp.ones(h, 1)
    slope = [one - hid.applyfunc(lambda t: t**2) for hid in hidden]
    closed = {
        "W1": sum((g[i] * sp.matrix_multiply_elementwise(w2, slope[i]) * xs[i].T
                   for i in range(n)), sp.zeros(h, d)) / n,
        "b1": sum((g[i] * sp.matrix_multiply_elementwise(w2, slope[i]) for i in range(n)),
                  sp.zeros(h, 1)) / n,
        "w2": sum((g[i] * hidden[i] for i in range(n)), sp.zeros(h, 1)) / n,
        "b2": sp.ImmutableMatrix([sp.Add(*g) / n]),
    }
    closed = {k: sp.ImmutableMatrix(v) for k, v in closed.items()}
    return derived, closed, {"signs": signs, "residuals": r}


@cache
def sigmoid_layer_step(n_out: int, n_in: int, last: bool) -> tuple[list, list]:
    """The induction step of the recursion, for any upstream row δ = ∂loss/∂y_ℓ.

    For the scalar δ·y_ℓ with y_ℓ = σ(A y_{ℓ−1} + b) (or the identity when ``last``), returns
    ([sympy's ∂/∂A, ∂/∂b (column), ∂/∂y_{ℓ−1} (row)], [the seed's (y_{ℓ−1}·db)ᵀ, dbᵀ, db·A])
    with db = δ diag(σ′(ỹ_ℓ)). Holding for every δ, it proves the recursion at every depth.
    """
    a = sp.ImmutableMatrix(n_out, n_in, lambda i, j: sp.Symbol(f"A{i}_{j}", real=True))
    b = sp.ImmutableMatrix(sp.symbols(f"b0:{n_out}", real=True))
    y_prev = sp.ImmutableMatrix(sp.symbols(f"y0:{n_in}", real=True))
    delta = sp.ImmutableMatrix([sp.symbols(f"d0:{n_out}", real=True)])  # a row
    z = sp.ImmutableMatrix(a * y_prev + b)
    out = z if last else z.applyfunc(_sigmoid)
    scalar = (delta * out)[0]
    derived = [
        sp.ImmutableMatrix(n_out, n_in, lambda i, j: sp.diff(scalar, a[i, j])),
        sp.ImmutableMatrix([sp.diff(scalar, v) for v in b]),
        sp.ImmutableMatrix([[sp.diff(scalar, v) for v in y_prev]]),
    ]
    slope = sp.ones(n_out, 1) if last else z.applyfunc(lambda v: _sigmoid(v) * (1 - _sigmoid(v)))
    db = delta * sp.diag(*slope)
    closed = [sp.ImmutableMatrix((y_prev * db).T), sp.ImmutableMatrix(db.T),
              sp.ImmutableMatrix(db * a)]
    return derived, closed
