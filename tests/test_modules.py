"""The numpy modules of the practical (Linear, ReLU, and the MLP built from them), three witnesses.

1. sympy (``derivations/modules.py``): the Jacobians sympy computes for x̃ = W x + b and
   max(0, x̃) equal the seed's closed forms, proven exactly per drawn size; the seed's all-ones
   ∂x̃/∂b is refuted with an exact counterexample;
2. the hand modules (``impl/modules.py``, ``impl/mlp.py``) against the closed forms, and the
   practical's own central-difference check;
3. torch autograd and the dot-product test (forward-mode JVP vs the hand backward).

Seed: ``004_a5042f8004da492f.txt`` §1.1 a–c and §1.2. The chain through softmax and
cross-entropy reuses the claims ``cross_entropy.softmax_chain`` / ``cross_entropy.batch_mean``
of ``derivations/softmax.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, note
from hypothesis import strategies as st

from derivations import modules as D
from dlmath_verify.checks import assert_close, assert_vjp, record_counterexample, to_numpy
from dlmath_verify.strategies import arrays, as_torch, distributions, labels
from dlmath_verify.symbolic import prove_identity, refute_identity
from impl.mlp import ModuleMLP
from impl.modules import CrossEntropyModule, LinearModule, ReLUModule, SoftMaxModule
from tests.tiers import refutation_settings

REFUTATION = refutation_settings()  # a claim false as written: tests/tiers.py

SIZES = st.integers(1, 4)
DTYPES = st.sampled_from([np.float64, np.float32])


@st.composite
def linear_cases(draw, *, dtype=None, limit: float = 1.0):
    """(x (N, in), W (out, in), b (out,), dout (N, out)): sizes first, then values in ±limit.

    Values stay in [−1, 1] by default so that float32 reductions of length ≤ 6 stay within
    the table's float32 atol without a growth factor.
    """
    n, d_in, d_out = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    dtype = dtype or draw(DTYPES)
    note(f"N={n}, in={d_in}, out={d_out}, dtype={np.dtype(dtype).name}")
    x = draw(arrays((n, d_in), dtype=dtype, min_value=-limit, max_value=limit), label="x")
    w = draw(arrays((d_out, d_in), dtype=dtype, min_value=-limit, max_value=limit), label="W")
    b = draw(arrays((d_out,), dtype=dtype, min_value=-limit, max_value=limit), label="b")
    dout = draw(arrays((n, d_out), dtype=dtype, min_value=-limit, max_value=limit), label="dout")
    return x, w, b, dout


def linear_module(w: np.ndarray, b: np.ndarray) -> LinearModule:
    lin = LinearModule(w.shape[1], w.shape[0])
    lin.params["weight"], lin.params["bias"] = w, b
    return lin


# ------------------------------------------------------------------ 1. symbolic witness


@pytest.mark.claim("modules.linear_input_jacobian", kind="symbolic")
@given(o=SIZES, i=SIZES, data=st.data())
def test_linear_input_jacobian_is_W(o, i, data):
    """∂x̃/∂x = W for x̃ = W x + b (004 §1.1 a)."""
    prove_identity(*D.linear_input_jacobian(o, i), claim="modules.linear_input_jacobian",
                   data=data)


@pytest.mark.claim("modules.linear_weight_jacobian", kind="symbolic")
@given(o=SIZES, i=SIZES, data=st.data())
def test_linear_weight_jacobian_slice_q_holds_x_in_row_q(o, i, data):
    r"""∂x̃_q/∂W_{ij} = δ_{qi} x_j (004 §1.1 a)."""
    prove_identity(*D.linear_weight_jacobian(o, i), claim="modules.linear_weight_jacobian",
                   data=data)


@pytest.mark.claim("modules.linear_bias_jacobian", kind="symbolic")
@given(o=SIZES, i=SIZES, data=st.data())
def test_linear_bias_jacobian_is_the_identity(o, i, data):
    """∂x̃/∂b = I (the corrected claim; 004 §1.1 a writes the all-ones matrix)."""
    derived, identity, _ = D.linear_bias_jacobian(o, i)
    prove_identity(derived, identity, claim="modules.linear_bias_jacobian", data=data)


@pytest.mark.claim("modules.linear_bias_jacobian_all_ones", kind="symbolic")
@REFUTATION
@given(o=st.integers(2, 4), i=SIZES, data=st.data())
def test_seed_bias_jacobian_one_is_false_as_all_ones_and_true_as_identity(o, i, data):
    """004 §1.1 a 6 writes ∂x̃/∂b = 𝟏 ∈ R^{n×n}; §1.2 b 5 uses it as gᵀ𝟏 = gᵀ. Reading 𝟏 as
    the all-ones matrix: false for n ≥ 2 (exact counterexample) and gᵀ𝟏 ≠ gᵀ. Reading 𝟏 as
    the identity: sympy's ∂x̃/∂b equals it and gᵀ𝟏 = gᵀ holds, so the seed's own use of 𝟏 is
    consistent only with the identity (claim ``modules.linear_bias_jacobian_all_ones``)."""
    c = "modules.linear_bias_jacobian_all_ones"
    derived, identity, ones = D.linear_bias_jacobian(o, i)
    text = refute_identity(derived, ones, claim=c, data=data)
    record_counterexample(c, f"all-ones reading: ∂x̃/∂b for n={o} is constant (any point); "
                             f"flat {text} (flat entry k is row k // {o}, column k % {o})")
    refute_identity(*D.linear_bias_chain(o, "ones"), claim=c, data=data)
    prove_identity(derived, identity, claim=c, data=data)
    prove_identity(*D.linear_bias_chain(o, "identity"), claim=c, data=data)


@pytest.mark.claim("modules.linear_backward", kind="symbolic")
@given(n=st.integers(1, 3), o=st.integers(1, 3), i=st.integers(1, 3), data=st.data())
def test_linear_batch_backward_is_GW_GtX_and_column_sums_of_G(n, o, i, data):
    """∂L/∂X = G W, ∂L/∂W = Gᵀ X, ∂L/∂b = Σ_n G_n for X̃ = X Wᵀ + 𝟏bᵀ (004 §1.1 b–c)."""
    derived, closed, _ = D.linear_batch_backward(n, o, i)
    for lhs, rhs in zip(derived, closed, strict=True):
        prove_identity(lhs, rhs, claim="modules.linear_backward", data=data, points=1)


@pytest.mark.claim("modules.relu_jacobian", kind="symbolic")
@given(n=SIZES, data=st.data())
def test_relu_jacobian_is_diag_of_indicator(n, data):
    """∂ max(0, x̃)/∂x̃ = diag(𝟙(x̃_i > 0)) (004 §1.1 a), proven by cases: x̃_i < 0, x̃_i > 0,
    and at the kink x̃_i = 0 with the kernels' (and torch's) convention ReLU'(0) = 0."""
    prove_identity(*D.relu_jacobian(n), claim="modules.relu_jacobian", data=data,
                   heaviside_at_zero=0)


