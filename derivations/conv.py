r"""Convolutions as matrices, and their backward passes, in sympy.

Sources: ``001_d80f36ddf3b5193b.txt`` Problem 4 (one-dimensional convolutional layers
:math:`y_\ell = \sigma(\mathcal C_{w_\ell} y_{\ell-1} + b_\ell \mathbf 1)`, the banded matrix
:math:`\mathcal C_w`, and backprop through it), and the two-dimensional convolution backward
that the same homework relies on (stride, padding, dilation).

Every builder takes sizes (drawn by Hypothesis in the tests) and returns (what sympy derives
from the forward expression with ``diff``, the closed form). Builders are cached per size.

Notation. For a filter :math:`w\in\mathbb R^f` and :math:`y\in\mathbb R^n`,
:math:`\mathcal C_w` is the :math:`(n-f+1)\times n` banded matrix with
:math:`(\mathcal C_w y)_i = w^\top y_{i:i+f-1}` (cross-correlation, no flip). The seed writes
the weight gradient as :math:`(\mathcal C^\top_{v_\ell} y_{\ell-1})^\top`, where
:math:`v_\ell = \partial y_L/\partial y_\ell\,\mathrm{diag}(\sigma'(\cdot))` is a *row* of
length :math:`n_\ell`: the transpose belongs to :math:`v_\ell` (the filter of
:math:`\mathcal C` is a column), i.e. :math:`\mathcal C_{v_\ell^\top} y_{\ell-1}`, the
:math:`f_\ell = n_{\ell-1}-n_\ell+1` correlations of :math:`y_{\ell-1}` with :math:`v_\ell`.
Read as the transpose of the *matrix* :math:`\mathcal C_{v_\ell}` (an
:math:`n_{\ell-1}\times f_\ell` matrix) the product with :math:`y_{\ell-1}` is not defined
unless :math:`n_\ell = 1`; the seed's own component formula (its last display) is the
correlation, which is what is proven here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_001 = "001_d80f36ddf3b5193b.txt"

_i, _k, _f, _n = sp.symbols("i k f n", integer=True)
_w, _y, _v = sp.IndexedBase("w"), sp.IndexedBase("y"), sp.IndexedBase("v")
_C = sp.Function(r"\mathcal{C}_w")

TOEPLITZ = claim(
    "conv.toeplitz_is_correlation",
    witnesses=("symbolic", "implementation"),
    source=f"{SEED_001} Problem 4",
    statement="The banded (n−f+1)×n matrix C_w applied to y is the cross-correlation of y "
    "with w: (C_w y)_i = Σ_k w_k y_{i+k} (what torch.nn.functional.conv1d computes).",
    formula=lambda: sp.Eq(
        sp.Indexed(sp.MatrixSymbol("C_w", _n - _f + 1, _n) * sp.MatrixSymbol("y", _n, 1), _i, 0),
        sp.Sum(_w[_k] * _y[_i + _k], (_k, 0, _f - 1)),
    ),
)
WEIGHT_GRAD = claim(
    "conv.weight_gradient",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_001} Problem 4 (a)",
    statement="∂y_L/∂w_ℓ = (C_{v_ℓᵀ} y_{ℓ−1})ᵀ: component k is Σ_i (v_ℓ)_i (y_{ℓ−1})_{i+k}, "
    "the correlation of y_{ℓ−1} with v_ℓ = ∂y_L/∂y_ℓ diag(σ′(C_{w_ℓ} y_{ℓ−1} + b_ℓ 1)).",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Symbol("y_L"), _w[_k]),
        sp.Sum(_v[_i] * _y[_i + _k], (_i, 0, sp.Symbol("n_ell") - 1)),
    ),
)
BIAS_GRAD = claim(
    "conv.bias_gradient",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_001} Problem 4 (a)",
    statement="∂y_L/∂b_ℓ = v_ℓ 1.",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Symbol("y_L"), sp.Symbol("b_ell")),
        sp.Sum(_v[_i], (_i, 0, sp.Symbol("n_ell") - 1)),
    ),
)
RECURSION = claim(
    "conv.backprop_recursion",
    witnesses=("symbolic", "autograd"),
    source=f"{SEED_001} Problem 4 (a)–(b)",
    statement="Backprop through a deep 1-D conv net by v_L = u, v_ℓ = (v_{ℓ+1} C_{w_{ℓ+1}}) ⊙ "
    "σ′(z_ℓ), where v C_w is the full convolution of v with w (no matrix formed, no "
    "matrix-matrix product), gives every ∂/∂w_ℓ and ∂/∂b_ℓ.",
    formula=lambda: sp.Eq(
        sp.Indexed("v_ell", sp.Symbol("j")),
        sp.Sum(sp.Indexed("v_ell+1", _i) * sp.Indexed("w_ell+1", sp.Symbol("j") - _i),
               (_i, 0, sp.Symbol("n_ell+1") - 1))
        * sp.Derivative(sp.Function("sigma")(sp.Indexed("z_ell", sp.Symbol("j"))),
                        sp.Indexed("z_ell", sp.Symbol("j"))),
    ),
)
_X, _U, _K = sp.IndexedBase("X"), sp.IndexedBase("U"), sp.IndexedBase("K")
_h, _a, _o, _c = sp.symbols("h a o c", integer=True)
_s, _p, _d = sp.symbols("s p d", integer=True, positive=True)
_Co, _kk, _Ho = sp.symbols("C_out k H_out", integer=True, positive=True)
INPUT_GRAD_2D = claim(
    "conv.input_gradient_2d",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_001} Problem 4 (2-D form)",
    statement="The input gradient of a 2-D convolution (stride s, padding p, dilation d) is "
    "the transposed convolution: insert s−1 zeros between the upstream entries, correlate "
    "fully with the flipped (dilated) kernel, crop the padding p.",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Symbol("L"), _X[_c, _h]),
        sp.Sum(_U[_o, (_h + _p - _d * _a) / _s] * _K[_o, _c, _a], (_o, 0, _Co - 1),
               (_a, 0, _kk - 1)),
    ),
)
WEIGHT_GRAD_2D = claim(
    "conv.weight_gradient_2d",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_001} Problem 4 (2-D form)",
    statement="The weight gradient of a 2-D convolution is the correlation of the padded "
    "input with the upstream gradient (upstream taps s apart, output taps d apart), "
    "summed over the batch.",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Symbol("L"), _K[_o, _c, _a]),
        sp.Sum(_U[_o, _h] * _X[_c, _s * _h + _d * _a - _p], (_h, 0, _Ho - 1)),
    ),
)
BIAS_GRAD_2D = claim(
    "conv.bias_gradient_2d",
    witnesses=("symbolic", "implementation", "autograd"),
    source=f"{SEED_001} Problem 4 (2-D form)",
    statement="The bias gradient of a 2-D convolution is the sum of the upstream gradient "
    "over batch and positions.",
    formula=lambda: sp.Eq(sp.Derivative(sp.Symbol("L"), sp.Indexed("b", _o)),
                          sp.Sum(_U[_o, _h], (_h, 0, _Ho - 1))),
)


# --------------------------------------------------------------------------- 1-D builders


def vector(name: str, n: int) -> sp.ImmutableMatrix:
    """A column of n real symbols name0 … name{n−1}."""
    return sp.ImmutableMatrix(sp.symbols(f"{name}0:{n}", real=True))


def toeplitz(w: sp.ImmutableMatrix, n: int) -> sp.ImmutableMatrix:
    r"""The seed's banded matrix :math:`\mathcal C_w`: row i holds w in columns i … i+f−1."""
    f = len(w)
    return sp.ImmutableMatrix(n - f + 1, n, lambda i, j: w[j - i] if 0 <= j - i < f else 0)


