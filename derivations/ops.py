r"""The ops of a small reverse-mode library (vugrad) in sympy: each backward as a claim.

Source: ``003_6e09f081ee206780.txt`` (deep-learning assignment 2), questions 1–10.

Convention: an op maps inputs to an output Y; with an upstream gradient U = ∇Y (a matrix of
free symbols ``u{i}_{j}``) the loss is L = Σ U ⊙ Y, so the gradient sympy derives for an
input X is ∂L/∂X (``vjp``). Every builder takes the sizes (drawn by Hypothesis in the tests)
and returns a list of ``(derived, closed)`` pairs, one per input in the op's input order:
``derived`` is what sympy differentiates, ``closed`` is the closed form the seed (or the
issue) states and the kernel in ``impl/autodiff.py`` implements. Entries of an input named
``x`` are the symbols ``x{i}_{j}``, so a test can lambdify ``closed`` at drawn arrays.

Builders are cached per size; this module imports sympy only.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED = "003_6e09f081ee206780.txt"

# ------------------------------------------------------------------------------ claims
# Display symbols, only to render the statements.
_X, _Y, _Z, _W = (sp.Symbol(s) for s in ("X", "Y", "Z", "W"))
_gX, _gY, _gZ, _gW = (sp.Symbol(rf"\nabla {s}") for s in ("X", "Y", "Z", "W"))
_gA, _gB = sp.Symbol(r"\nabla A"), sp.Symbol(r"\nabla B")
_A, _B = sp.Symbol("A"), sp.Symbol("B")
_i, _j, _k, _n = sp.symbols("i j k n", integer=True)
_x, _y, _gy, _t, _s = (sp.IndexedBase(s) for s in ("x", "y", r"\nabla y", "t", "s"))
_f = sp.Function("f")
_odot = sp.Function(r"\odot")
_rowsum = sp.Function(r"\operatorname{rowsum}")
_sigma = sp.Function(r"\sigma")

ADD = claim(
    "ops.add_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q5–6 (Add)",
    statement="Z = A + B: ∇A = ∇Z and ∇B = ∇Z.",
    formula=lambda: sp.And(sp.Eq(_gA, _gZ), sp.Eq(_gB, _gZ)),
)
SUBTRACT = claim(
    "ops.subtract_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} (Subtract, used by log-softmax)",
    statement="Z = A − B: ∇A = ∇Z and ∇B = −∇Z.",
    formula=lambda: sp.And(sp.Eq(_gA, _gZ), sp.Eq(_gB, -_gZ)),
)
MULTIPLY = claim(
    "ops.multiply_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} (Multiply, element-wise)",
    statement="Z = A ⊙ B: ∇A = ∇Z ⊙ B and ∇B = ∇Z ⊙ A.",
    formula=lambda: sp.And(sp.Eq(_gA, _odot(_gZ, _B)), sp.Eq(_gB, _odot(_gZ, _A))),
)
DIVIDE = claim(
    "ops.divide_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q1",
    statement="Z = X / Y element-wise (Y ≠ 0): ∇X = ∇Z ⊙ 1/Y and ∇Y = −∇Z ⊙ X/Y².",
    formula=lambda: sp.And(sp.Eq(_gX, _odot(_gZ, 1 / _Y)), sp.Eq(_gY, -_odot(_gZ, _X / _Y**2))),
)
ELEMENTWISE = claim(
    "ops.elementwise_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q2",
    statement="Y = f(X) element-wise: ∇X = ∇Y ⊙ f′(X) (sigmoid σ′ = σ(1 − σ), tanh′ = 1 − tanh², "
    "exp′ = exp, log′ = 1/x on x > 0).",
    formula=lambda: sp.Eq(_gX, _odot(_gY, sp.Derivative(_f(_X), _X))),
)
RELU = claim(
    "ops.relu_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q9",
    statement="ReLU(x) = max(x, 0): ∇X = ∇Y ⊙ [X > 0]. At the kink x = 0 the library (like the "
    "seed's np.where(input > 0, 1, 0) and torch) uses 0, a subgradient: it lies between the "
    "one-sided derivatives 0 and 1.",
    formula=lambda: sp.Eq(_gX, _odot(_gY, sp.Heaviside(_X, 0))),
)
_nd, _fd, _md = sp.symbols("n f m", integer=True, positive=True)


def matmul_formula(n=_nd, f=_fd, m=_md) -> tuple[sp.Eq, sp.Eq]:
    """(∇X = ∇Y Wᵀ, ∇W = Xᵀ ∇Y) with non-commutative matrix symbols (X n×f, W f×m), so the
    rendered order is the order of the product; the tests substitute the builder's matrices
    (``matmul_gradient``) and compare."""
    x, w = sp.MatrixSymbol("X", n, f), sp.MatrixSymbol("W", f, m)
    gy = sp.MatrixSymbol(r"\nabla Y", n, m)
    return (sp.Eq(sp.MatrixSymbol(r"\nabla X", n, f), gy * w.T),
            sp.Eq(sp.MatrixSymbol(r"\nabla W", f, m), x.T * gy))


MATMUL = claim(
    "ops.matmul_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q3",
    statement="Y = XW: ∇X = ∇Y Wᵀ and ∇W = Xᵀ ∇Y.",
    formula=lambda: sp.And(*matmul_formula()),
)
EXPAND_AS_WRITTEN = claim(
    "ops.expand_gradient_as_written",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED} Q4 (last line)",
    statement="Y = [x, x, …, x] (k identical columns): the seed ends with ∇X = Σ_j ∇Y_j = ∇Y. "
    "False for k ≥ 2 (and ∇Y is n×k while x is n×1; even read column by column it is false).",
    formula=lambda: sp.Eq(_gX, _gY),
    verdict="refuted",
    corrected_by="ops.expand_gradient",
)
EXPAND = claim(
    "ops.expand_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q4 (corrected)",
    statement="Y = [x, x, …, x] (k identical columns): ∇x = Σ_j ∇Y_{:, j}, the row sum of ∇Y.",
    formula=lambda: sp.Eq(sp.Indexed(r"\nabla x", _i), sp.Sum(_gy[_i, _j], (_j, 1, _k))),
)
SUM = claim(
    "ops.sum_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} (Sum)",
    statement="s = Σ_ij X_ij: ∇X = ∇s · 1 (every entry gets the scalar upstream gradient).",
    formula=lambda: sp.Eq(sp.Derivative(sp.Sum(_x[_i, _j], (_i, 1, _n), (_j, 1, _k)),
                                        _x[_i, _j]), 1),
)
ROW_SUM = claim(
    "ops.row_sum_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} (RowSum, used by log-softmax)",
    statement="y_i = Σ_j X_ij: ∇X_ij = ∇y_i (the upstream column expanded to every column).",
    formula=lambda: sp.Eq(sp.Indexed(r"\nabla X", _i, _j), sp.Indexed(r"\nabla y", _i)),
)
ROW_MAX = claim(
    "ops.row_max_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} (RowMax, used by log-softmax)",
    statement="y_i = max_j X_ij: ∇X_ij = ∇y_i [j = argmax_j X_ij] where the maximum is unique "
    "(on ties the library routes the gradient to the first maximal entry, a subgradient).",
    formula=lambda: sp.Eq(sp.Indexed(r"\nabla X", _i, _j),
                          sp.Indexed(r"\nabla y", _i)
                          * sp.KroneckerDelta(_j, sp.Symbol(r"\operatorname{argmax}_j X_{ij}"))),
)
ROW_MAX_TIES = claim(
    "ops.row_max_ties",
    source=f"{SEED} (RowMax, used by log-softmax); the library's tie convention",
    statement="At a tie RowMax routes the whole ∇y_i to the first maximal entry of row i, the "
    "convention of torch.max(x, dim) (one index, the first); torch.amax splits it evenly "
    "instead. Either is a subgradient: the routed entries sum to ∇y_i and vanish off the "
    "maximal entries.",
    formula=lambda: sp.And(
        sp.Eq(sp.Sum(sp.Indexed(r"\nabla X", _i, _j), (_j, 1, _n)), sp.Indexed(r"\nabla y", _i)),
        sp.Eq(sp.Indexed(r"\nabla X", _i, _j)
              * (sp.Function(r"\max_l")(sp.Indexed("X", _i, sp.Symbol("l")))
                 - sp.Indexed("X", _i, _j)), 0)),
    witnesses=("symbolic", "implementation", "autograd"),
)
RELU_KINK = claim(
    "ops.relu_kink_convention",
    source=f"{SEED} Q9 (np.where(input > 0, 1, 0)); the library's kink convention",
    statement="At x = 0 ReLU's gradient is 0 (the library, the seed's np.where(input > 0, 1, "
    "0), torch.relu): a subgradient, between the one-sided derivatives 0 and 1.",
    formula=lambda: sp.Eq(sp.Subs(sp.Derivative(sp.Max(_x[_i], 0), _x[_i]), _x[_i], 0),
                          sp.Heaviside(0, 0)),
    witnesses=("symbolic", "implementation", "autograd"),
)
NORMALIZE_AS_WRITTEN = claim(
    "ops.normalize_intermediate_as_written",
    witnesses=("symbolic",),
    source=f"{SEED} Q8 (second line of the derivation)",
    statement="The seed's middle step ∇x_ij = −Σ_l ∇y_il x_il/s_i² + ∇y_ij/s_i² (s_i the row "
    "sum): the last term must be ∇y_ij/s_i (the seed's next line has it right).",
    formula=lambda: sp.Eq(sp.Indexed(r"\nabla x", _i, _j),
                          -sp.Sum(_gy[_i, _k] * _x[_i, _k], (_k, 1, _n)) / _s[_i]**2
                          + _gy[_i, _j] / _s[_i]**2),
    verdict="refuted",
    corrected_by="ops.normalize_gradient",
)
NORMALIZE = claim(
    "ops.normalize_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q8",
    statement="Y = X / rowsum(X) (inputs positive): ∇X = ∇Y/s − rowsum(∇Y ⊙ X/s²), s the row "
    "sums (broadcast along the row).",
    formula=lambda: sp.Eq(_gX, _gY / sp.Symbol("s")
                          - _rowsum(_odot(_gY, _X / sp.Symbol("s") ** 2))),
)
LOG_SOFTMAX = claim(
    "ops.log_softmax_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q10 (vg.logsoftmax)",
    statement="Y = X − log Σ_j exp X_ij per row: ∇X = ∇Y − softmax(X) ⊙ rowsum(∇Y); the same "
    "gradient whether the op is fused or composed of RowMax, Expand, Subtract, Exp, RowSum, Log.",
    formula=lambda: sp.Eq(_gX, _gY - _odot(sp.Function("softmax")(_X), _rowsum(_gY))),
)
CROSS_ENTROPY = claim(
    "ops.cross_entropy_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q10 (loss of the MLP)",
    statement="L = −(1/N) Σ T ⊙ logsoftmax(X), built from ops, with rows of T distributions: "
    "∇X = (softmax(X) − T)/N.",
    formula=lambda: sp.Eq(_gX, (sp.Function("softmax")(_X) - sp.Symbol("T")) / sp.Symbol("N")),
)
ACCUMULATION = claim(
    "ops.gradient_accumulation",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q5 4), Q7 (multivariate chain rule)",
    statement="A node used by several ops gets the sum of the gradients along every path: "
    "for Z = f(X) ⊙ g(X), ∇X = ∇Z ⊙ g(X) ⊙ f′(X) + ∇Z ⊙ f(X) ⊙ g′(X); for Z = A + A, ∇A = 2∇Z.",
    formula=lambda: sp.Eq(sp.Derivative(_f(_X) * sp.Function("g")(_X), _X),
                          sp.Function("g")(_X) * sp.Derivative(_f(_X), _X)
                          + _f(_X) * sp.Derivative(sp.Function("g")(_X), _X)),
)
GRAPH = claim(
    "ops.graph_structure",
    witnesses=("implementation",),
    source=f"{SEED} Q3, Q5, Q6",
    statement="c = a + b gives c.value = a.value + b.value, c.source an OpNode whose op is Add, "
    "whose inputs are (a, b) and whose outputs are (c); a.grad is zero until backward.",
)
_bd, _wd = sp.symbols("B D", integer=True, positive=True)


def residual_block_formula(batch=_bd, width=_wd) -> tuple[sp.Eq, sp.Eq, sp.Eq]:
    """(∇H₁ = (∇H₂ ⊙ σ′(A))Wᵀ + ∇H₂, ∇W = H₁ᵀ(∇H₂ ⊙ σ′(A)), ∇b = 1ᵀ(∇H₂ ⊙ σ′(A))) with
    non-commutative matrix symbols (H₁ B×D, W D×D, σ′(A) the B×D matrix σ(A) ⊙ (1 − σ(A)));
    the tests substitute the builder's matrices (``residual_block_parts``) and compare."""
    h, w = sp.MatrixSymbol("H_1", batch, width), sp.MatrixSymbol("W", width, width)
    gh2 = sp.MatrixSymbol(r"\nabla H_2", batch, width)
    local = sp.HadamardProduct(gh2, sp.MatrixSymbol(r"\sigma'(A)", batch, width))
    return (sp.Eq(sp.MatrixSymbol(r"\nabla H_1", batch, width), local * w.T + gh2),
            sp.Eq(sp.MatrixSymbol(r"\nabla W", width, width), h.T * local),
            sp.Eq(sp.MatrixSymbol(r"\nabla b", 1, width),
                  sp.MatrixSymbol(r"\mathbf{1}", batch, 1).T * local))


