"""The seeds' training experiments at a scale that runs in the suite, each claim with its margin.

Every test here is ``nightly`` and deterministic: instead of Hypothesis draws (the suite's rule),
each run is seeded explicitly with the seeds named in its test (``SEEDS``), the allowed
exception for reproducing a seed's experiment; torch runs on one thread so that the runs are
bit-for-bit repeatable. The data ship with scikit-learn (``load_digits``, ``load_diabetes``).

Margins are stated in the claims (``derivations/experiments.py``) and asserted here; the values
measured when they were set are in README.md, "The seeds' experiments". Seeds:
``000_44446893528eed8a.txt`` Problem 6, ``002_f6a45d0186751a72.txt`` Q1 and Q4,
``003_6e09f081ee206780.txt`` questions 9–12.

Run: ``pytest -m nightly -k experiments``.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import sympy as sp
import torch

from derivations import experiments as D
from dlmath_verify.checks import assert_close, record_counterexample
from impl import experiments as E

pytestmark = pytest.mark.nightly

SEEDS = (0, 1, 2)  # the runs' explicit seeds (torch.manual_seed, split, labels, shuffling)
INIT_SEEDS = (0, 1)
ADAM_SEEDS = (0, 1, 2, 3, 4)
CHANCE = 1 / E.DIGITS_CLASSES


@pytest.fixture(autouse=True)
def _one_thread():
    """One thread: deterministic, and fair to the other CI worker."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _assert_margin(value: float, bound: float, op: str, *, claim: str, what: str) -> float:
    """Assert ``value op bound`` and return the margin (how far inside the bound it is)."""
    ok = value >= bound if op == ">=" else value <= bound
    assert ok, f"[{claim}] {what}: measured {value:.4g}, needed {op} {bound:.4g}"
    return value - bound if op == ">=" else bound - value


def _assert_figure(measured: float, registered: float, *, claim: str, what: str,
                   places: int = 3) -> None:
    """The figure the registry quotes (rounded to ``places``) is what this run measures."""
    slack = 0.5 * 10.0 ** -places + 1e-3 * 10.0 ** -places
    assert abs(measured - registered) <= slack, (
        f"[{claim}] {what}: this run measures {measured:.{places + 2}f}, the registry's "
        f"evidence says {registered:.{places}f}; re-measure and update derivations/experiments.py")


# ------------------------------------------------------ 1. label memorisation (000 P6)


@cache
def _memorisation(seed: int, random: bool) -> E.History:
    return E.memorisation_run(seed, random=random)