# --------------------------------------------- 2./3. the modules vs closed forms and autograd


@pytest.mark.claim("modules.linear_input_jacobian", "modules.linear_weight_jacobian",
                   "modules.linear_bias_jacobian", "modules.linear_backward", kind="autograd")
@given(case=linear_cases())
@example(case=(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros(1), np.ones((1, 1))))
def test_linear_module_matches_autograd(case):
    """LinearModule forward x Wᵀ + b and backward (dout W, doutᵀ x, Σ_n dout_n) vs autograd."""
    x, w, b, dout = case
    lin = linear_module(w, b)
    out = lin.forward(x)
    dx = lin.backward(dout)
    xt, wt, bt = (as_torch(a).requires_grad_(True) for a in (x, w, b))
    ref = torch.nn.functional.linear(xt, wt, bt)
    gx, gw, gb = torch.autograd.grad(ref, (xt, wt, bt), as_torch(dout))
    assert_close(out, ref.detach(), claim="modules.linear_backward", what="forward")
    assert_close(dx, gx, claim="modules.linear_input_jacobian", what="dx = dout W")
    assert_close(lin.grads["weight"], gw, claim="modules.linear_weight_jacobian",
                 what="grads['weight'] = doutᵀ x")
    assert_close(lin.grads["bias"], gb, claim="modules.linear_bias_jacobian",
                 what="grads['bias'] summed over the batch")


@pytest.mark.slow
@pytest.mark.claim("modules.linear_backward", kind="autograd")
@given(case=linear_cases(dtype=np.float64), data=st.data())
def test_linear_module_passes_the_dot_product_test(case, data):
    """⟨u, J v⟩ (forward mode) = ⟨Jᵀu, v⟩ (LinearModule.backward) for x, W and b at once."""
    x, w, b, u = case
    v = [data.draw(arrays(a.shape, min_value=-1, max_value=1), label=f"v{k}")
         for k, a in enumerate((x, w, b))]
    lin = linear_module(w, b)
    lin.forward(x)

    def backward(u_t):
        dx = lin.backward(to_numpy(u_t))
        return dx, lin.grads["weight"], lin.grads["bias"]

    assert_vjp(torch.nn.functional.linear, backward, [as_torch(a) for a in (x, w, b)],
               as_torch(u), [as_torch(a) for a in v], claim="modules.linear_backward")


