r"""The Jacobian of the tanh network f(x) = W_F tanh(W_L ⋯ tanh(W_1 x)): reverse and forward
mode by hand, the seed's own kernels, torch autograd, and the operation-count model.

Source: ``002_f6a45d0186751a72.txt`` Problem 2 (exercises 4–7; notebook 2.(a)–(d)).

Witnesses: sympy (``derivations/jacobian.py``: the chain rule, the cost formulas), the hand
kernels (``impl/jacobian.py``), and torch (``torch.func.jacrev``, ``torch.func.jacfwd``,
``torch.autograd.functional.jacobian`` of a plain torch forward written here, and
``FlopCounterMode`` counting the products our kernels perform: the public functions, which
take the torch-op path while a dispatch mode is active; on CPU tensors they otherwise run the
same kernel code on numpy views, which no torch mode can see).

Tolerances (from ``dlmath_verify.checks.TOLERANCES``): float64 rtol = atol = 1e-7 against float64
autograd; float32 kernels against the float64 truth at float32's rtol 1.3e-6, atol 1e-5, with
``growth = (L + 1)·K``: each Jacobian entry is a product of L + 1 matrices whose inner
dimension is at most K, i.e. a chain of (L + 1)·K roundings. The seed checked with
``atol=1e-2``, which accepts Jacobians wrong in the third decimal
(``test_seed_tolerance_accepts_a_wrong_jacobian``).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from derivations import jacobian as dj
from dlmath_verify.checks import assert_close, record_counterexample, tolerance
from dlmath_verify.strategies import arrays, as_torch
from impl.jacobian import (
    _forward,
    _network,
    _reverse,
    jacobian_forward,
    jacobian_reverse,
    network,
    seed_my_backward_2a,
    seed_my_forward_2b,
    seed_my_nn_2a,
    validate,
)
from tests.jacobian_bench import f_torch

# ---------------------------------------------------------------------------------------
# Strategies and the torch reference
# ---------------------------------------------------------------------------------------

# Shape regimes the issue asks for explicitly; each test draws sizes inside one of them.
REGIMES = {
    "P>D": dict(d=(1, 4), p=(5, 8), layers=(2, 5)),
    "D>P": dict(d=(5, 8), p=(1, 4), layers=(2, 5)),
    "L=1": dict(d=(1, 8), p=(1, 8), layers=(1, 1)),
    "any": dict(d=(1, 8), p=(1, 8), layers=(1, 6)),
}


@st.composite
def networks(draw, regime: str = "any", dtype=np.float64, max_k: int = 8):
    """(x, params, L) with sizes drawn inside ``regime``: shapes first, then values."""
    r = REGIMES[regime]
    d = draw(st.integers(*r["d"]), label="D")
    p = draw(st.integers(*r["p"]), label="P")
    layers = draw(st.integers(*r["layers"]), label="L")
    k = draw(st.integers(1, max_k), label="K")
    shapes = {"W1": (k, d), **{f"W{i}": (k, k) for i in range(2, layers + 1)}, "WF": (p, k)}
    params = {key: draw(arrays(s, dtype=dtype, min_value=-1.5, max_value=1.5), label=key)
              for key, s in shapes.items()}
    x = draw(arrays((d,), dtype=dtype, min_value=-2.0, max_value=2.0), label="x")
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


def reverse_torch_ops(x, params):
    """jacobian_reverse's torch-op path (the one tensors on a GPU take), which CPU tensors skip:
    they run the same kernel on zero-copy numpy views (impl.jacobian, ``_run``). Tested directly
    so both paths are covered."""
    return _reverse(x, *validate(x, params))


def forward_torch_ops(x, params):
    """jacobian_forward's torch-op path (see reverse_torch_ops)."""
    return _forward(x, *validate(x, params))


def network_torch_ops(x, params):
    """network's torch-op path (see reverse_torch_ops)."""
    return _network(x, *validate(x, params))


OURS = {"jacobian_reverse": jacobian_reverse, "jacobian_forward": jacobian_forward,
        "reverse (torch ops)": reverse_torch_ops, "forward (torch ops)": forward_torch_ops}