@pytest.mark.claim("experiments.memorise_random_labels", kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_network_memorises_random_labels_with_test_accuracy_at_chance(seed):
    """Zhang et al. (2017), seed 000 Problem 6: a network with enough capacity fits random
    labels: train accuracy ≥ 0.99, |test accuracy − 1/10| ≤ 0.06 (≈ 4 standard errors of a
    chance accuracy on 450 images: √(0.09/450) = 0.014)."""
    h = _memorisation(seed, True)
    c = "experiments.memorise_random_labels"
    _assert_margin(h.train_acc[-1], 0.99, ">=", claim=c, what=f"train accuracy (seed {seed})")
    _assert_margin(abs(h.test_acc[-1] - CHANCE), 0.06, "<=", claim=c,
                   what=f"|test accuracy − 0.1| (seed {seed})")


@pytest.mark.claim("experiments.true_labels_generalise", kind="experiment")
def test_same_network_on_true_labels_generalises():
    """The control: same network, budget and seed 0 with the true labels."""
    h = _memorisation(0, False)
    c = "experiments.true_labels_generalise"
    _assert_margin(h.train_acc[-1], 0.99, ">=", claim=c, what="train accuracy")
    _assert_margin(h.test_acc[-1], 0.90, ">=", claim=c, what="test accuracy")


# ---------------------------------------------------- 2. depth and initialisation (002 Q4)


@cache
def _gradients(seed: int, d: float | str) -> E.LayerGradients:
    data = E.digits(seed)
    return E.layer_gradients(E.tanh_net(seed, d), data.x_train[:256], data.y_train[:256])


@cache
def _init_history(seed: int, d: float | str) -> E.History:
    return E.init_run(seed, d, epochs=10)


@pytest.mark.claim("experiments.vanishing_gradient_bound", kind="symbolic")
def test_tanh_derivative_is_one_minus_tanh_squared_at_most_one():
    """The bound's factor: d tanh/dz = 1 − tanh² (sympy), and 0 < 1 − tanh² ≤ 1."""
    derived, closed, z = D.tanh_derivative()
    assert sp.simplify(derived - closed) == 0
    assert sp.Eq(closed.subs(z, 0), 1) and sp.ask(sp.Q.nonnegative(sp.tanh(z) ** 2))


@pytest.mark.claim("experiments.vanishing_gradient_bound", kind="experiment")
@pytest.mark.parametrize("d", E.INITS)
@pytest.mark.parametrize("seed", INIT_SEEDS)
def test_activation_gradients_obey_the_product_of_spectral_norms_bound(seed, d):
    """‖∂L/∂y_i‖₂ ≤ ‖∂L/∂y_L‖₂ ∏_{k>i} ‖A_k‖₂ max tanh′(z_k), per sample (seed 000 Problem 2).
    Slack 1e-4 relative: the measured norms are float32 (‖A‖₂ is computed in float64)."""
    g = _gradients(seed, d)
    ratio = g.act_grad_norms[:-1] / E.backprop_bound(g)[:-1]
    assert ratio.max() <= 1 + 1e-4, (
        f"[experiments.vanishing_gradient_bound] d={d}: measured/bound up to {ratio.max():.6g}")


@pytest.mark.claim("experiments.small_init_gradients_vanish", kind="experiment")
@pytest.mark.parametrize("d", [0.01, 0.1])
@pytest.mark.parametrize("seed", INIT_SEEDS)
def test_small_init_activation_gradients_shrink_geometrically_at_the_bound_rate(seed, d):
    """Fitted rate r of ‖∂L/∂y_i‖ per layer towards the input ≤ ρ̄, the geometric mean of the
    bound's factors ‖A_k‖₂ max tanh′; and the weight gradients are flat (max/min ≤ 2 over the
    hidden layers)."""
    g = _gradients(seed, d)
    c = "experiments.small_init_gradients_vanish"
    batch = np.linalg.norm(g.act_grad_norms, axis=1)  # ‖∂L/∂Y_i‖_F over the batch
    rate = 1 / E.geometric_rate(batch)  # shrink factor per layer towards the input
    factors = g.spectral[1:-1] * g.tanh_prime_max[1:].max(axis=1)
    rho = float(np.exp(np.log(factors).mean()))
    _assert_margin(rate, rho, "<=", claim=c, what=f"shrink rate per layer (d={d}, seed {seed})")
    hidden = g.weight_norms[1:-1]
    _assert_margin(hidden.max() / hidden.min(), 2.0, "<=", claim=c,
                   what=f"weight-gradient max/min over hidden layers (d={d})")


@pytest.mark.claim("experiments.small_init_weight_gradients_shrink", kind="experiment")
@pytest.mark.parametrize("d", [0.01, 0.1])
@pytest.mark.parametrize("seed", INIT_SEEDS)
def test_small_init_weight_gradients_vanish_next_to_xavier(seed, d):
    """Seed 002 Q4 Exercise 14: weights too small make the gradients vanish. The quantity the
    seed plots per layer, ‖∂L/∂A_k‖_F, is ≤ 1e-2 × the smallest under Xavier at every layer
    (measured: about 2e-11 for d = 0.01 and 2e-3 for d = 0.1)."""
    g, xavier = _gradients(seed, d), _gradients(seed, "xavier").weight_norms.min()
    _assert_margin(g.weight_norms.max() / xavier, 1e-2, "<=",
                   claim="experiments.small_init_weight_gradients_shrink",
                   what=f"largest weight gradient / Xavier's smallest (d={d}, seed {seed})")


@pytest.mark.claim("experiments.small_init_stays_linear", "experiments.small_init_saturates",
                   kind="symbolic")
def test_small_init_bound_rules_out_saturation_exactly():
    """For d = 0.01 (64 inputs in [0, 1], width 50, zero biases): |y| ≤ tanh(64/100) < 99/100
    and tanh′ ≥ 1 − tanh(64/100)² > 68/100, decided by sympy on exact numbers; 50d ≤ 64d covers
    the hidden layers. A counterexample to 'weight too small … saturated' for every input."""
    d = sp.Rational(1, 100)
    bound = D.small_init_activation_bound(64, d)
    assert bound == sp.tanh(sp.Rational(16, 25))
    derived, closed, z = D.tanh_derivative()
    assert sp.simplify(derived - closed) == 0  # tanh increasing: tanh′ = 1 − tanh² > 0
    assert bool(bound < sp.Rational(99, 100)), f"tanh(0.64) = {bound.evalf()} is not < 0.99"
    assert bool(closed.subs(z, sp.Rational(16, 25)) > sp.Rational(68, 100))
    assert 50 * d <= 64 * d
    record_counterexample("experiments.small_init_saturates",
                          f"d = 1/100: every |y| ≤ tanh(16/25) = {bound.evalf(6)} < 99/100")


@pytest.mark.claim("experiments.small_init_stays_linear", "experiments.small_init_saturates",
                   kind="implementation")
@pytest.mark.parametrize("seed", INIT_SEEDS)
def test_small_init_activations_stay_below_the_linear_regime_bound(seed):
    """The d = 0.01 net on the digits (pixels in [0, 1]): every activation is below the bound
    tanh(64d) of ``experiments.small_init_stays_linear`` and none is saturated (|y| > 0.99),
    against the seed's 'weight too small … the activation will become saturated'."""
    d = 0.01
    data = E.digits(seed)
    assert 0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1
    with torch.no_grad():
        _, _, ys = E.tanh_net(seed, d).forward_trace(data.x_train)
    largest = max(float(y.abs().max()) for y in ys)
    bound = float(D.small_init_activation_bound(64, d))
    c = "experiments.small_init_stays_linear"
    _assert_margin(largest, bound, "<=", claim=c, what=f"max |y| over all layers (seed {seed})")
    assert largest < 0.99
    record_counterexample(
        "experiments.small_init_saturates",
        f"d = 0.01: for every input in [0, 1]^64, |y| ≤ tanh(0.64) = {bound:.4f} < 0.99 "
        f"(proven); measured max |y| on the digits {largest:.4f} (seed {seed})")


@pytest.mark.claim("experiments.small_init_training_stalls", kind="experiment")
@pytest.mark.parametrize("d", [0.01, 0.1])
@pytest.mark.parametrize("seed", INIT_SEEDS)
def test_small_init_training_stalls_at_chance(seed, d):
    h = _init_history(seed, d)
    c = "experiments.small_init_training_stalls"
    _assert_margin(h.train_acc[-1], 0.15, "<=", claim=c, what=f"train accuracy (d={d})")
    _assert_margin(abs(h.train_loss[-1] - math.log(10)), 0.01, "<=", claim=c,
                   what=f"|loss − log 10| (d={d})")


@pytest.mark.claim("experiments.large_init_saturates", kind="experiment")
@pytest.mark.parametrize("seed", INIT_SEEDS)
def test_large_init_saturates_the_tanh_units(seed):
    g = _gradients(seed, 2.0)
    h = _init_history(seed, 2.0)
    c = "experiments.large_init_saturates"
    _assert_margin(g.saturated.min(), 0.5, ">=", claim=c, what="least saturated layer fraction")
    _assert_margin(h.train_loss[0], 3 * math.log(10), ">=", claim=c, what="initial loss")
    growth = 1 / E.geometric_rate(g.weight_norms[:-1])  # per layer, towards the input
    _assert_margin(growth, 1.5, ">=", claim=c, what="weight-gradient growth per layer")
    _assert_margin(h.train_acc[-1], 0.3, "<=", claim=c, what="train accuracy after 10 epochs")


@pytest.mark.claim("experiments.xavier_keeps_norms_and_trains", kind="experiment")
@pytest.mark.parametrize("seed", INIT_SEEDS)
def test_xavier_keeps_gradient_norms_within_a_small_factor_and_trains(seed):
    g = _gradients(seed, "xavier")
    h = _init_history(seed, "xavier")
    c = "experiments.xavier_keeps_norms_and_trains"
    w = g.weight_norms
    _assert_margin(w.max() / w.min(), 3.0, "<=", claim=c, what="weight-gradient max/min")
    _assert_margin(h.test_acc[-1], 0.75, ">=", claim=c, what="test accuracy after 10 epochs")


# ------------------------------------------------------- 3. seed 003 questions 9–12


@cache
def _activation(seed: int, act: str) -> E.History:
    return E.activation_run(seed, act, epochs=1, lr=0.1)


@pytest.mark.claim("experiments.relu_learns_faster_early", "experiments.relu_higher_loss_early",
                   kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_relu_beats_sigmoid_after_one_epoch_in_accuracy_and_loss(seed):
    """Seed 003 q9: ReLU improves accuracy faster (holds); its *higher* loss is not reproduced
    under either reading of 'the beginning': ReLU's loss is lower before any update and after
    the first epoch, by the figures the registry quotes."""
    r, s = _activation(seed, "relu"), _activation(seed, "sigmoid")
    c = "experiments.relu_learns_faster_early"
    _assert_margin(r.train_acc[1] - s.train_acc[1], 0.2, ">=", claim=c,
                   what=f"ReLU − sigmoid accuracy after 1 epoch (seed {seed})")
    _assert_margin(s.train_loss[1] - r.train_loss[1], 0.5, ">=", claim=c,
                   what=f"sigmoid − ReLU loss after 1 epoch (seed {seed})")
    nr = "experiments.relu_higher_loss_early"
    for epoch, reading in ((0, "before any update"), (1, "after the first epoch")):
        _assert_margin(s.train_loss[epoch] - r.train_loss[epoch], 0.0, ">=", claim=nr,
                       what=f"sigmoid − ReLU loss {reading} (seed {seed})")
        for k, (h, name) in enumerate(((r, "ReLU"), (s, "sigmoid"))):
            _assert_figure(h.train_loss[epoch], D.ACTIVATION_LOSSES[seed][epoch][k], claim=nr,
                           what=f"{name} loss {reading} (seed {seed})")


@cache
def _residual(seed: int, residual: bool) -> E.History:
    return E.residual_run(seed, residual, lr=1e-3, optimiser="adam")


@pytest.mark.claim("experiments.residual_starts_higher_ends_lower",
                   "experiments.residual_lower_initial_loss", kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_residual_connection_starts_higher_and_ends_lower(seed):
    """Seed 003 q10: h₂ = σ(W₂h₁) + h₁ vs σ(W₂h₁). 'Lower loss at the beginning' depends on the
    reading: before any update the residual net is higher (not reproduced), after the first
    epoch it is lower (holds); the gentle final improvement holds. The registry's figures for
    both readings are re-measured."""
    r, p = _residual(seed, True), _residual(seed, False)
    c = "experiments.residual_starts_higher_ends_lower"
    _assert_margin(r.train_loss[0] - p.train_loss[0], 0.0, ">=", claim=c,
                   what=f"residual − plain loss at epoch 0 (seed {seed})")
    _assert_margin(p.train_loss[1] - r.train_loss[1], 0.0, ">=", claim=c,
                   what=f"plain − residual loss at epoch 1 (seed {seed})")
    _assert_margin(p.train_loss[-1] - r.train_loss[-1], 0.02, ">=", claim=c,
                   what=f"plain − residual loss at epoch 10 (seed {seed})")
    rd = "experiments.residual_lower_initial_loss"
    for epoch in (0, 1):
        for k, h in enumerate((r, p)):
            _assert_figure(h.train_loss[epoch], D.RESIDUAL_LOSSES[seed][epoch][k], claim=rd,
                           what=f"{('residual', 'plain')[k]} loss at epoch {epoch} (seed {seed})")


LR_GRID = (0.0005, 0.001, 0.01)
MOMENTA = (0.9, 0.95)


@cache
def _sgd(seed: int, lr: float, momentum: float) -> E.History:
    return E.optimiser_run(seed, "sgd", lr=lr, momentum=momentum)


@pytest.mark.claim("experiments.sgd_effective_step_orders_loss",
                   "experiments.sgd_largest_lr_worst", kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_largest_learning_rate_trains_best_on_the_seed_grid(seed):
    """Seed 003 q11's grid: the lr 0.01 runs end below 0.5, all others above 1.5, so 'lr 0.01
    is the worst' is not reproduced at this scale (lr 0.01 has the lowest loss and the highest
    test accuracy); every run lies in the ranges the registry's evidence quotes."""
    c = "experiments.sgd_effective_step_orders_loss"
    runs = {(lr, m): _sgd(seed, lr, m) for lr in LR_GRID for m in MOMENTA}
    for (lr, m), h in runs.items():
        loss = h.train_loss[-1]
        if lr == 0.01:
            _assert_margin(loss, 0.5, "<=", claim=c, what=f"loss lr={lr} m={m} (seed {seed})")
        else:
            _assert_margin(loss, 1.5, ">=", claim=c, what=f"loss lr={lr} m={m} (seed {seed})")
    nr = "experiments.sgd_largest_lr_worst"
    best = min(runs, key=lambda k: runs[k].train_loss[-1])
    top = max(runs, key=lambda k: runs[k].test_acc[-1])
    assert best[0] == 0.01 and top[0] == 0.01, (
        f"[{nr}] seed {seed}: lowest loss at {best}, highest test accuracy at {top}")
    for (lr, m), h in runs.items():
        ranges = D.SGD_GRID_RANGES["lr 0.01" if lr == 0.01 else "lr ≤ 0.001"]
        for key, value in (("loss", h.train_loss[-1]), ("test_acc", h.test_acc[-1])):
            lo, hi = ranges[key]
            assert lo - 5e-4 <= value <= hi + 5e-4, (
                f"[{nr}] lr={lr} m={m} seed {seed}: {key} {value:.4f} outside the evidence's "
                f"{lo}–{hi}; re-measure and update derivations/experiments.py")


@pytest.mark.claim("experiments.higher_momentum_lower_loss", kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_higher_momentum_lowers_loss_at_small_learning_rate(seed):
    lo, hi = _sgd(seed, 0.0005, 0.9), _sgd(seed, 0.0005, 0.95)
    c = "experiments.higher_momentum_lower_loss"
    _assert_margin(lo.train_loss[-1] - hi.train_loss[-1], 0.03, ">=", claim=c,
                   what=f"loss(m=0.9) − loss(m=0.95) (seed {seed})")
    _assert_margin(hi.test_acc[-1] - lo.test_acc[-1], 0.0, ">=", claim=c,
                   what=f"test acc(m=0.95) − acc(m=0.9) (seed {seed})")


@cache
def _adam(seed: int) -> E.History:
    return E.optimiser_run(seed, "adam", lr=1e-3)


@pytest.mark.claim("experiments.adam_faster_at_default_lr", kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_adam_beats_sgd_momentum_at_the_default_learning_rate(seed):
    c = "experiments.adam_faster_at_default_lr"
    _assert_margin(_adam(seed).train_loss[-1], 0.3, "<=", claim=c, what=f"Adam loss (seed {seed})")
    _assert_margin(_sgd(seed, 0.001, 0.95).train_loss[-1], 1.5, ">=", claim=c,
                   what=f"SGD(lr 1e-3, m 0.95) loss (seed {seed})")


def _largest_drop(h: E.History) -> float:
    """Largest fall in test accuracy between consecutive epochs 2…10."""
    return float(max(0.0, -np.diff(h.test_acc[2:]).min()))


@pytest.mark.claim("experiments.adam_stable_at_this_scale", "experiments.adam_unstable_on_test",
                   kind="experiment")
def test_adam_is_not_less_stable_on_test_than_sgd_momentum():
    """Seed 003 q12 says Adam 'showed instability on the test data set'. Not reproduced: in at
    least one of seeds 0–4 Adam's largest drop is not above SGD's (the registry's figures are
    re-measured); what holds: Adam never drops by more than 0.03 and ends ≥ 0.93."""
    c = "experiments.adam_stable_at_this_scale"
    drops = {s: (_largest_drop(_adam(s)), _largest_drop(_sgd_ref(s))) for s in ADAM_SEEDS}
    for s in ADAM_SEEDS:
        _assert_margin(drops[s][0], 0.03, "<=", claim=c, what=f"Adam largest drop (seed {s})")
        _assert_margin(_adam(s).test_acc[-1], 0.93, ">=", claim=c,
                       what=f"Adam final test accuracy (seed {s})")
    nr = "experiments.adam_unstable_on_test"
    against = [s for s, (a, sg) in drops.items() if a <= sg]
    assert against, f"[{nr}] Adam is less stable in every seed: {drops}"
    for s, pair in drops.items():
        for k, name in enumerate(("Adam", "SGD")):
            _assert_figure(pair[k], D.ADAM_DROPS[s][k], claim=nr, places=4,
                           what=f"{name} largest drop (seed {s})")


@cache
def _sgd_ref(seed: int) -> E.History:
    return _sgd(seed, 0.01, 0.9)


# ---------------------------------- 4. the seed-002 Q1 regressor, hand gradients vs autograd

STEPS = 200


@cache
def _regression(gradients: str, loss: str) -> E.RegressionRun:
    return E.regression_run(gradients, seed=0, loss=loss, steps=STEPS)


@pytest.mark.claim("experiments.hand_gradient_training_decreases_loss", kind="experiment")
@pytest.mark.parametrize("loss", ["mae", "mse"])
def test_hand_gradient_descent_lowers_the_diabetes_loss(loss):
    run = _regression("hand", loss)
    _assert_margin(run.losses[-1] / run.losses[0], 0.75, "<=",
                   claim="experiments.hand_gradient_training_decreases_loss",
                   what=f"J_200 / J_0 ({loss})")


@pytest.mark.claim("experiments.hand_gradient_training_matches_autograd",
                   kind=("experiment", "autograd"))
@pytest.mark.parametrize("loss", ["mae", "mse"])
def test_hand_gradient_training_matches_its_autograd_twin_step_for_step(loss):
    """Both runs start from the same parameters (seed 0); after step t they agree within the
    float64 tolerance times t: each step adds at most a few roundings relative to the
    parameters, so the difference can grow at most linearly in the number of steps."""
    hand, auto = _regression("hand", loss), _regression("autograd", loss)
    c = "experiments.hand_gradient_training_matches_autograd"
    for t, (ph, pa) in enumerate(zip(hand.params, auto.params, strict=True), start=1):
        for k in ph:
            assert_close(ph[k], pa[k], claim=c, what=f"{k} after step {t} ({loss})", growth=t)
    assert_close(np.array(hand.losses), np.array(auto.losses), claim=c,
                 what=f"loss per step ({loss})", growth=STEPS)


# ------------------------------------------------- 5. seed 004 §1.2 and §4, seed 001 P3


@cache
def _numpy_mlp(seed: int, layers: int, std: float) -> dict[str, float]:
    return E.numpy_mlp_run(seed, [100] * layers, weight_std=std, steps=300, lr=0.5)


@pytest.mark.claim("experiments.numpy_mlp_several_layers_stick_at_chance",
                   "experiments.numpy_mlp_stuck_by_numerical_instability", kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_numpy_mlp_with_several_layers_sticks_at_chance_unless_std_is_raised(seed):
    """004 §1.2: at std 1e-4, 3 hidden layers stay at chance (test accuracy within 0.02 of
    0.1) while 1 hidden layer trains (≥ 0.9), and raising the std to 0.1 trains 3 layers
    (≥ 0.9). Every value stays finite (no numerical instability: the seed's explanation is
    not reproduced), with the deep net's logits as small as the registry's figures."""
    c = "experiments.numpy_mlp_several_layers_stick_at_chance"
    deep, shallow, raised = (_numpy_mlp(seed, 3, 1e-4), _numpy_mlp(seed, 1, 1e-4),
                             _numpy_mlp(seed, 3, 0.1))
    _assert_margin(abs(deep["test_acc"] - CHANCE), 0.02, "<=", claim=c,
                   what=f"|test accuracy − 0.1|, 3 layers, std 1e-4 (seed {seed})")
    _assert_margin(shallow["test_acc"], 0.9, ">=", claim=c,
                   what=f"test accuracy, 1 layer, std 1e-4 (seed {seed})")
    _assert_margin(raised["test_acc"], 0.9, ">=", claim=c,
                   what=f"test accuracy, 3 layers, std 0.1 (seed {seed})")
    nr = "experiments.numpy_mlp_stuck_by_numerical_instability"
    # the run returned: a NaN or inf would have stopped it (every numpy module refuses one)
    assert math.isfinite(deep["train_loss"]), f"[{nr}] loss {deep['train_loss']} (seed {seed})"
    _assert_figure(deep["max_abs_logit"], D.NUMPY_DEEP_MAX_LOGIT[seed], claim=nr, places=4,
                   what=f"largest |logit| of the stuck net (seed {seed})")


@cache
def _cnn_vs_mlp(seed: int, model: str) -> E.History:
    return E.cnn_vs_mlp_run(seed, model, epochs=15)


@pytest.mark.claim("experiments.cnn_beats_mlp", kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_small_cnn_beats_the_mlp_on_digits(seed):
    """004 §4: same optimiser and budget; the CNN's final test accuracy exceeds the MLP's by
    ≥ 0.005 (measured 0.011–0.018 over seeds 0–2 when the margin was set)."""
    cnn, mlp = _cnn_vs_mlp(seed, "cnn"), _cnn_vs_mlp(seed, "mlp")
    _assert_margin(cnn.test_acc[-1] - mlp.test_acc[-1], 0.005, ">=",
                   claim="experiments.cnn_beats_mlp",
                   what=f"CNN − MLP test accuracy after 15 epochs (seed {seed}: "
                        f"{cnn.test_acc[-1]:.4f} vs {mlp.test_acc[-1]:.4f})")


@pytest.mark.claim("experiments.bn_fold_float32_difference", kind="experiment")
@pytest.mark.parametrize("seed", SEEDS)
def test_bn_fold_in_float32_max_difference_exceeds_1e_8_mean_does_not(seed):
    """001 P3 in float32 (the full-size network, 2 SGD steps on random data for real running
    statistics, 16 random images): the max |folded − original| is above 1e-8 and the mean
    below it, at the figures the registry quotes (3 significant digits)."""
    c = "experiments.bn_fold_float32_difference"
    found = E.bn_fold_float32_differences(seed)
    _assert_margin(found["max"], 1e-8, ">=", claim=c, what=f"max |difference| (seed {seed})")
    _assert_margin(found["mean"], 1e-8, "<=", claim=c, what=f"mean |difference| (seed {seed})")
    for k, key in enumerate(("max", "mean")):
        registered = D.FOLD32_DIFFERENCES[seed][k]
        assert abs(found[key] - registered) <= 6e-3 * registered, (
            f"[{c}] {key} difference {found[key]:.4g} (seed {seed}); the registry's reading "
            f"says {registered:.3g}: re-measure and update derivations/experiments.py")