@pytest.mark.claim("modules.linear_weight_jacobian", "modules.linear_bias_jacobian",
                   kind="implementation")
@given(case=linear_cases(dtype=np.float64))
def test_linear_module_agrees_with_central_differences_on_perturbed_weights(case):
    """The practical's own check: perturb params['weight'][i, j] (and the bias) in place, call
    forward again, and compare the central difference of ⟨dout, forward(x)⟩ with grads.
    forward must read params afresh. The map is affine in W, so the difference is exact up to
    rounding: h = 1e-3 and the float64 table's tolerance."""
    x, w, b, dout = case
    lin = linear_module(w.copy(), b.copy())
    lin.forward(x)
    lin.backward(dout)
    h = 1e-3
    for key in ("weight", "bias"):
        numeric = np.zeros_like(lin.params[key])
        for idx in np.ndindex(*numeric.shape):
            old = lin.params[key][idx]
            lin.params[key][idx] = old + h
            plus = np.sum(dout * lin.forward(x))
            lin.params[key][idx] = old - h
            minus = np.sum(dout * lin.forward(x))
            lin.params[key][idx] = old
            numeric[idx] = (plus - minus) / (2 * h)
        claim = "modules.linear_weight_jacobian" if key == "weight" else \
            "modules.linear_bias_jacobian"
        assert_close(lin.grads[key], numeric, claim=claim, what=f"grads[{key!r}] vs central "
                     "differences with params perturbed in place")


@pytest.mark.claim("modules.relu_jacobian", kind="autograd")
@given(data=st.data(), dtype=DTYPES)
@example(data=None, dtype=np.float64)  # the kink: x = 0 everywhere
def test_relu_module_matches_autograd_with_zero_at_the_kink(data, dtype):
    """ReLUModule backward = dout ⊙ 𝟙(x > 0), as torch's relu backward (0 at x = 0)."""
    if data is None:
        x, dout = np.zeros((2, 3)), np.ones((2, 3))
    else:
        shape = (data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)))
        x = data.draw(arrays(shape, dtype=dtype), label="x")
        dout = data.draw(arrays(shape, dtype=dtype), label="dout")
    relu = ReLUModule()
    out = relu.forward(x)
    xt = as_torch(x).requires_grad_(True)
    ref = torch.relu(xt)
    (gx,) = torch.autograd.grad(ref, xt, as_torch(dout))
    assert_close(out, ref.detach(), claim="modules.relu_jacobian", what="forward")
    assert_close(relu.backward(dout), gx, claim="modules.relu_jacobian", what="backward")


@pytest.mark.claim("modules.linear_backward", "cross_entropy.softmax_chain",
                   "cross_entropy.batch_mean", kind=("implementation", "autograd"))
@given(case=linear_cases(dtype=np.float64, limit=3.0), data=st.data())
def test_linear_softmax_cross_entropy_chain_gives_s_minus_t_over_n(case, data):
    """Backprop through CrossEntropyModule then SoftMaxModule gives (s − t)/N at the logits
    (004 §1.2 b 1 and §1.1 c), and then LinearModule gives ((s − t)/N)ᵀ x for the weight."""
    x, w, b, _ = case
    n, c = x.shape[0], w.shape[0]
    t = data.draw(distributions(n, c, one_hot=True), label="one-hot targets")
    lin, sm = linear_module(w, b), SoftMaxModule()
    s = sm.forward(lin.forward(x))
    d_logits = sm.backward(CrossEntropyModule().backward(s, t))
    lin.backward(d_logits)
    assert_close(d_logits, (s - t) / n, claim="cross_entropy.softmax_chain",
                 what="closed form (s − t)/N")
    xt, wt, bt = (as_torch(a).requires_grad_(True) for a in (x, w, b))
    logits = torch.nn.functional.linear(xt, wt, bt)
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(t.argmax(axis=1)))
    gw, gb = torch.autograd.grad(loss, (wt, bt))
    assert_close(lin.grads["weight"], gw, claim="modules.linear_backward", what="dW vs autograd")
    assert_close(lin.grads["bias"], gb, claim="cross_entropy.batch_mean", what="db vs autograd")