RESIDUAL_BLOCK = claim(
    "ops.residual_block_gradient",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED} Q10",
    statement="H₂ = σ(H₁W + 1bᵀ) + H₁: ∇H₁ = (∇H₂ ⊙ σ′(A))Wᵀ + ∇H₂ (the skip path adds ∇H₂), "
    "∇W = H₁ᵀ(∇H₂ ⊙ σ′(A)), ∇b = 1ᵀ(∇H₂ ⊙ σ′(A)).",
    formula=lambda: sp.And(*residual_block_formula()),
)
RESIDUAL_MLP = claim(
    "ops.residual_mlp_gradient",
    witnesses=("autograd",),
    source=f"{SEED} Q10",
    statement="The residual MLP (layer1, σ, layer2, σ, + skip, layer3, log-softmax, "
    "cross-entropy) built from the library's ops: every parameter gradient equals autograd's.",
)


# ---------------------------------------------------------------------------- builders


@cache
def matrix(name: str, rows: int, cols: int, positive: bool = False) -> sp.ImmutableMatrix:
    """A rows×cols matrix of real symbols ``{name}{i}_{j}`` (positive ones when asked)."""
    kw = {"positive": True} if positive else {}
    return sp.ImmutableMatrix(rows, cols,
                              lambda i, j: sp.Symbol(f"{name}{i}_{j}", real=True, **kw))