SEEDS = {"seed my_backward_2a": seed_my_backward_2a, "seed my_forward_2b": seed_my_forward_2b}


# ---------------------------------------------------------------------------------------
# The chain rule, symbolically
# ---------------------------------------------------------------------------------------


@pytest.mark.claim("jacobian.chain_rule")
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


@pytest.mark.claim("jacobian.chain_rule")
@pytest.mark.parametrize("regime", list(REGIMES))
@given(data=st.data())
def test_jacobian_both_modes_equal_autograd_float64(regime, data):
    """Reverse mode, forward mode and the seed's two kernels all equal jacrev = jacfwd =
    autograd.functional.jacobian in float64 (seed 002, notebook 2.(a), 2.(b))."""
    x, params, layers = data.draw(networks(regime))
    xt, pt = to_torch(x, params)
    refs = autograd_jacobians(xt, pt, layers)
    truth = refs.pop("torch.func.jacrev")
    for name, J in refs.items():
        assert_close(J, truth, claim="jacobian.chain_rule", what=f"{name} vs jacrev")
    for name, fn in OURS.items():
        J = fn(xt, pt)
        assert isinstance(J, torch.Tensor), f"{name} returned {type(J).__name__} for tensors"
        assert_close(J, truth, claim="jacobian.chain_rule", what=f"{name} (torch)")
        if "torch ops" not in name:
            assert_close(fn(x, params), truth, claim="jacobian.chain_rule",
                         what=f"{name} (numpy)")
    for name, fn in SEEDS.items():
        assert_close(fn(xt, layers, pt).detach(), truth, claim="jacobian.chain_rule", what=name)


@pytest.mark.claim("jacobian.chain_rule")
@pytest.mark.parametrize("regime", list(REGIMES))
@given(data=st.data())
def test_jacobian_both_modes_float32_match_float64_truth(regime, data):
    """The float32 kernels (torch and numpy) against the float64 jacrev truth of the same
    (float32-representable) inputs, at float32's tolerance × (L + 1)·K (module docstring)."""
    x, params, layers = data.draw(networks(regime, dtype=np.float32))
    x64, p64 = to_torch(x.astype(np.float64), {k: v.astype(np.float64) for k, v in params.items()})
    truth = torch.func.jacrev(lambda y: f_torch(y, p64, layers))(x64)
    growth = float((layers + 1) * params["W1"].shape[0])
    xt, pt = to_torch(x, params)
    for name, fn in OURS.items():
        runs = [("torch", fn(xt, pt))] + ([] if "torch ops" in name else
                                          [("numpy", fn(x, params))])
        for kind, J in runs:
            assert J.dtype in (torch.float32, np.float32), f"{name} ({kind}) returned {J.dtype}"
            assert_close(J, truth, claim="jacobian.chain_rule", what=f"{name} ({kind}) float32",
                         dtype=torch.float32, check_dtype=False, growth=growth)


@pytest.mark.claim("jacobian.chain_rule")
@given(data=st.data())
def test_network_evaluation_equals_the_seeds_my_nn_2a(data):
    """``network`` (the plain evaluation the benchmark times), on CPU tensors (numpy views), on
    numpy arrays and in torch ops, computes the seed's f."""
    x, params, layers = data.draw(networks())
    xt, pt = to_torch(x, params)
    seed = seed_my_nn_2a(xt, layers, pt)
    for what, y in (("network (torch)", network(xt, pt)), ("network (numpy)", network(x, params)),
                    ("network (torch ops)", network_torch_ops(xt, pt))):
        assert_close(y, seed, claim="jacobian.chain_rule", what=f"{what} vs the seed's my_nn_2a")