# ----------------------------------------------------------------- the MLP from the modules


@st.composite
def mlp_cases(draw):
    """A ModuleMLP with drawn widths and weights in [−1, 1], inputs and one-hot targets."""
    n_in, n_classes = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    hidden = draw(st.lists(st.integers(1, 5), min_size=0, max_size=3), label="hidden widths")
    n = draw(st.integers(1, 6))
    net = ModuleMLP(n_in, hidden, n_classes)
    for k, lin in enumerate(net.linears):
        lin.params["weight"] = draw(arrays(lin.params["weight"].shape, min_value=-1,
                                           max_value=1), label=f"W{k}")
        lin.params["bias"] = draw(arrays(lin.params["bias"].shape, min_value=-1, max_value=1),
                                  label=f"b{k}")
    x = draw(arrays((n, n_in), min_value=-2, max_value=2), label="x")
    y = draw(labels(n, n_classes), label="labels")
    return net, x, y


def torch_loss(net: ModuleMLP, x: np.ndarray, y: np.ndarray):
    """The same network in torch; returns (loss, [W0, b0, W1, b1, …] leaf tensors)."""
    leaves, h = [], as_torch(x)
    for k, lin in enumerate(net.linears):
        w = as_torch(lin.params["weight"].copy()).requires_grad_(True)
        b = as_torch(lin.params["bias"].copy()).requires_grad_(True)
        leaves += [w, b]
        h = torch.nn.functional.linear(h, w, b)
        if k < len(net.linears) - 1:
            h = torch.relu(h)
    return torch.nn.functional.cross_entropy(h, torch.from_numpy(y)), leaves


def relu_pattern(net: ModuleMLP, x: np.ndarray) -> list[np.ndarray]:
    """𝟙(input > 0) of every ReLU of the network at x, by running the layers' ``forward``
    (the practical's interface only: a graded ReLUModule keeps its cache as it likes)."""
    pattern, h = [], x
    for layer in net.layers:
        if isinstance(layer, ReLUModule):
            pattern.append(h > 0)
        h = layer.forward(h)
    return pattern


@pytest.mark.slow
@pytest.mark.claim("modules.linear_backward", "modules.relu_jacobian",
                   "cross_entropy.softmax_chain", kind="autograd")
@given(case=mlp_cases())
def test_module_mlp_parameter_gradients_match_autograd(case):
    """Hand backprop through Linear/ReLU/…/SoftMax/CrossEntropy = autograd, every parameter."""
    net, x, y = case
    t = np.eye(net.linears[-1].params["bias"].shape[0])[y]  # the interface: no out_features
    loss = net.loss_and_backward(x, t)
    ref, leaves = torch_loss(net, x, y)
    grads = torch.autograd.grad(ref, leaves)
    assert_close(np.float64(loss), ref.detach(), claim="cross_entropy.softmax_chain",
                 what="loss")
    # the upstream gradient first, so that a softmax or cross-entropy bug is blamed on the
    # chain's claim rather than on the linear layers it feeds
    probs = net.forward(x)
    d_logits = net.layers[-1].backward(net.loss_module.backward(probs, t))
    assert_close(d_logits, (probs - t) / x.shape[0], claim="cross_entropy.softmax_chain",
                 what="∂L/∂logits from SoftMaxModule and CrossEntropyModule")
    for k, lin in enumerate(net.linears):
        assert_close(lin.grads["weight"], grads[2 * k], claim="modules.linear_backward",
                     what=f"layer {k} weight")
        assert_close(lin.grads["bias"], grads[2 * k + 1], claim="modules.linear_backward",
                     what=f"layer {k} bias")