def vjp(output: sp.MatrixBase, wrt: sp.MatrixBase, upstream: sp.MatrixBase) -> sp.ImmutableMatrix:
    """∂L/∂wrt for L = Σ upstream ⊙ output, differentiated by sympy entry by entry."""
    if output.shape != upstream.shape:
        raise ValueError(f"upstream {upstream.shape} must match the output {output.shape}")
    loss = sp.Add(*[u * y for u, y in zip(upstream, output, strict=True)])
    return sp.ImmutableMatrix(wrt.shape[0], wrt.shape[1], lambda i, j: sp.diff(loss, wrt[i, j]))


def _map(f, m: sp.MatrixBase) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(m.shape[0], m.shape[1], lambda i, j: f(m[i, j]))


def _had(a: sp.MatrixBase, b: sp.MatrixBase) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(a.multiply_elementwise(b))


def _row_sums(m: sp.MatrixBase) -> sp.ImmutableMatrix:
    """The column of row sums, m·1."""
    return sp.ImmutableMatrix(m * sp.ones(m.shape[1], 1))


def _broadcast_columns(col: sp.MatrixBase, k: int) -> sp.ImmutableMatrix:
    """An n×1 column repeated into k columns."""
    return sp.ImmutableMatrix(col * sp.ones(1, k))


