r"""The Jacobian of the tanh network f(x) = W_F tanh(W_L ⋯ tanh(W_1 x)) with per-layer widths:
reverse mode, forward mode and the optimal order of the chain by hand, the dense-diagonal
baselines (the seed's method), torch autograd, and the operation-count model.

Source: ``002_f6a45d0186751a72.txt`` Problem 2 (exercises 4–7; notebook 2.(a)–(d)); issue 17.

Witnesses: sympy (``derivations/jacobian.py``: the chain rule, the cost formulas, every
bracketing of the chain and its cost), the hand kernels and the matrix-chain dynamic
programme (``impl/jacobian.py``), and torch (``torch.func.jacrev``, ``torch.func.jacfwd``,
``torch.autograd.functional.jacobian`` of a plain torch forward written here, and
``FlopCounterMode`` counting the products our kernels perform: the public functions, which
take the torch-op path while a dispatch mode is active; on CPU tensors they otherwise run the
same kernel code on numpy views, which no torch mode can see).

Tolerances (from ``dlmath_verify.checks.TOLERANCES``): float64 rtol = atol = 1e-7 against float64
autograd; float32 kernels against the float64 truth at float32's rtol 1.3e-6, atol 1e-5, with
``growth = (L + 1)·max K_i``: each Jacobian entry is a product of L + 1 matrices whose inner
dimension is at most max K_i, i.e. a chain of at most (L + 1)·max K_i roundings.
The seed checked with ``atol=1e-2``, which accepts Jacobians wrong in the third decimal
(``test_seed_tolerance_accepts_a_wrong_jacobian``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, note
from hypothesis import strategies as st
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from derivations import jacobian as dj
from dlmath_verify.checks import assert_close, record_counterexample, tolerance
from dlmath_verify.strategies import arrays, as_torch
from impl.jacobian import (
    _forward,
    _network,
    _optimal,
    _reverse,
    accumulation_plan,
    dense_diag_forward,
    dense_diag_reverse,
    jacobian_forward,
    jacobian_optimal,
    jacobian_reverse,
    network,
    validate,
)
from tests.jacobian_bench import f_torch
from tests.tiers import slow_except

# ---------------------------------------------------------------------------------------
# Strategies and the torch reference
# ---------------------------------------------------------------------------------------

# Shape regimes the issues ask for explicitly; each test draws sizes inside one of them.
# "uniform" is the seed's network (every K_i = K); the others draw each width on its own;
# "waist" forces one hidden width to 1.
REGIMES = {
    "P>D": dict(d=(1, 4), p=(5, 8), layers=(2, 5)),
    "D>P": dict(d=(5, 8), p=(1, 4), layers=(2, 5)),
    "L=1": dict(d=(1, 8), p=(1, 8), layers=(1, 1)),
    "uniform": dict(d=(1, 8), p=(1, 8), layers=(1, 6), uniform=True),
    "waist": dict(d=(1, 8), p=(1, 8), layers=(2, 5), waist=True),
    "any": dict(d=(1, 8), p=(1, 8), layers=(1, 6)),
}


@st.composite
def chain_widths(draw, regime: str = "any", max_k: int = 8) -> tuple[int, ...]:
    """(D, K1, …, KL, P) inside ``regime``."""
    r = REGIMES[regime]
    d = draw(st.integers(*r["d"]), label="D")
    p = draw(st.integers(*r["p"]), label="P")
    layers = draw(st.integers(*r["layers"]), label="L")
    if r.get("uniform"):
        ks = [draw(st.integers(1, max_k), label="K")] * layers
    else:
        ks = draw(st.lists(st.integers(1, max_k), min_size=layers, max_size=layers), label="K")
    if r.get("waist"):
        ks[draw(st.integers(0, layers - 1), label="waist at")] = 1
    return (d, *ks, p)


@st.composite
def networks(draw, regime: str = "any", dtype=np.float64, max_k: int = 8):
    """(x, params, L) with widths drawn inside ``regime``: shapes first, then values."""
    w = draw(chain_widths(regime, max_k))
    layers = len(w) - 2
    shapes = {f"W{i}": (w[i], w[i - 1]) for i in range(1, layers + 1)}
    shapes["WF"] = (w[-1], w[-2])
    params = {key: draw(arrays(s, dtype=dtype, min_value=-1.5, max_value=1.5), label=key)
              for key, s in shapes.items()}
    x = draw(arrays((w[0],), dtype=dtype, min_value=-2.0, max_value=2.0), label="x")
    return x, params, layers


def autograd_jacobians(x: torch.Tensor, params: dict, layers: int) -> dict[str, torch.Tensor]:
    def fn(y):
        return f_torch(y, params, layers)

    return {
        "torch.func.jacrev": torch.func.jacrev(fn)(x),
        "torch.func.jacfwd": torch.func.jacfwd(fn)(x),
        "torch.autograd.functional.jacobian": torch.autograd.functional.jacobian(fn, x),
    }


def to_torch(x, params):
    return as_torch(x), {k: as_torch(v) for k, v in params.items()}


def torch_ops(kernel):
    """A public function's torch-op path (the one tensors on a GPU take), which CPU tensors
    skip: they run the same kernel on zero-copy numpy views (impl.jacobian, ``_run``). Tested
    directly so both paths are covered."""
    def run(x, params):
        return kernel(x, *validate(x, params))
    return run


OURS = {"jacobian_reverse": jacobian_reverse, "jacobian_forward": jacobian_forward,
        "jacobian_optimal": jacobian_optimal,
        "reverse (torch ops)": torch_ops(_reverse), "forward (torch ops)": torch_ops(_forward),
        "optimal (torch ops)": torch_ops(_optimal)}
BASELINES = {"dense_diag_reverse": dense_diag_reverse, "dense_diag_forward": dense_diag_forward}
CLAIM_OF = {"jacobian_optimal": "jacobian.optimal_jacobian",
            "optimal (torch ops)": "jacobian.optimal_jacobian"}


# ---------------------------------------------------------------------------------------
# The chain rule, symbolically
# ---------------------------------------------------------------------------------------


@pytest.mark.claim("jacobian.chain_rule", kind="symbolic")
@given(d=st.integers(1, 2), k=st.integers(1, 2), p=st.integers(1, 2),
       layers=st.integers(1, 3))
def test_jacobian_is_the_chain_of_weights_and_tanh_derivatives(d, k, p, layers):
    r"""sympy's Jacobian of f equals :math:`W_F\,\mathrm{diag}(s_L) W_L \cdots
    \mathrm{diag}(s_1) W_1`, :math:`s_i = 1 - \tanh^2 z_i` (seed 002, Problem 2, ex. 4–5).

    Shown by symbolic expansion only: ``prove_identity``'s exact evaluation at rational points
    cannot decide nested tanh (exp of the irrational tanh(r)), so it is not used here.
    """
    derived, chain = dj.chain_rule_case(d, k, p, layers)
    assert derived.shape == chain.shape == (p, d)
    for a, b in zip(derived, chain, strict=True):
        # sympy differentiates tanh(u) to 1 − tanh(u)², so the identity holds term by term after
        # expand(); the shared canonicaliser (through exp) is far slower and not needed.
        assert sp.expand(a - b) == 0, f"claim jacobian.chain_rule: {a} != {b}"


# ---------------------------------------------------------------------------------------
# Kernels against autograd
# ---------------------------------------------------------------------------------------


@pytest.mark.claim("jacobian.chain_rule", "jacobian.optimal_jacobian", kind="autograd")
@pytest.mark.parametrize("regime", slow_except(REGIMES, ["L=1"]))
@given(data=st.data())
def test_jacobian_every_mode_equals_autograd_float64(regime, data):
    """Reverse, forward and optimal order (numpy views, numpy arrays, torch ops) and the
    dense-diagonal baselines all equal jacrev = jacfwd = autograd.functional.jacobian in
    float64, on per-layer widths (seed 002, notebook 2.(a), 2.(b); issue 17)."""
    x, params, layers = data.draw(networks(regime))
    note(f"plan {accumulation_plan(widths_of(params, layers))}")
    xt, pt = to_torch(x, params)
    refs = autograd_jacobians(xt, pt, layers)
    truth = refs.pop("torch.func.jacrev")
    for name, J in refs.items():
        assert_close(J, truth, claim="jacobian.chain_rule", what=f"{name} vs jacrev")
    for name, fn in {**OURS, **BASELINES}.items():
        claim = CLAIM_OF.get(name, "jacobian.chain_rule")
        J = fn(xt, pt)
        assert isinstance(J, torch.Tensor), f"{name} returned {type(J).__name__} for tensors"
        assert_close(J, truth, claim=claim, what=f"{name} (torch)")
        if "torch ops" not in name:
            assert_close(fn(x, params), truth, claim=claim, what=f"{name} (numpy)")


@pytest.mark.slow
@pytest.mark.claim("jacobian.chain_rule", "jacobian.optimal_jacobian", kind="autograd")
@pytest.mark.parametrize("regime", ["P>D", "D>P", "waist", "any"])
@given(data=st.data())
def test_jacobian_every_mode_float32_matches_float64_truth(regime, data):
    """The float32 kernels (torch and numpy) against the float64 jacrev truth of the same
    (float32-representable) inputs, at float32's tolerance × (L + 1)·max K_i (module
    docstring)."""
    x, params, layers = data.draw(networks(regime, dtype=np.float32))
    x64, p64 = to_torch(x.astype(np.float64), {k: v.astype(np.float64) for k, v in params.items()})
    truth = torch.func.jacrev(lambda y: f_torch(y, p64, layers))(x64)
    growth = float((layers + 1) * max(params[f"W{i}"].shape[0] for i in range(1, layers + 1)))
    xt, pt = to_torch(x, params)
    for name, fn in OURS.items():
        claim = CLAIM_OF.get(name, "jacobian.chain_rule")
        runs = [("torch", fn(xt, pt))] + ([] if "torch ops" in name else
                                          [("numpy", fn(x, params))])
        for kind, J in runs:
            assert J.dtype in (torch.float32, np.float32), f"{name} ({kind}) returned {J.dtype}"
            assert_close(J, truth, claim=claim, what=f"{name} ({kind}) float32",
                         dtype=torch.float32, check_dtype=False, growth=growth)


@pytest.mark.slow
@pytest.mark.claim("jacobian.chain_rule", kind="autograd")
@given(data=st.data())
def test_network_evaluation_equals_plain_torch(data):
    """``network`` (the plain evaluation the benchmark times), on CPU tensors (numpy views), on
    numpy arrays and in torch ops, computes f as the plain torch loop does."""
    x, params, layers = data.draw(networks())
    xt, pt = to_torch(x, params)
    ref = f_torch(xt, pt, layers)
    for what, y in (("network (torch)", network(xt, pt)), ("network (numpy)", network(x, params)),
                    ("network (torch ops)", torch_ops(_network)(xt, pt))):
        assert_close(y, ref, claim="jacobian.chain_rule", what=f"{what} vs plain torch")


@pytest.mark.slow
@pytest.mark.conventions
@given(data=st.data(), batch=st.integers(1, 4))
def test_jacobians_under_vmap_equal_one_call_per_input(data, batch):
    """Inside ``torch.func.vmap`` the tensors have no storage, so the numpy-view path cannot
    run; the functions take the torch-op path and equal one call per input."""
    x, params, _ = data.draw(networks())
    xs = np.stack([x] + [data.draw(arrays(x.shape, dtype=np.float64, min_value=-2.0,
                                          max_value=2.0), label="x") for _ in range(batch - 1)])
    xst, pt = to_torch(xs, params)
    for fn in (jacobian_reverse, jacobian_forward, jacobian_optimal, network):
        batched = torch.func.vmap(lambda y, fn=fn: fn(y, pt))(xst)
        assert_close(batched, torch.stack([fn(y, pt) for y in xst]), claim="jacobian.chain_rule",
                     what=f"vmap({fn.__name__})")


@pytest.mark.conventions
@pytest.mark.parametrize("fn", [jacobian_reverse, jacobian_forward, jacobian_optimal, network,
                                dense_diag_reverse, dense_diag_forward])
def test_non_cpu_tensors_take_the_torch_op_path(fn):
    """Tensors on another device (``meta`` here: shapes without data) run the torch-op kernel
    and come back on that device, with the Jacobian's shape (P, D) (f: (P,)) and dtype."""
    x, p = _good()
    out = fn(x.to("meta"), {k: v.to("meta") for k, v in p.items()})
    assert out.device.type == "meta"
    assert out.dtype == torch.float64
    assert tuple(out.shape) == ((4,) if fn is network else (4, 2))


@pytest.mark.slow
@pytest.mark.conventions
@pytest.mark.parametrize("fn", [*OURS.values(), *BASELINES.values(), network])
@given(data=st.data())
def test_no_kernel_modifies_its_arguments(fn, data):
    """The optimal order scales products in place: never a weight or x (numpy and torch)."""
    x, params, _ = data.draw(networks("any"))
    def snapshot(a):
        return a.numpy().copy() if isinstance(a, torch.Tensor) else a.copy()

    for xx, pp in ((x, params), to_torch(x, params)):
        before = {k: snapshot(v) for k, v in pp.items()}, snapshot(xx)
        fn(xx, pp)
        for k, v in pp.items():
            assert np.array_equal(snapshot(v), before[0][k]), f"{fn} changed params[{k!r}]"
        assert np.array_equal(snapshot(xx), before[1]), f"{fn} changed x"


@pytest.mark.claim("jacobian.chain_rule", kind="autograd")
def test_seed_tolerance_accepts_a_wrong_jacobian():
    """The seed's check ``torch.allclose(my_J, J_autograd, atol=1e-2)`` passes a Jacobian with
    an error of 5e-3 in one entry; the suite's float64 tolerance (1e-7) rejects it.
    (Seed 002, notebook 2.(a): ``epsilon = 1e-2``; sizes D = 2, K = 30, P = 10, L = 10 and
    the seed's ``torch.randn`` weights, seeded here with 0 to be reproducible.)"""
    g = torch.Generator().manual_seed(0)
    d, k, p, layers = 2, 30, 10, 10
    params = {"W1": torch.randn(k, d, generator=g),
              **{f"W{i}": torch.randn(k, k, generator=g) for i in range(2, layers + 1)},
              "WF": torch.randn(p, k, generator=g)}
    x = torch.randn(d, generator=g)
    truth = torch.func.jacrev(lambda y: f_torch(y, params, layers))(x)
    wrong = jacobian_reverse(x, params).clone()
    wrong[0, 0] += 5e-3
    assert torch.allclose(wrong, truth, atol=1e-2)  # the seed's check: passes
    with pytest.raises(AssertionError, match="differ beyond"):
        assert_close(wrong, truth, claim="jacobian.chain_rule", what="planted 5e-3 error")
    assert tolerance(torch.float64).atol == 1e-7


# ---------------------------------------------------------------------------------------
# The cost model, witnessed by an instrumented run
# ---------------------------------------------------------------------------------------

_MV = torch.ops.aten.mv


def _mv_flops(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1]


def counted_multiply_adds(fn, *args) -> int:
    """Multiply-adds of the matrix products ``fn`` performs, counted by torch's
    FlopCounterMode while it runs (a multiply-add is 2 FLOPs; matrix-vector products are
    added to its table here). The public functions take the torch-op path while a dispatch
    mode is active, so the counter sees the very kernel code the numpy path runs."""
    with FlopCounterMode(display=False, custom_mapping={_MV: _mv_flops}) as counter:
        fn(*args)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


def widths_of(params: dict, layers: int) -> tuple[int, ...]:
    return (params["W1"].shape[1], *(params[f"W{i}"].shape[0] for i in range(1, layers + 1)),
            params["WF"].shape[0])


@pytest.mark.claim("jacobian.reverse_cost", "jacobian.forward_cost", "jacobian.dense_diag_cost",
                   kind="implementation")
@given(data=st.data())
def test_uniform_cost_formulas_equal_the_products_counted_in_a_run(data):
    """C_rev, C_fwd, C_eval and the dense-diagonal costs (sympy, seed 002 Problem 2 (d): an
    M1×M2 by M2×M3 product costs M1·M2·M3) equal FlopCounterMode's count of the products the
    kernels perform, on the seed's uniform network."""
    x, params, layers = data.draw(networks("uniform", max_k=6))
    xt, pt = to_torch(x, params)
    k, d = params["W1"].shape
    p = params["WF"].shape[0]
    cases = [
        ("jacobian.reverse_cost", dj.REVERSE, jacobian_reverse),
        ("jacobian.forward_cost", dj.FORWARD, jacobian_forward),
        ("jacobian.reverse_cost", dj.EVALUATION, network),
        ("jacobian.dense_diag_cost", dj.DENSE_DIAG_REVERSE, dense_diag_reverse),
        ("jacobian.dense_diag_cost", dj.DENSE_DIAG_FORWARD, dense_diag_forward),
    ]
    for claim, formula, fn in cases:
        model = dj.cost(formula, d, k, p, layers)
        counted = counted_multiply_adds(fn, xt, pt)
        assert counted == model, (f"claim {claim}: {fn.__name__}: FlopCounterMode counts "
                                  f"{counted}, the formula {model}")


@pytest.mark.claim("jacobian.per_layer_cost", "jacobian.optimal_order", kind="implementation")
@given(data=st.data())
def test_per_layer_costs_equal_the_products_counted_in_a_run(data):
    """With per-layer widths: reverse and forward mode perform the written-out sums
    (``reverse_cost_per_layer``, ``forward_cost_per_layer``), and ``jacobian_optimal`` performs
    the primal plus the sympy cost of the bracketing its plan names (counted by
    FlopCounterMode)."""
    x, params, layers = data.draw(networks("any", max_k=6))
    xt, pt = to_torch(x, params)
    w = widths_of(params, layers)
    plan = accumulation_plan(w)
    shapes = dj.factor_shapes(w)
    cases = [
        ("jacobian.per_layer_cost", dj.reverse_cost_per_layer(w), jacobian_reverse),
        ("jacobian.per_layer_cost", dj.forward_cost_per_layer(w), jacobian_forward),
        ("jacobian.optimal_order",
         dj.primal_cost(w) + dj.bracketing_cost(plan.order, shapes), jacobian_optimal),
    ]
    for claim, formula, fn in cases:
        counted = counted_multiply_adds(fn, xt, pt)
        assert counted == int(formula), (f"claim {claim}: {fn.__name__} at widths {w}: "
                                         f"counted {counted}, formula {formula}")


@pytest.mark.slow
@pytest.mark.claim("jacobian.optimal_order", kind="implementation")
@given(data=st.data())
def test_a_plans_macs_are_the_multiply_adds_jacobian_optimal_performs(data):
    """``Plan.macs`` ("multiply-adds of the whole call") is what FlopCounterMode counts while
    ``jacobian_optimal`` runs on a network of those widths: the primal and the chain."""
    x, params, layers = data.draw(networks("any", max_k=6))
    xt, pt = to_torch(x, params)
    plan = accumulation_plan(widths_of(params, layers))
    assert plan.macs == counted_multiply_adds(jacobian_optimal, xt, pt), plan


class _ScaledElements(TorchDispatchMode):
    """Counts the elements of every matrix (2-D) an elementwise multiplication produces: the
    diag(s) scalings of ``jacobian_optimal`` (s = 1 − h² is a vector and is not counted)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket in (torch.ops.aten.mul, torch.ops.aten.mul_) and out.dim() == 2:
            self.count += out.numel()
        return out


@pytest.mark.slow
@pytest.mark.claim("jacobian.optimal_order", kind="implementation")
@given(data=st.data())
def test_jacobian_optimal_scales_the_smaller_operand_of_each_product(data):
    """Each product A·B of the plan (A: p×k, B: k×q) carries one diag(s) at its boundary,
    applied to A's k columns or B's k rows: ``jacobian_optimal`` scales the smaller, min(p, q)·k
    elements, at every product (counted while it runs, against a walk of the plan's order)."""
    x, params, layers = data.draw(networks("any", max_k=6))
    xt, pt = to_torch(x, params)
    plan = accumulation_plan(widths_of(params, layers))
    shapes = dj.factor_shapes(plan.widths)
    expected = 0

    def walk(o):
        nonlocal expected
        if isinstance(o, str):
            return shapes[o]
        (p, k), (_, q) = walk(o[0]), walk(o[1])
        expected += min(p, q) * k
        return p, q

    walk(plan.order)
    with _ScaledElements() as counter:
        jacobian_optimal(xt, pt)
    assert counter.count == expected, (f"claim jacobian.optimal_order: widths {plan.widths}, "
                                       f"order {plan.order}: {counter.count} elements scaled, "
                                       f"the smaller operands hold {expected}")


@pytest.mark.claim("jacobian.reverse_cost", "jacobian.forward_cost", "jacobian.per_layer_cost",
                   kind="symbolic")
@pytest.mark.parametrize("layers", [1, 2, 3, 5])
def test_pure_modes_are_the_left_and_right_deep_bracketings(layers):
    """Symbolically in D, K_1 … K_L, P: the written-out per-layer sums are the costs of the
    left-deep (reverse) and right-deep (forward) bracketings plus the primal, and at K_i = K
    they are the seed-size formulas C_rev, C_fwd."""
    w = dj.widths_symbols(layers)
    names = dj.factor_names(layers)
    shapes = dj.factor_shapes(w)
    rev = dj.reverse_cost_per_layer(w)
    fwd = dj.forward_cost_per_layer(w)
    assert sp.expand(rev - dj.primal_cost(w) - dj.bracketing_cost(dj.left_deep(names), shapes)) == 0
    assert sp.expand(fwd - dj.primal_cost(w) - dj.bracketing_cost(dj.right_deep(names),
                                                                  shapes)) == 0
    uniform = {k: dj.K for k in w[1:-1]}
    assert sp.expand(rev.subs(uniform) - dj.REVERSE.subs(dj.L, layers)) == 0
    assert sp.expand(fwd.subs(uniform) - dj.FORWARD.subs(dj.L, layers)) == 0


# ---------------------------------------------------------------------------------------
# The optimal order: the DP (impl) against every bracketing (derivations)
# ---------------------------------------------------------------------------------------


@pytest.mark.claim("jacobian.optimal_order", kind="symbolic")
@pytest.mark.parametrize("layers", range(1, 6))
def test_bracketings_are_all_catalan_many_and_distinct(layers):
    """The enumeration gives Catalan(L) distinct bracketings of the L + 1 factors, each
    using every factor once in order (so the minimum below is over all of them)."""
    orders = dj.bracketings(dj.factor_names(layers))
    assert len(orders) == len(set(orders)) == sp.catalan(layers)

    def leaves(o):
        return (o,) if isinstance(o, str) else leaves(o[0]) + leaves(o[1])

    assert all(leaves(o) == dj.factor_names(layers) for o in orders)


def _check_plan(w: tuple[int, ...]) -> None:
    layers = len(w) - 2
    plan = accumulation_plan(w)
    orders, costs = dj.bracketing_cost_table(layers)
    values = costs(*w)
    best = min(values)
    names = dj.factor_names(layers)
    rev = values[orders.index(dj.left_deep(names))]
    fwd = values[orders.index(dj.right_deep(names))]
    assert plan.chain_macs == best, (f"claim jacobian.optimal_order: widths {w}: the DP's "
                                     f"{plan} costs {plan.chain_macs}, the best of "
                                     f"{len(orders)} bracketings {best}")
    assert values[orders.index(plan.order)] == plan.chain_macs, (plan, w)
    assert plan.chain_macs <= min(rev, fwd)
    assert plan.primal_macs == int(dj.primal_cost(w))


@pytest.mark.slow
@pytest.mark.claim("jacobian.optimal_order", kind=("symbolic", "implementation"))
@given(data=st.data())
def test_plan_costs_the_minimum_over_all_bracketings_drawn_widths(data):
    """For chains of 2 to 6 factors (L = 1 … 5) with Hypothesis-drawn widths up to 1000
    (ones included: waists of width 1), the DP's cost is the minimum of every enumerated
    bracketing's sympy cost, and its bracketing costs exactly that."""
    layers = data.draw(st.integers(1, 5), label="L")
    w = tuple(data.draw(st.lists(st.one_of(st.just(1), st.integers(1, 1000)),
                                 min_size=layers + 2, max_size=layers + 2), label="widths"))
    _check_plan(w)


@pytest.mark.claim("jacobian.optimal_order", kind=("symbolic", "implementation"))
@pytest.mark.parametrize("layers", range(1, 6))
def test_plan_costs_the_minimum_over_all_bracketings_every_small_width(layers):
    """Exhaustively: every chain of L + 1 ≤ 6 factors with every width in {1, 2, 5}."""
    for w in itertools.product((1, 2, 5), repeat=layers + 2):
        _check_plan(w)


@pytest.mark.claim("jacobian.optimal_order", kind="implementation")
def test_plan_on_the_benchmark_chains():
    """The waist multiplies both halves down to the width-10 waist (34× fewer multiply-adds
    than either pure mode); the seed's big cell is reverse mode, its small cell forward mode
    (sizes from seed 002 notebook 2.(a), 2.(c))."""
    waist = accumulation_plan((1000, 1000, 10, 1000, 1000))
    assert waist.order == (("WF", "W3"), ("W2", "W1")) and waist.mode == "mixed"
    assert waist.chain_macs == 3 * 10**7
    assert accumulation_plan((1000,) * 6 + (1,)).mode == "reverse"
    assert accumulation_plan((2, *[30] * 10, 10)).mode == "forward"
    assert str(waist) == "(WF·W3)·(W2·W1)"


# ---------------------------------------------------------------------------------------
# The crossover and the seed's exercise 7
# ---------------------------------------------------------------------------------------


@pytest.mark.claim("jacobian.crossover", kind="symbolic")
@given(d=st.integers(1, 2000), k=st.integers(1, 2000), p=st.integers(1, 2000),
       layers=st.integers(1, 20))
def test_forward_minus_reverse_is_depth_times_width_squared_times_d_minus_p(d, k, p, layers):
    """C_fwd − C_rev = (L−1)K²(D−P) identically in D, K, P, L (sympy), so forward mode wins
    exactly when D < P and the primal is no part of the difference (seed 002, ex. 7)."""
    assert sp.expand(dj.FORWARD - dj.REVERSE - (dj.L - 1) * dj.K**2 * (dj.D - dj.P)) == 0
    fwd, rev = dj.cost(dj.FORWARD, d, k, p, layers), dj.cost(dj.REVERSE, d, k, p, layers)
    expected = 0 if layers == 1 else (d > p) - (d < p)
    assert (fwd > rev) - (fwd < rev) == expected, (d, k, p, layers, fwd, rev)


@pytest.mark.claim("jacobian.ex7_orders_as_written", kind="symbolic")
@pytest.mark.parametrize("layers", [3, 5, 10])
def test_ex7_orders_hold_at_the_seeds_depths(layers):
    """Seed 002 ex. 7: 'backward results in M² … forward in M³', in the seed's setting
    D = K = M, P = 1 (notebook 2.(c): D = K = 1000, P = 1, L ∈ {3, 5, 10}): degree 2 against
    degree 3 in M at each of the seed's depths. (At L = 1, outside the seed's statement, both
    modes cost 2M²: ``jacobian.ex7_orders``.)"""
    subs = {dj.D: dj.M, dj.K: dj.M, dj.P: 1, dj.L: layers}
    assert sp.degree(sp.expand(dj.REVERSE.subs(subs)), dj.M) == 2
    assert sp.degree(sp.expand(dj.FORWARD.subs(subs)), dj.M) == 3


@pytest.mark.claim("jacobian.ex7_orders", kind="symbolic")
@given(layers=st.integers(2, 50))
def test_ex7_orders_hold_from_depth_two(layers):
    """With D = K = M, P = 1: C_rev = 2LM² and C_fwd = (L−1)M³ + (L+1)M² (identities in L and
    M), hence degrees 2 and 3 for every L ≥ 2; at L = 1 both are 2M²."""
    subs = {dj.D: dj.M, dj.K: dj.M, dj.P: 1}
    rev, fwd = dj.REVERSE.subs(subs), dj.FORWARD.subs(subs)
    assert sp.expand(rev - 2 * dj.L * dj.M**2) == 0
    assert sp.expand(fwd - ((dj.L - 1) * dj.M**3 + (dj.L + 1) * dj.M**2)) == 0
    assert sp.degree(rev.subs(dj.L, layers), dj.M) == 2
    assert sp.degree(fwd.subs(dj.L, layers), dj.M) == 3
    assert sp.expand(fwd.subs(dj.L, 1) - 2 * dj.M**2) == 0


@pytest.mark.claim("jacobian.ex7_primal_explains_small_case_as_written", kind="symbolic")
def test_ex7_small_case_gap_is_not_the_forward_pass():
    """Seed 002 ex. 7 says at D = 2, K = 30, P = 10 the modes differ little and forward may win
    'due backward need to perform a forward pass at first', i.e. C_rev − C_fwd = primal.
    Both modes need the primal; the gap is (L−1)K²(P−D), 8× the primal at L = 10."""
    sizes = {dj.D: 2, dj.K: 30, dj.P: 10, dj.L: 10}
    gap = int((dj.REVERSE - dj.FORWARD).subs(sizes))
    primal = int(dj.PRIMAL.subs(sizes))
    rev, fwd = int(dj.REVERSE.subs(sizes)), int(dj.FORWARD.subs(sizes))
    assert gap != primal
    assert (gap, primal, rev, fwd) == (64800, 8160, 89760, 24960)  # the formulas at these sizes
    record_counterexample(
        "jacobian.ex7_primal_explains_small_case_as_written",
        f"D=2, K=30, P=10, L=10: C_rev − C_fwd = {gap}, primal = {primal}; C_rev = {rev}, "
        f"C_fwd = {fwd} (forward is {rev / fwd:.1f}× cheaper, because D < P)")


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------


def _good(kind="torch"):
    p = {"W1": np.ones((3, 2)), "W2": np.ones((3, 3)), "WF": np.ones((4, 3))}
    x = np.ones(2)
    if kind == "torch":
        return as_torch(x), {k: as_torch(v) for k, v in p.items()}
    return x, p


def _bad_cases():
    x, p = _good()
    yield "missing WF", x, {k: v for k, v in p.items() if k != "WF"}, "'WF'"
    yield "missing W1", x, {k: v for k, v in p.items() if k != "W1"}, "'W1'"
    yield "gap W2", x, {"W1": p["W1"], "W3": p["W2"], "WF": p["WF"]}, "'W2'"
    yield "extra key", x, {**p, "b1": p["WF"]}, "'b1'"
    yield "W2 does not chain", x, {**p, "W2": torch.ones(3, 4, dtype=torch.float64)}, \
        r"params\['W2'\] has shape \(3, 4\), expected \(K2, K1\)"
    yield "WF does not chain", x, {**p, "WF": torch.ones(4, 5, dtype=torch.float64)}, \
        r"params\['WF'\] has shape \(4, 5\)"
    yield "W1 does not chain with x", torch.ones(3, dtype=torch.float64), p, \
        r"params\['W1'\].*expected \(K1, D\).*x of length D"
    yield "empty layer W2", x, {**p, "W2": torch.ones(0, 3, dtype=torch.float64),
                                "WF": torch.ones(4, 0, dtype=torch.float64)}, \
        r"params\['W2'\].*empty layer"
    yield "empty layer W1", x, {**p, "W1": torch.ones(0, 2, dtype=torch.float64)}, \
        r"params\['W1'\].*empty layer"
    yield "no outputs", x, {**p, "WF": torch.ones(0, 3, dtype=torch.float64)}, r"params\['WF'\]"
    yield "empty x", torch.ones(0, dtype=torch.float64), \
        {**p, "W1": torch.ones(3, 0, dtype=torch.float64)}, "x must be non-empty"
    yield "x not a vector", torch.ones(2, 1, dtype=torch.float64), p, "x must be a vector"
    yield "W2 not a matrix", x, {**p, "W2": torch.ones(3, dtype=torch.float64)}, \
        r"params\['W2'\] must be a matrix"
    yield "mixed dtype", x, {**p, "W2": p["W2"].float()}, "'W2'.*dtype"
    yield "mixed kinds", x, {**p, "WF": np.ones((4, 3))}, "'WF'.*ndarray"
    yield "mixed devices", x, {**p, "W2": p["W2"].to("meta")}, "'W2'.*meta"
    # The device is checked before any shape: a meta W2 of a wrong shape names the device.
    yield "device before shape", x, {**p, "W2": torch.ones(5, 7, dtype=torch.float64,
                                                          device="meta")}, "'W2'.*meta"


PUBLIC = [jacobian_reverse, jacobian_forward, jacobian_optimal, network, dense_diag_reverse,
          dense_diag_forward]


@pytest.mark.conventions
@pytest.mark.parametrize("fn", PUBLIC)
@pytest.mark.parametrize("case", list(_bad_cases()), ids=lambda c: c[0])
def test_jacobian_bad_input_raises_value_error_naming_the_argument(fn, case):
    _, x, params, match = case
    with pytest.raises(ValueError, match=match):
        fn(x, params)


@pytest.mark.conventions
@pytest.mark.parametrize("fn", PUBLIC)
def test_jacobian_rejects_non_arrays_with_type_error(fn):
    x, p = _good()
    with pytest.raises(TypeError, match="params must be a dict"):
        fn(x, [p["W1"]])
    with pytest.raises(TypeError, match="'W2'"):
        fn(x, {**p, "W2": [[1.0]]})


@pytest.mark.conventions
@pytest.mark.parametrize(("widths", "error", "match"), [
    ((3, 4), ValueError, r"widths.*at least one layer"),
    ((), ValueError, r"widths.*at least one layer"),
    ((3, 0, 4), ValueError, r"widths\[1\] = 0"),
    ((3, 2, -1), ValueError, r"widths\[2\] = -1"),
    ((3, 2.5, 4), TypeError, r"widths\[1\] must be an integer"),
    ((3, True, 4), TypeError, r"widths\[1\] must be an integer"),
    (5, TypeError, r"widths must be a sequence"),
])
def test_accumulation_plan_bad_widths_name_the_argument(widths, error, match):
    with pytest.raises(error, match=match):
        accumulation_plan(widths)


@pytest.mark.slow
@pytest.mark.claim("jacobian.optimal_order", kind="implementation")
@given(k=st.integers(1, 6), layers=st.integers(2, 5))
def test_ties_between_bracketings_go_to_the_smallest_split_forward_mode(k, layers):
    """With every width equal every bracketing of the chain costs the same (each product is
    k·k·k), and the documented tie rule (the smallest split, the shortest left operand) then
    picks the right-deep bracketing: forward mode."""
    plan = accumulation_plan((k,) * (layers + 2))
    assert plan.mode == "forward", str(plan)