@pytest.mark.claim("modules.mlp_training_decreases_loss", kind="implementation")
@given(case=mlp_cases())
def test_a_small_gradient_step_decreases_the_loss(case):
    """Descent: L(θ − ηg) ≤ L(θ) − ½η‖g‖² for a small η (Armijo with c = ½), with g the hand
    gradient. η = 1e-4 keeps the second-order term (≤ ½η²‖g‖²·‖∇²L‖, with ‖∇²L‖ modest for
    weights and inputs this size) below the margin ½η‖g‖². The lemma needs L smooth along the
    step, so the ReLU activation pattern must not change (a step across a kink can fail it:
    the thorough profile found one); such draws are rejected. A wrong sign or a missing term
    in any backward makes the step fail to descend."""
    net, x, y = case
    t = np.eye(net.linears[-1].params["bias"].shape[0])[y]  # the interface: no out_features
    before = net.loss_and_backward(x, t)
    sq = sum(float(np.sum(lin.grads[k] ** 2)) for lin in net.linears for k in ("weight", "bias"))
    assume(sq >= 1e-8)  # at a (near-)stationary point the decrease would drown in rounding
    eta = 1e-4
    pattern = relu_pattern(net, x)
    net.sgd_step(eta)
    after = net.loss(x, t)
    crossed = any(not np.array_equal(p, q)
                  for p, q in zip(pattern, relu_pattern(net, x), strict=True))
    assume(not crossed)  # the step crossed a ReLU kink: L is not smooth along it
    note(f"loss {before!r} -> {after!r}, |g|^2 = {sq!r}")
    assert after <= before - 0.5 * eta * sq, (
        f"claim modules.mlp_training_decreases_loss: a step of η={eta} along −g did not descend: "
        f"L before {before!r}, after {after!r}, required ≤ {before - 0.5 * eta * sq!r}")


@pytest.mark.claim("modules.mlp_training_decreases_loss", kind="experiment")
def test_module_mlp_learns_generated_blobs():
    """Train 2 → 16 → 3 (ReLU) by full-batch gradient descent (lr 0.5, 300 steps) on three
    Gaussian blobs (50 points each, centres on a circle of radius 3, unit variance), generated
    with the stated seed np.random.default_rng(2019) (weights N(0, 0.1²) from the same
    generator). The loss must fall below a quarter of its start and accuracy exceed 90%."""
    rng = np.random.default_rng(2019)
    centres = 3 * np.array([[np.cos(a), np.sin(a)] for a in 2 * np.pi * np.arange(3) / 3])
    y = np.repeat(np.arange(3), 50)
    x = centres[y] + rng.normal(size=(150, 2))
    t = np.eye(3)[y]
    net = ModuleMLP(2, [16], 3, weight_std=0.1, rng=rng)
    losses = []
    for _ in range(300):
        losses.append(net.loss_and_backward(x, t))
        net.sgd_step(0.5)
    final = net.loss(x, t)
    accuracy = float(np.mean(net.forward(x).argmax(axis=1) == y))
    assert final < 0.25 * losses[0] and accuracy > 0.9, (
        f"claim modules.mlp_training_decreases_loss: loss {losses[0]:.4f} -> {final:.4f}, "
        f"accuracy {accuracy:.3f}")


# ------------------------------------------------------------------------------ bad input

_X = np.zeros((2, 3))


def _after_forward(module, x):
    module.forward(x)
    return module


BAD_INPUTS = [
    ("input width differs from the weight", lambda: LinearModule(4, 2).forward(_X),
     ["x", "(N, 4)", "(2, 4)", "(2, 3)"]),
    ("linear backward before forward", lambda: LinearModule(3, 2).backward(np.ones((2, 2))),
     ["backward", "forward"]),
    ("dout of the wrong shape", lambda: _after_forward(LinearModule(3, 2), _X).backward(
        np.ones((2, 5))), ["dout", "(2, 2)", "(2, 5)"]),
    ("weight replaced by one of the wrong shape",
     lambda: _weight_replaced(np.zeros((3, 2))).forward(_X),
     ["params['weight']", "(2, 3)", "(3, 2)"]),
    ("relu backward before forward", lambda: ReLUModule().backward(_X), ["backward", "forward"]),
    ("relu dout of the wrong shape", lambda: _after_forward(ReLUModule(), _X).backward(
        np.ones((3, 3))), ["dout", "(2, 3)", "(3, 3)"]),
]


def _weight_replaced(w: np.ndarray) -> LinearModule:
    lin = LinearModule(3, 2)
    lin.params["weight"] = w
    return lin