Pairs = list[tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]]


@cache
def add_gradient(m: int, n: int) -> Pairs:
    a, b, u = matrix("a", m, n), matrix("b", m, n), matrix("u", m, n)
    z = a + b
    return [(vjp(z, a, u), u), (vjp(z, b, u), u)]


@cache
def subtract_gradient(m: int, n: int) -> Pairs:
    a, b, u = matrix("a", m, n), matrix("b", m, n), matrix("u", m, n)
    z = a - b
    return [(vjp(z, a, u), u), (vjp(z, b, u), -u)]


@cache
def multiply_gradient(m: int, n: int) -> Pairs:
    a, b, u = matrix("a", m, n), matrix("b", m, n), matrix("u", m, n)
    z = _had(a, b)
    return [(vjp(z, a, u), _had(u, b)), (vjp(z, b, u), _had(u, a))]


@cache
def divide_gradient(m: int, n: int) -> Pairs:
    """Seed Q1: ∇X = ∇Z ⊙ 1/Y, ∇Y = −∇Z ⊙ X/Y² (inputs named a = X, b = Y)."""
    a, b, u = matrix("a", m, n), matrix("b", m, n), matrix("u", m, n)
    z = sp.ImmutableMatrix(m, n, lambda i, j: a[i, j] / b[i, j])
    return [(vjp(z, a, u), _had(u, _map(lambda y: 1 / y, b))),
            (vjp(z, b, u), -_had(u, sp.ImmutableMatrix(m, n, lambda i, j: a[i, j] / b[i, j]**2)))]


def sigmoid(x: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-x))