@pytest.mark.conventions  # our kernels' vmap path, not the mathematics
@pytest.mark.claim("jacobian.chain_rule")
@given(data=st.data(), batch=st.integers(1, 4))
def test_jacobians_under_vmap_equal_one_call_per_input(data, batch):
    """Inside ``torch.func.vmap`` the tensors have no storage, so the numpy-view path cannot
    run; the functions take the torch-op path and equal one call per input."""
    x, params, _ = data.draw(networks())
    xs = np.stack([x] + [data.draw(arrays(x.shape, dtype=np.float64, min_value=-2.0,
                                          max_value=2.0), label="x") for _ in range(batch - 1)])
    xst, pt = to_torch(xs, params)
    for fn in (jacobian_reverse, jacobian_forward, network):
        batched = torch.func.vmap(lambda y, fn=fn: fn(y, pt))(xst)
        assert_close(batched, torch.stack([fn(y, pt) for y in xst]), claim="jacobian.chain_rule",
                     what=f"vmap({fn.__name__})")


@pytest.mark.conventions  # our kernels' device handling
@pytest.mark.claim("jacobian.chain_rule")
@pytest.mark.parametrize("fn", [jacobian_reverse, jacobian_forward, network])
def test_non_cpu_tensors_take_the_torch_op_path(fn):
    """Tensors on another device (``meta`` here: shapes without data) run the torch-op kernel
    and come back on that device, with the Jacobian's shape (P, D) (f: (P,)) and dtype."""
    x, p = _good()
    out = fn(x.to("meta"), {k: v.to("meta") for k, v in p.items()})
    assert out.device.type == "meta"
    assert out.dtype == torch.float64
    assert tuple(out.shape) == ((4,) if fn is network else (4, 2))


@pytest.mark.claim("jacobian.chain_rule")
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
# The cost model
# ---------------------------------------------------------------------------------------

_MV = torch.ops.aten.mv