def correlate(y: sp.ImmutableMatrix, w: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    """Valid cross-correlation from its definition: entry i is Σ_k w_k y_{i+k}."""
    f, n = len(w), len(y)
    return sp.ImmutableMatrix([sum(w[k] * y[i + k] for k in range(f)) for i in range(n - f + 1)])


def full_convolution(v: sp.ImmutableMatrix, w: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    """Full convolution from its definition: entry j is Σ_i v_i w_{j−i} (length m + f − 1)."""
    m, f = len(v), len(w)
    return sp.ImmutableMatrix([
        sum(v[i] * w[j - i] for i in range(m) if 0 <= j - i < f) for j in range(m + f - 1)
    ])


@cache
def toeplitz_is_correlation(f: int, n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(C_w y, the correlation Σ_k w_k y_{i+k})."""
    w, y = vector("w", f), vector("y", n)
    return toeplitz(w, n) * y, correlate(y, w)


# Activations for the symbolic witness. Polynomials keep every value exactly rational at
# rational points however deep the network (tanh of tanh would not); the claims hold for any
# differentiable σ, and the kernels are tested with tanh, sigmoid and softplus.
ACTIVATIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "identity": lambda z: z,
    "quadratic": lambda z: z + z**2 / 2,
    "cubic": lambda z: z**3 / 3 - z,
}


def _sigma_prime(name: str, z: sp.Expr) -> sp.Expr:
    t = sp.Dummy("t")
    return sp.diff(ACTIVATIONS[name](t), t).xreplace({t: z})


@cache
def layer_gradients(f: int, n: int, activation: str) -> tuple[tuple, tuple]:
    r"""One layer y' = σ(C_w y + b 1) under an upstream row u (length n − f + 1).

    Returns ((∂/∂w, ∂/∂b, ∂/∂y of u·y' from sympy), (the seed's closed forms)): with
    v = u ⊙ σ'(z), ∂/∂w = C_{vᵀ} y (correlation of y with v), ∂/∂b = v·1, and
    ∂/∂y = (v C_w)ᵀ = full convolution of v with w.
    """
    w, y, u = vector("w", f), vector("y", n), vector("u", n - f + 1)
    b = sp.Symbol("b", real=True)
    sigma = ACTIVATIONS[activation]
    z = toeplitz(w, n) * y + b * sp.ones(n - f + 1, 1)
    loss = sum(u[i] * sigma(z[i]) for i in range(n - f + 1))
    derived = (
        sp.ImmutableMatrix([sp.diff(loss, wk) for wk in w]),
        sp.ImmutableMatrix([sp.diff(loss, b)]),
        sp.ImmutableMatrix([sp.diff(loss, yk) for yk in y]),
    )
    v = sp.ImmutableMatrix([u[i] * _sigma_prime(activation, z[i]) for i in range(len(u))])
    closed = (
        toeplitz(v, n) * y,
        sp.ImmutableMatrix([sum(v)]),
        full_convolution(v, w),
    )
    return derived, closed


@cache
def network_gradients(
    n0: int, filters: tuple[int, ...], activation: str
) -> tuple[list[sp.ImmutableMatrix], list[sp.ImmutableMatrix]]:
    r"""A deep 1-D conv net: y_ℓ = σ(C_{w_ℓ} y_{ℓ−1} + b_ℓ 1), the last layer linear.

    The loss is u·y_L (u a symbolic upstream row; the seed's scalar y_L is n_L = 1, u = 1).
    Returns ([∂/∂w_1, ∂/∂b_1, ∂/∂w_2, …] from sympy's ``diff``, the same list from the seed's
    recursion v_L = u, v_ℓ = (v_{ℓ+1} C_{w_{ℓ+1}}) ⊙ σ′(z_ℓ), ∂/∂w_ℓ = C_{v_ℓᵀ} y_{ℓ−1},
    ∂/∂b_ℓ = v_ℓ 1), the recursion using the full convolution, never C_w.
    """
    L = len(filters)
    ws = [vector(f"w{ell}_", f) for ell, f in enumerate(filters, start=1)]
    bs = [sp.Symbol(f"b{ell}", real=True) for ell in range(1, L + 1)]
    ys, zs = [vector("y", n0)], []
    for ell in range(L):
        n = len(ys[-1])
        z = toeplitz(ws[ell], n) * ys[-1] + bs[ell] * sp.ones(n - len(ws[ell]) + 1, 1)
        act = ACTIVATIONS["identity" if ell == L - 1 else activation]
        zs.append(z)
        ys.append(sp.ImmutableMatrix([act(zi) for zi in z]))
    u = vector("u", len(ys[-1]))
    loss = (u.T * ys[-1])[0]
    derived: list[sp.ImmutableMatrix] = []
    for ell in range(L):
        derived.append(sp.ImmutableMatrix([sp.diff(loss, wk) for wk in ws[ell]]))
        derived.append(sp.ImmutableMatrix([sp.diff(loss, bs[ell])]))
    closed: list[sp.ImmutableMatrix] = [None] * (2 * L)  # type: ignore[list-item]
    v = u  # v_L: the last layer is linear, σ' = 1
    for ell in reversed(range(L)):
        closed[2 * ell] = correlate(ys[ell], v)  # C_{vᵀ} y_{ℓ−1}
        closed[2 * ell + 1] = sp.ImmutableMatrix([sum(v)])
        if ell > 0:
            back = full_convolution(v, ws[ell])  # v C_w, length n_{ℓ−1}
            v = sp.ImmutableMatrix([back[j] * _sigma_prime(activation, zs[ell - 1][j])
                                    for j in range(len(back))])
    return derived, closed


# --------------------------------------------------------------------------- 2-D builders


def _out_size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


@cache
def conv2d_gradients(
    c_in: int, c_out: int, hw: tuple[int, int], khw: tuple[int, int],
    stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int],
) -> tuple[tuple, tuple]:
    r"""A 2-D convolution (one image) under a symbolic upstream gradient U.

    Forward from the definition: out[o,i,j] = b_o + Σ K[o,c,a,e] X̄[c, s i + d a, s j + d e]
    with X̄ the zero-padded input. Returns ((∂L/∂X, ∂L/∂K, ∂L/∂b) by sympy ``diff`` of
    L = Σ U ⊙ out, (the closed forms)): the transposed convolution of U (zero insertion,
    full correlation with the flipped kernel, crop p), the correlation of X̄ with the
    zero-inserted U, ΣU. The closed forms never reuse the forward's index s i + d a: the
    weight gradient is a correlation of two whole arrays, so sympy's ``diff`` of the loss is
    checked against an independent construction.
    Each gradient is flattened to a column in C-order.
    """
    (H, W), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = hw, khw, stride, padding, dilation
    Ho, Wo = _out_size(H, kh, sh, ph, dh), _out_size(W, kw, sw, pw, dw)
    xs = sp.symbols(f"x0:{c_in * H * W}", real=True)
    ks = sp.symbols(f"k0:{c_out * c_in * kh * kw}", real=True)
    X, K = sp.Array(xs, (c_in, H, W)), sp.Array(ks, (c_out, c_in, kh, kw))
    us = sp.symbols(f"u0:{c_out * Ho * Wo}", real=True)
    U = sp.Array(us, (c_out, Ho, Wo))
    b = sp.symbols(f"b0:{c_out}", real=True)

    def xbar(c: int, r: int, q: int) -> sp.Expr:
        r, q = r - ph, q - pw
        return X[c, r, q] if 0 <= r < H and 0 <= q < W else sp.S.Zero

    # The loss is a polynomial: it is built and differentiated in the ring Q[X, K, U, b]
    # (sympy's sparse polynomials), the same derivative as ``diff`` on the expression at a
    # fraction of the cost, each monomial touched once instead of once per variable.
    gens = (*xs, *ks, *us, *b)
    ring, *gs = sp.polys.rings.ring(gens, sp.QQ)
    g = dict(zip(gens, gs, strict=True))
    loss = ring.zero
    for o in range(c_out):
        for i in range(Ho):
            for j in range(Wo):
                out = g[b[o]]
                for c in range(c_in):
                    for a in range(kh):
                        for e in range(kw):
                            x = xbar(c, sh * i + dh * a, sw * j + dw * e)
                            if x != 0:
                                out += g[K[o, c, a, e]] * g[x]
                loss += g[U[o, i, j]] * out
    derived = tuple(sp.ImmutableMatrix([loss.diff(g[v]).as_expr() for v in variables])
                    for variables in (xs, ks, b))

    # Input gradient: zero insertion (stride), full correlation with the flipped kernel.
    Hz, Wz = (Ho - 1) * sh + 1, (Wo - 1) * sw + 1

    def uz(o: int, r: int, q: int) -> sp.Expr:  # U with s−1 zeros inserted
        if 0 <= r < Hz and 0 <= q < Wz and r % sh == 0 and q % sw == 0:
            return U[o, r // sh, q // sw]
        return sp.S.Zero

    # full[c, m, t] = Σ_{o,a,e} Uz[o, m − d a, t − d e] K[o, c, a, e]: the correlation of Uz
    # (padded by d(k−1)) with the flipped kernel, indexed in padded-input coordinates.
    def full(c: int, m: int, t: int) -> sp.Expr:
        return sum(
            uz(o, m - dh * (kh - 1) + dh * a, t - dw * (kw - 1) + dw * e)
            * K[o, c, kh - 1 - a, kw - 1 - e]  # the flipped kernel
            for o in range(c_out) for a in range(kh) for e in range(kw)
        )

    grad_x = sp.ImmutableMatrix([full(c, h + ph, w + pw)
                                 for c in range(c_in) for h in range(H) for w in range(W)])
    # Weight and bias gradients, built without the forward's tap indexing (s i + d a): the
    # correlation of X̄ with the zero-inserted upstream Uz (the stride lives in Uz's zeros),
    # read at kernel taps d apart, and the sum of Uz over its whole grid.
    grad_k = sp.ImmutableMatrix([
        sum(uz(o, m, t) * xbar(c, dh * a + m, dw * e + t) for m in range(Hz) for t in range(Wz))
        for o in range(c_out) for c in range(c_in) for a in range(kh) for e in range(kw)
    ])
    grad_b = sp.ImmutableMatrix([sum(uz(o, m, t) for m in range(Hz) for t in range(Wz))
                                 for o in range(c_out)])
    return derived, (grad_x, grad_k, grad_b)


# ------------------------------------------------------------------------------ max-pool

MAX_POOL = claim(
    "conv.max_pool_gradient",
    source=f"this suite's convention, torch.nn.functional.max_pool2d's (max-pooling layers "
    f"appear in {SEED_001} Problem 2's AlexNet; the seed states no gradient for them)",
    statement="Y[i, j] = max of the k×k window at (s i, s j): ∂L/∂X sends each window's "
    "∇Y[i, j] to a maximal entry of the window — off ties the unique argmax (sympy's "
    "derivative), at ties the first maximal entry in row-major order, as torch's max_pool2d "
    "(a subgradient: it sums to ∇Y[i, j] and sits on maximal entries); overlapping windows add.",
    formula=lambda: sp.Eq(
        sp.Derivative(sp.Symbol("L"), sp.Indexed("X", sp.Symbol("r"), sp.Symbol("q"))),
        sp.Sum(sp.Indexed(r"\nabla Y", _i, sp.Symbol("j"))
               * sp.Function(r"\mathbb{1}")(sp.Eq(sp.Tuple(sp.Symbol("r"), sp.Symbol("q")),
                                                  sp.Function(r"\operatorname{argmax}_{w_{ij}}")
                                                  (sp.Symbol("X")))),
               (_i, 0, sp.Symbol("H_out") - 1), (sp.Symbol("j"), 0, sp.Symbol("W_out") - 1))),
    witnesses=("symbolic", "implementation", "autograd"),
)


def _pool_windows(h: int, w: int, k: tuple[int, int], s: int):
    xs = sp.ImmutableMatrix(h, w, lambda r, q: sp.Symbol(f"x{r}_{q}", real=True))
    ho, wo = (h - k[0]) // s + 1, (w - k[1]) // s + 1
    windows = {(i, j): [(s * i + a, s * j + e) for a in range(k[0]) for e in range(k[1])]
               for i in range(ho) for j in range(wo)}  # row-major order inside each window
    us = {ij: sp.Symbol(f"u{ij[0]}_{ij[1]}", real=True) for ij in windows}
    return xs, windows, us


@cache
def max_pool_gradient(h: int, w: int, k: tuple[int, int], s: int
                      ) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(sympy's ∂L/∂X of L = Σ_ij u_ij·Max(window_ij), the strict-argmax closed form
    Σ_ij u_ij·[X[r, q] beats every other entry of window_ij]), flattened in C-order.

    With the convention H(0) = 0 the two agree everywhere, ties included (0 at a tie)."""
    xs, windows, us = _pool_windows(h, w, k, s)
    loss = sp.Add(*[us[ij] * sp.Max(*[xs[p] for p in win]) for ij, win in windows.items()])
    derived = sp.ImmutableMatrix([sp.diff(loss, x) for x in xs])

    def closed(p: tuple[int, int]) -> sp.Expr:
        return sp.Add(*[sp.Piecewise((us[ij], sp.And(*[xs[p] > xs[o] for o in win if o != p])),
                                     (0, True))
                        for ij, win in windows.items() if p in win])

    return derived, sp.ImmutableMatrix([closed((r, q)) for r in range(h) for q in range(w)])


@cache
def max_pool_first_argmax(h: int, w: int, k: tuple[int, int], s: int) -> list[tuple]:
    """torch's tie rule as a closed form (each window's u to its first maximal entry in
    row-major order) and the subgradient identities it must satisfy, per window:
    Σ over the window of the routed gradient = u, and routed·(max − entry) = 0."""
    xs, windows, us = _pool_windows(h, w, k, s)
    pairs = []
    for ij, win in windows.items():
        vals = [xs[p] for p in win]

        def first(t: int, vals=vals, u=us[ij]) -> sp.Expr:
            wins = [vals[t] > vals[l] for l in range(t)] + [vals[t] >= vals[l]
                                                            for l in range(t + 1, len(vals))]
            return sp.Piecewise((u, sp.And(*wins)), (0, True))

        g = [first(t) for t in range(len(vals))]
        top = sp.Max(*vals)
        pairs.append((sp.ImmutableMatrix([[sp.Add(*g)]]), sp.ImmutableMatrix([[us[ij]]])))
        pairs.append((sp.ImmutableMatrix([[gt * (top - v) for gt, v in zip(g, vals,
                                                                             strict=True)]]),
                      sp.zeros(1, len(vals))))
    return pairs