# name -> (f, the closed-form derivative the kernels implement, input domain positive?)
ELEMENTWISE_FUNCTIONS = {
    "sigmoid": (sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)), False),
    "tanh": (sp.tanh, lambda x: 1 - sp.tanh(x) ** 2, False),
    "exp": (sp.exp, sp.exp, False),
    "log": (sp.log, lambda x: 1 / x, True),
}


@cache
def elementwise_gradient(name: str, m: int, n: int) -> Pairs:
    """Seed Q2: ∇X = ∇Y ⊙ f′(X), with f′ the closed form of ``ELEMENTWISE_FUNCTIONS``."""
    f, fprime, positive = ELEMENTWISE_FUNCTIONS[name]
    x, u = matrix("x", m, n, positive), matrix("u", m, n)
    return [(vjp(_map(f, x), x, u), _had(u, _map(fprime, x)))]


@cache
def relu_gradient(m: int, n: int) -> Pairs:
    """Seed Q9 away from the kink: sympy differentiates Max(x, 0); closed form ∇Y ⊙ [X > 0]."""
    x, u = matrix("x", m, n), matrix("u", m, n)
    step = _map(lambda xi: sp.Piecewise((1, xi > 0), (0, True)), x)
    return [(vjp(_map(lambda xi: sp.Max(xi, 0), x), x, u), _had(u, step))]


@cache
def relu_one_sided_derivatives() -> tuple[sp.Expr, sp.Expr]:
    """(left, right) derivative of max(x, 0) at the kink x = 0, by sympy's ``limit``."""
    h = sp.Symbol("h", real=True)
    quotient = (sp.Max(h, 0) - sp.Max(0, 0)) / h
    return sp.limit(quotient, h, 0, "-"), sp.limit(quotient, h, 0, "+")


@cache
def matmul_gradient(n: int, f: int, m: int) -> Pairs:
    """Seed Q3: Y = XW with X n×f, W f×m: ∇X = ∇Y Wᵀ, ∇W = Xᵀ ∇Y (inputs named x, w)."""
    x, w, u = matrix("x", n, f), matrix("w", f, m), matrix("u", n, m)
    y = x * w
    return [(vjp(y, x, u), sp.ImmutableMatrix(u * w.T)),
            (vjp(y, w, u), sp.ImmutableMatrix(x.T * u))]


@cache
def expand_gradient(n: int, k: int) -> Pairs:
    """Seed Q4 corrected: x (n×1) expanded to k columns; ∇x = ∇Y·1 (row sums)."""
    x, u = matrix("x", n, 1), matrix("u", n, k)
    y = _broadcast_columns(x, k)
    return [(vjp(y, x, u), _row_sums(u))]