@pytest.mark.conventions
@pytest.mark.parametrize("what, call, fragments", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_modules_reject_bad_input_naming_argument_and_shapes(what, call, fragments):
    """Shape mismatches and a backward before forward raise ValueError naming the argument
    and both shapes."""
    with pytest.raises(ValueError) as err:
        call()
    for fragment in fragments:
        assert fragment in str(err.value), f"{what}: {fragment!r} missing from {err.value!s}"



@pytest.mark.claim("modules.relu_backward_as_described", kind="symbolic")
def test_seed_relu_backward_sentence_ignores_the_upstream_gradient():
    """004 §1.2 b 2's sentence at x̃ = (2, −1), upstream (3, 5): sympy gives ∂L/∂x̃ = (3, 0);
    the sentence gives 1 for the first entry and no case for the second (output 0 is neither
    above nor below 0)."""
    derived, described = D.relu_backward_at((2, -1), (3, 5))
    c = "modules.relu_backward_as_described"
    assert list(derived) == [3, 0], f"[{c}] {derived}"
    assert described == [1, None], f"[{c}] {described}"
    record_counterexample(c, "x̃ = (2, −1), upstream (3, 5): ∂L/∂x̃ = (3, 0); the sentence gives "
                             "(1, no case)")


@pytest.mark.claim("modules.relu_backward_as_described", kind="implementation")
def test_relu_module_passes_the_upstream_gradient_where_the_input_is_positive():
    """The hand module gives dout ⊙ 𝟙(x̃ > 0) = (3, 0), not the sentence's 1; its outputs are
    never negative, so 'output < 0' never fires."""
    relu = ReLUModule()
    out = relu.forward(np.array([[2.0, -1.0]]))
    assert (out >= 0).all()
    grad = relu.backward(np.array([[3.0, 5.0]]))
    assert grad.tolist() == [[3.0, 0.0]], grad


@pytest.mark.slow
@pytest.mark.conventions  # this suite's modules copy what they cache; the practical's keep x
@given(case=linear_cases(dtype=np.float64))
def test_linear_backward_is_the_vjp_at_the_forward_input_even_if_x_changes_later(case):
    """∇W = doutᵀ x for the x that forward saw: writing to the caller's x between forward and
    backward must not change it (forward kept a reference to x: in the issue's example the
    weight gradient became 8 instead of 4)."""
    x, w, b, dout = case
    lin = linear_module(w, b)
    x_seen = x.copy()
    lin.forward(x)
    x += 1.0  # the caller reuses its buffer
    lin.backward(dout)
    assert_close(lin.grads["weight"], dout.T @ x_seen, claim="modules.linear_backward",
                 what="∇W after the caller changed x")


def _target_rows_off_by_the_tolerance():
    """float32 targets (1 × 15625) whose row sums to exactly 1 + 15625·1e-6 = 1 + 2⁻⁶: the
    documented tolerance C·1e-6, bound included (float64 1e-6·15625 is exactly 2⁻⁶, and the
    float32 sum and difference are exact), and the next float32 row sum, just outside it."""
    c = 15625
    off = np.float32(2.0**-6)
    assert 1e-6 * c == 2.0**-6 and float((np.float32(1) + off) - np.float32(1)) == 2.0**-6
    inside = np.zeros((1, c), dtype=np.float32)
    inside[0, 0] = np.float32(1) + off
    outside = inside.copy()
    outside[0, 0] = np.nextafter(inside[0, 0], np.float32(2))
    return np.full((1, c), 1 / c, dtype=np.float32), inside, outside


@pytest.mark.conventions
def test_target_rows_within_the_tolerance_bound_included_are_accepted():
    """Target rows must sum to 1 within C·1e-6 (float32; C·1e-12 in float64), the bound
    included, in CrossEntropyModule and ModuleMLP's loss; a row just past it is refused, and
    in float64 a row off by 1.5·C·1e-12."""
    x, inside, outside = _target_rows_off_by_the_tolerance()
    assert np.isfinite(CrossEntropyModule().forward(x, inside))
    with pytest.raises(ValueError, match="y rows must be probability distributions"):
        CrossEntropyModule().forward(x, outside)
    assert np.array_equal(ModuleMLP._targets(inside, x), inside)
    with pytest.raises(ValueError, match="targets rows must be probability distributions"):
        ModuleMLP._targets(outside, x)
    # float64: C·1e-12 with C = 1; a row 1.5e-12 off is refused, one 0.5e-12 off accepted
    x64 = np.ones((1, 1))
    for off, ok in ((0.5e-12, True), (1.5e-12, False)):
        y = np.array([[1.0 + off]])
        if ok:
            assert np.isfinite(CrossEntropyModule().forward(x64, y))
            assert np.array_equal(ModuleMLP._targets(y, x64), y)
            continue
        with pytest.raises(ValueError, match="y rows must be probability distributions"):
            CrossEntropyModule().forward(x64, y)
        with pytest.raises(ValueError, match="targets rows must be probability distributions"):
            ModuleMLP._targets(y, x64)