def _mv_flops(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    return 2 * a_shape[0] * a_shape[1]


def counted_multiply_adds(fn, *args) -> int:
    """Multiply-adds of the matrix products ``fn`` performs, by FlopCounterMode (which counts
    a multiply-add as 2 FLOPs; matrix-vector products are added to its table here)."""
    with FlopCounterMode(display=False, custom_mapping={_MV: _mv_flops}) as counter:
        fn(*args)
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


@pytest.mark.conventions  # the products of our kernels
@pytest.mark.claim("jacobian.reverse_cost", "jacobian.forward_cost", "jacobian.seed_kernel_cost")
@given(data=st.data())
def test_cost_model_counts_the_products_each_kernel_performs(data):
    """C_rev, C_fwd (and C_eval, and the seed's diag kernels' costs) = FlopCounterMode's count
    of the kernels' products / 2 = the sum over the explicit list of products (seed 002
    Problem 2 (d): an M1×M2 by M2×M3 product costs M1·M2·M3)."""
    x, params, layers = data.draw(networks(max_k=6))
    xt, pt = to_torch(x, params)
    k, d = params["W1"].shape
    p = params["WF"].shape[0]
    cases = [
        ("reverse", dj.REVERSE, jacobian_reverse, (xt, pt)),
        ("forward", dj.FORWARD, jacobian_forward, (xt, pt)),
        ("evaluation", dj.EVALUATION, network, (xt, pt)),
    ]
    for mode, formula, fn, args in cases:
        model = dj.cost(formula, d, k, p, layers)
        listed = dj.sequence_cost(mode, d, k, p, layers)
        assert model == listed, f"{mode}: closed form {model} != sum over its products {listed}"
        counted = counted_multiply_adds(fn, *args)
        assert counted == model, f"{mode}: FlopCounterMode counts {counted}, model {model}"
    for formula, fn in ((dj.SEED_REVERSE, seed_my_backward_2a),
                        (dj.SEED_FORWARD, seed_my_forward_2b)):
        counted = counted_multiply_adds(fn, xt, layers, pt)
        model = dj.cost(formula, d, k, p, layers)
        assert counted == model, f"{fn.__name__}: counted {counted}, model {model}"


@pytest.mark.claim("jacobian.crossover")
@given(d=st.integers(1, 2000), k=st.integers(1, 2000), p=st.integers(1, 2000),
       layers=st.integers(1, 20))
def test_forward_minus_reverse_is_depth_times_width_squared_times_d_minus_p(d, k, p, layers):
    """C_fwd − C_rev = (L−1)K²(D−P) identically in D, K, P, L (sympy), so forward mode wins
    exactly when D < P and the primal is no part of the difference (seed 002, ex. 7)."""
    assert sp.expand(dj.FORWARD - dj.REVERSE - (dj.L - 1) * dj.K**2 * (dj.D - dj.P)) == 0
    fwd, rev = dj.cost(dj.FORWARD, d, k, p, layers), dj.cost(dj.REVERSE, d, k, p, layers)
    expected = 0 if layers == 1 else (d > p) - (d < p)
    assert (fwd > rev) - (fwd < rev) == expected, (d, k, p, layers, fwd, rev)


@pytest.mark.claim("jacobian.ex7_orders_as_written")
def test_ex7_forward_is_not_cubic_at_depth_one():
    """Seed 002 ex. 7: 'backward results in M² … forward in M³' (D = K = M, P = 1). At L = 1
    forward mode costs 2M²: the claim as written fails; it needs L ≥ 2."""
    subs = {dj.D: dj.M, dj.K: dj.M, dj.P: 1, dj.L: 1}
    fwd = sp.expand(dj.FORWARD.subs(subs))
    rev = sp.expand(dj.REVERSE.subs(subs))
    assert sp.degree(rev, dj.M) == 2
    assert sp.degree(fwd, dj.M) != 3
    record_counterexample("jacobian.ex7_orders_as_written",
                          f"L = 1, D = K = M, P = 1: C_fwd = {fwd} (degree 2, not 3), "
                          f"C_rev = {rev}")


@pytest.mark.claim("jacobian.ex7_orders")
@given(layers=st.integers(2, 50))
def test_ex7_orders_hold_from_depth_two(layers):
    """With D = K = M, P = 1: C_rev = 2LM² and C_fwd = (L−1)M³ + (L+1)M² (identities in L and
    M), hence degrees 2 and 3 for every L ≥ 2."""
    subs = {dj.D: dj.M, dj.K: dj.M, dj.P: 1}
    rev, fwd = dj.REVERSE.subs(subs), dj.FORWARD.subs(subs)
    assert sp.expand(rev - 2 * dj.L * dj.M**2) == 0
    assert sp.expand(fwd - ((dj.L - 1) * dj.M**3 + (dj.L + 1) * dj.M**2)) == 0
    assert sp.degree(rev.subs(dj.L, layers), dj.M) == 2
    assert sp.degree(fwd.subs(dj.L, layers), dj.M) == 3


@pytest.mark.claim("jacobian.ex7_primal_explains_small_case_as_written")
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
    yield "W2 does not chain", x, {**p, "W2": torch.ones(3, 4)}, "'W2'"
    yield "WF does not chain", x, {**p, "WF": torch.ones(4, 5)}, "'WF'"
    yield "x wrong length", torch.ones(3), p, "x has length 3"
    yield "x not a vector", torch.ones(2, 1), p, "x must be a vector"
    yield "mixed dtype", x, {**p, "W2": p["W2"].float()}, "'W2'.*dtype"
    yield "mixed kinds", x, {**p, "WF": np.ones((4, 3))}, "'WF'.*ndarray"
    yield "mixed devices", x, {**p, "W2": p["W2"].to("meta")}, "'W2'.*meta"


@pytest.mark.conventions
@pytest.mark.claim("jacobian.chain_rule")
@pytest.mark.parametrize("fn", [jacobian_reverse, jacobian_forward, network])
@pytest.mark.parametrize("case", list(_bad_cases()), ids=lambda c: c[0])
def test_jacobian_bad_input_raises_value_error_naming_the_argument(fn, case):
    _, x, params, match = case
    with pytest.raises(ValueError, match=match):
        fn(x, params)


@pytest.mark.conventions
@pytest.mark.claim("jacobian.chain_rule")
def test_jacobian_rejects_non_arrays_with_type_error():
    x, p = _good()
    with pytest.raises(TypeError, match="params must be a dict"):
        jacobian_reverse(x, [p["W1"]])
    with pytest.raises(TypeError, match="'W2'"):
        jacobian_forward(x, {**p, "W2": [[1.0]]})