@cache
def expand_gradient_as_written(n: int, k: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """Seed Q4 as written, "∇X = ∇Y", in the only reading where the shapes agree.

    ∇x is n×1 and ∇Y is n×k, so the equation does not type-check for k ≥ 2; read column by
    column (every column of ∇Y equals ∇x, i.e. ∇x broadcast to k columns equals ∇Y) it is
    false. Returns (sympy's ∇x broadcast to k columns, ∇Y).
    """
    (derived, _), = expand_gradient(n, k)
    return _broadcast_columns(derived, k), matrix("u", n, k)


@cache
def sum_gradient(m: int, n: int) -> Pairs:
    x, u = matrix("x", m, n), matrix("u", 1, 1)
    s = sp.ImmutableMatrix([[sp.Add(*x)]])
    return [(vjp(s, x, u), sp.ImmutableMatrix(m, n, lambda i, j: u[0, 0]))]


@cache
def row_sum_gradient(m: int, n: int) -> Pairs:
    x, u = matrix("x", m, n), matrix("u", m, 1)
    return [(vjp(_row_sums(x), x, u), _broadcast_columns(u, n))]


@cache
def row_max_gradient(m: int, n: int) -> Pairs:
    """sympy differentiates Max of each row; closed form: ∇y_i at the (unique) argmax."""
    x, u = matrix("x", m, n), matrix("u", m, 1)
    y = sp.ImmutableMatrix(m, 1, lambda i, _: sp.Max(*x.row(i)))

    def at_argmax(i: int, j: int) -> sp.Expr:
        others = [x[i, l] for l in range(n) if l != j]
        return sp.Piecewise((u[i, 0], sp.And(*[x[i, j] > o for o in others])), (0, True))

    return [(vjp(y, x, u), sp.ImmutableMatrix(m, n, at_argmax))]


@cache
def row_max_first_argmax(n: int) -> Pairs:
    """The library's tie convention for one row of n entries as a closed form, the whole ∇y to
    the first maximal entry: g_j = u·[x_j > x_l for l < j and x_j ≥ x_l for l > j]; and the two
    subgradient identities it must satisfy, proven by cases (ties included):
    Σ_j g_j = u, and g_j·(max_l x_l − x_j) = 0 for every j."""
    x, u = matrix("x", 1, n), matrix("u", 1, 1)[0, 0]

    def first(j: int) -> sp.Expr:
        wins = [x[0, j] > x[0, l] for l in range(j)] + [x[0, j] >= x[0, l]
                                                        for l in range(j + 1, n)]
        return sp.Piecewise((u, sp.And(*wins)), (0, True))

    g = [first(j) for j in range(n)]
    top = sp.Max(*x.row(0))
    return [(sp.ImmutableMatrix([[sp.Add(*g)]]), sp.ImmutableMatrix([[u]])),
            (sp.ImmutableMatrix([[gj * (top - x[0, j]) for j, gj in enumerate(g)]]),
             sp.zeros(1, n))]


def _normalize(x: sp.MatrixBase) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    s = _row_sums(x)
    return sp.ImmutableMatrix(x.shape[0], x.shape[1], lambda i, j: x[i, j] / s[i, 0]), s


@cache
def normalize_gradient(m: int, n: int) -> Pairs:
    """Seed Q8: ∇X = ∇Y/s − rowsum(∇Y ⊙ X/s²), s the row sums, X positive."""
    x, u = matrix("x", m, n, positive=True), matrix("u", m, n)
    y, s = _normalize(x)
    inner = _row_sums(sp.ImmutableMatrix(m, n, lambda i, j: u[i, j] * x[i, j] / s[i, 0] ** 2))
    closed = sp.ImmutableMatrix(m, n, lambda i, j: u[i, j] / s[i, 0] - inner[i, 0])
    return [(vjp(y, x, u), closed)]


@cache
def normalize_intermediate_as_written(m: int, n: int) -> tuple[sp.ImmutableMatrix,
                                                                 sp.ImmutableMatrix]:
    """Seed Q8, second line: −Σ_l ∇y_il x_il/s² + ∇y_ij/s² (against sympy's ∇X)."""
    x, u = matrix("x", m, n, positive=True), matrix("u", m, n)
    y, s = _normalize(x)
    inner = _row_sums(sp.ImmutableMatrix(m, n, lambda i, j: u[i, j] * x[i, j] / s[i, 0] ** 2))
    written = sp.ImmutableMatrix(m, n, lambda i, j: -inner[i, 0] + u[i, j] / s[i, 0] ** 2)
    return vjp(y, x, u), written


def _softmax_rows(x: sp.MatrixBase) -> sp.ImmutableMatrix:
    e = _map(sp.exp, x)
    s = _row_sums(e)
    return sp.ImmutableMatrix(x.shape[0], x.shape[1], lambda i, j: e[i, j] / s[i, 0])


@cache
def log_softmax_gradient(m: int, n: int) -> Pairs:
    """∇X = ∇Y − softmax(X) ⊙ rowsum(∇Y)."""
    x, u = matrix("x", m, n), matrix("u", m, n)
    lse = _row_sums(_map(sp.exp, x))
    y = sp.ImmutableMatrix(m, n, lambda i, j: x[i, j] - sp.log(lse[i, 0]))
    s, r = _softmax_rows(x), _row_sums(u)
    return [(vjp(y, x, u), sp.ImmutableMatrix(m, n, lambda i, j: u[i, j] - s[i, j] * r[i, 0]))]


@cache
def cross_entropy_gradient(m: int, n: int) -> Pairs:
    """L = −(1/m) Σ T ⊙ logsoftmax(X) with each row of T a distribution: ∇X = (S − T)/m.

    The last target of each row is 1 − Σ of the others, so rows sum to one by construction;
    the targets are named ``t``, and ``t{i}_{n−1}`` is not a free symbol.
    """
    x = matrix("x", m, n)
    free = matrix("t", m, n)
    t = sp.ImmutableMatrix(m, n, lambda i, j: free[i, j] if j < n - 1
                           else 1 - sp.Add(*[free[i, l] for l in range(n - 1)]))
    lse = _row_sums(_map(sp.exp, x))
    log_s = sp.ImmutableMatrix(m, n, lambda i, j: x[i, j] - sp.log(lse[i, 0]))
    loss = sp.ImmutableMatrix([[-sp.Add(*_had(t, log_s)) / m]])
    derived = vjp(loss, x, sp.ImmutableMatrix([[1]]))
    return [(derived, sp.ImmutableMatrix((_softmax_rows(x) - t) / m))]


@cache
def diamond_gradient(m: int, n: int) -> Pairs:
    """Z = σ(X) ⊙ exp(X): sympy's ∇X against the sum over the two paths through X."""
    x, u = matrix("x", m, n), matrix("u", m, n)
    p, q = _map(sigmoid, x), _map(sp.exp, x)
    z = _had(p, q)
    via_p = _had(_had(u, q), _map(lambda xi: sigmoid(xi) * (1 - sigmoid(xi)), x))
    via_q = _had(_had(u, p), q)
    return [(vjp(z, x, u), sp.ImmutableMatrix(via_p + via_q))]


@cache
def self_add_gradient(m: int, n: int) -> Pairs:
    """Z = A + A: ∇A = 2∇Z (both inputs of the Add are the same node)."""
    a, u = matrix("a", m, n), matrix("u", m, n)
    return [(vjp(a + a, a, u), sp.ImmutableMatrix(2 * u))]


@cache
def residual_block_parts(batch: int, width: int) -> dict[str, sp.ImmutableMatrix]:
    """The matrices of the residual block: h, w, b, u (= ∇H₂), a = H₁W + 1bᵀ, σ′(A)."""
    h, w, b, u = (matrix("h", batch, width), matrix("w", width, width), matrix("b", 1, width),
                  matrix("u", batch, width))
    a = sp.ImmutableMatrix(h * w + sp.ones(batch, 1) * b)
    return {"h": h, "w": w, "b": b, "u": u, "a": a,
            "sigma_prime": _map(lambda ai: sigmoid(ai) * (1 - sigmoid(ai)), a)}


@cache
def residual_block_gradient(batch: int, width: int) -> Pairs:
    """H₂ = σ(H₁W + 1bᵀ) + H₁ (W square, b a row): gradients for H₁, W, b (named h, w, b)."""
    parts = residual_block_parts(batch, width)
    h, w, b, u, a = (parts[k] for k in "hwbua")
    h2 = sp.ImmutableMatrix(_map(sigmoid, a) + h)
    local = _had(u, parts["sigma_prime"])
    return [
        (vjp(h2, h, u), sp.ImmutableMatrix(local * w.T + u)),
        (vjp(h2, w, u), sp.ImmutableMatrix(h.T * local)),
        (vjp(h2, b, u), sp.ImmutableMatrix(sp.ones(1, batch) * local)),
    ]


# ------------------------------------------- slips of Q3 and Q8 (the words and the case split)

MATMUL_ENTRY = claim(
    "ops.matmul_entry",
    source=f"{SEED} Q3 (corrected)",
    statement="For Y = XW with X n×f and W f×m: y_ij = Σ_{r=1}^{f} x_ir w_rj, row i of X "
    "times column j of W.",
    formula=lambda: sp.Eq(sp.Indexed("y", _i, _j),
                          sp.Sum(sp.Indexed("x", _i, _k) * sp.Indexed("w", _k, _j),
                                 (_k, 1, sp.Symbol("f")))),
    witnesses=("symbolic",),
)
MATMUL_ENTRY_WORDS = claim(
    "ops.matmul_entry_words_as_written",
    source=f"{SEED} Q3 ('the result of multiplying column i of W and row j of X')",
    statement="y_ij is column i of W times row j of X. False: that product is Σ_r w_ri x_jr "
    "= y_ji (and exists only for i ≤ m, j ≤ n); y_ij is row i of X times column j of W.",
    formula=lambda: sp.Eq(sp.Indexed("y", _i, _j),
                          sp.Sum(sp.Indexed("w", _k, _i) * sp.Indexed("x", _j, _k),
                                 (_k, 1, sp.Symbol("f")))),
    verdict="refuted",
    corrected_by="ops.matmul_entry",
    witnesses=("symbolic",),
)
MATMUL_ENTRY_RANGE = claim(
    "ops.matmul_entry_sum_to_n_as_written",
    source=f"{SEED} Q3 (y_ij = Σ_{{r=1}}^n x_ir w_rj)",
    statement="y_ij = Σ_{r=1}^{n} x_ir w_rj for X n×f. False: r runs over the f columns of X; "
    "with n < f terms are dropped (n = 1, f = 2), with n > f the sum leaves X.",
    formula=lambda: sp.Eq(sp.Indexed("y", _i, _j),
                          sp.Sum(sp.Indexed("x", _i, _k) * sp.Indexed("w", _k, _j),
                                 (_k, 1, _n))),
    verdict="refuted",
    corrected_by="ops.matmul_entry",
    witnesses=("symbolic",),
)
NORMALIZE_PARTIALS = claim(
    "ops.normalize_partials",
    source=f"{SEED} Q8 (the case split, corrected)",
    statement="y_kl = x_kl / s_k, s_k = Σ_l x_kl: ∂y_kl/∂x_ij = δ_ik (δ_jl s_k − x_kl)/s_k², "
    "zero exactly when i ≠ k (whatever j and l).",
    formula=lambda: sp.Eq(sp.Derivative(sp.Indexed("y", _k, sp.Symbol("l")), _x[_i, _j]),
                          sp.KroneckerDelta(_i, _k)
                          * (sp.KroneckerDelta(_j, sp.Symbol("l")) * _s[_k]
                             - _x[_k, sp.Symbol("l")]) / _s[_k] ** 2),
    witnesses=("symbolic",),
)
NORMALIZE_CASES = claim(
    "ops.normalize_cases_as_written",
    source=f"{SEED} Q8 (the case split: '0 if i ≠ k, j ≠ l')",
    statement="∂y_kl/∂x_ij is 0 if i ≠ k, j ≠ l; −x_kl/s_k² if i = k, j ≠ l; (s_k − x_kl)/s_k² "
    "if i = k, j = l. False: the zero case is i ≠ k alone. With the comma as 'and', "
    "(i ≠ k, j = l) is in no case; as 'or', (i = k, j ≠ l) gets 0 instead of −x_kl/s_k².",
    formula=None,
    verdict="refuted",
    corrected_by="ops.normalize_partials",
    witnesses=("symbolic",),
)


@cache
def matmul_entry(n: int, f: int, m: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix,
                                                  sp.ImmutableMatrix]:
    """(Y = XW, X (n×f), W (f×m)) with real symbols."""
    x, w = matrix("x", n, f), matrix("w", f, m)
    return sp.ImmutableMatrix(x * w), x, w


def matmul_entry_words(x: sp.MatrixBase, w: sp.MatrixBase, i: int, j: int) -> sp.Expr:
    """Seed Q3's words: column i of W times row j of X, Σ_r w_ri x_jr."""
    return sp.Add(*[w[r, i] * x[j, r] for r in range(w.shape[0])])


def matmul_entry_sum_to_n(x: sp.MatrixBase, w: sp.MatrixBase, i: int, j: int) -> sp.Expr:
    """Seed Q3's sum Σ_{r=1}^{n} x_ir w_rj, n the rows of X (only where the indices exist)."""
    n, f = x.shape
    if n > f:
        raise IndexError(f"Σ_{{r=1}}^{{n}} x_ir needs column r = {f + 1} … {n} of an n×f X")
    return sp.Add(*[x[i, r] * w[r, j] for r in range(n)])


@cache
def normalize_partials(m: int, n: int) -> tuple[dict, dict, sp.ImmutableMatrix]:
    """{(k, l, i, j): ∂y_kl/∂x_ij by sympy}, {(k, l, i, j): δ_ik(δ_jl s_k − x_kl)/s_k²}, X."""
    x = matrix("x", m, n, positive=True)
    y, s = _normalize(x)
    idx = [(k, l, i, j) for k in range(m) for l in range(n) for i in range(m)
           for j in range(n)]
    derived = {t: sp.diff(y[t[0], t[1]], x[t[2], t[3]]) for t in idx}
    closed = {(k, l, i, j): (sp.Integer(0) if i != k else
                             ((s[k, 0] if j == l else 0) - x[k, l]) / s[k, 0] ** 2)
              for k, l, i, j in idx}
    return derived, closed, x


def normalize_case_as_written(x: sp.MatrixBase, k: int, l: int, i: int, j: int,
                              comma: str) -> sp.Expr | None:
    """Seed Q8's case split at (k, l, i, j), its comma in '0 if i ≠ k, j ≠ l' read as
    ``"and"`` or ``"or"``; ``None`` where no case applies."""
    s = sum(x[k, c] for c in range(x.shape[1]))
    zero = (i != k and j != l) if comma == "and" else (i != k or j != l)
    if zero:
        return sp.Integer(0)
    if i == k and j != l:
        return -x[k, l] / s**2
    if i == k and j == l:
        return (s - x[k, l]) / s**2
    return None
