r"""The seeds' empirical claims, each with the margin the suite measures.

Sources: ``000_44446893528eed8a.txt`` Problem 6 (label memorisation), ``002_f6a45d0186751a72.txt``
Q4 (depth and initialisation of a tanh network) and Q1 (the tanh regressor trained with
hand-written gradients), ``003_6e09f081ee206780.txt`` questions 9–12 (ReLU vs sigmoid, the
residual MLP, SGD with momentum vs Adam).

These are statements about training runs, not identities: each formula is the sympy
inequality of the margin the test asserts (accuracies a, losses ℓ, gradient norms g), at the
scale of ``impl/experiments.py`` (the bundled scikit-learn digits and diabetes data, small
MLPs, one CPU thread, seeds stated in ``tests/test_experiments.py``). A claim a seed makes that
does not hold at this scale is registered ``refuted`` with the corrected claim that does.

The one analytic ingredient, the vanishing-gradient bound, is derived here:
:math:`\partial y_L/\partial y_i = \prod_{k=L}^{i+1}\operatorname{diag}(\tanh'(z_k))A_k` and
:math:`\|\operatorname{diag}(t)A\|_2 \le \max_j|t_j|\,\|A\|_2` give
:math:`\|\partial y_L/\partial y_i\|_2 \le \prod_{k=i+1}^{L}\|A_k\|_2\max_j|\tanh'(z_{k,j})|`,
with :math:`\tanh' = 1-\tanh^2 \in (0, 1]` (``tanh_derivative``).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_000 = "000_44446893528eed8a.txt"
SEED_002 = "002_f6a45d0186751a72.txt"
SEED_003 = "003_6e09f081ee206780.txt"

_R = sp.Rational


def _acc(name: str) -> sp.Symbol:
    return sp.Symbol(rf"a_{{\mathrm{{{name}}}}}")


def _loss(name: str) -> sp.Symbol:
    return sp.Symbol(rf"\ell_{{\mathrm{{{name}}}}}")


_i, _k, _L = sp.symbols("i k L", integer=True, positive=True)
_A, _z = sp.IndexedBase("A"), sp.IndexedBase("z")
_d = sp.Symbol("d", positive=True)
_norm = sp.Function(r"\|\cdot\|_2")
_grad = sp.Function(r"\|\partial L/\partial y\|")
_gw = sp.Function(r"\|\partial L/\partial A\|_F")
_spread = sp.Symbol(r"\frac{\max g}{\min g}")  # spread of the weight-gradient norms g_k
_tanh_max = sp.Function(r"\max\tanh'")  # max over the units of the layer

# ------------------------------------------------------------ 1. label memorisation (000 P6)

MEMORISE_RANDOM = claim(
    "experiments.memorise_random_labels",
    witnesses=("experiment",),
    source=f"{SEED_000} Problem 6",
    statement="A 64-256-256-10 ReLU MLP (Adam, full batch, 150 epochs) fits 500 digits with "
    "uniformly random labels to ≥ 99% training accuracy while its test accuracy stays at "
    "chance (within 0.06 of 1/10 on 450 test images, ≈ 4 standard errors); seeds 0, 1, 2.",
    formula=lambda: sp.And(
        sp.Ge(_acc("train"), _R(99, 100)), sp.Le(sp.Abs(_acc("test") - _R(1, 10)), _R(6, 100))
    ),
)
MEMORISE_TRUE = claim(
    "experiments.true_labels_generalise",
    witnesses=("experiment",),
    source=f"{SEED_000} Problem 6 (the control run)",
    statement="The same network and budget on the true labels: training accuracy ≥ 99% and "
    "test accuracy ≥ 90%; seed 0.",
    formula=lambda: sp.And(sp.Ge(_acc("train"), _R(99, 100)), sp.Ge(_acc("test"), _R(9, 10))),
)

# ---------------------------------------------------- 2. depth and initialisation (002 Q4)

BOUND = claim(
    "experiments.vanishing_gradient_bound",
    witnesses=("symbolic", "experiment"),
    source=f"{SEED_000} Problem 2; {SEED_002} Q4",
    statement="For the depth-8 width-50 tanh net, per sample, ‖∂L/∂y_i‖₂ ≤ ‖∂L/∂y_L‖₂ · "
    "∏_{k=i+1}^{L} ‖A_k‖₂ max_j tanh′(z_{k,j}), measured for all four initialisations.",
    formula=lambda: sp.Le(
        _grad(_i),
        _grad(_L) * sp.Product(_norm(_A[_k]) * _tanh_max(_z[_k]), (_k, _i + 1, _L)),
    ),
)
SMALL_INIT_WEIGHT_GRADS = claim(
    "experiments.small_init_weight_gradients_shrink",
    witnesses=("experiment",),
    source=f"{SEED_002} Q4 (and the issue's reading of it)",
    statement="With weights uniform in [−d, d], d ∈ {0.01, 0.1}, the per-layer weight-gradient "
    "norms ‖∂L/∂A_i‖_F shrink geometrically towards the input. False: they are flat across "
    "the hidden layers (the backward factor c^{L−i} times the forward activation c^{i−1}).",
    formula=lambda: sp.Lt(_gw(1), _gw(_L) / 2),
    verdict="refuted",
    corrected_by="experiments.small_init_gradients_vanish",
)
SMALL_INIT_VANISH = claim(
    "experiments.small_init_gradients_vanish",
    witnesses=("experiment",),
    source=f"{SEED_002} Q4; {SEED_000} Problem 2",
    statement="d ∈ {0.01, 0.1}: the activation gradients ‖∂L/∂y_i‖ shrink geometrically "
    "towards the input at a fitted rate ≤ the bound's per-layer factor ‖A_k‖₂ max tanh′ "
    "(‖A_k‖₂ ≈ 2√(50/3)·d: 0.08 and 0.8), while the weight gradients are flat (max/min ≤ 2 "
    "over the hidden layers) and tiny (≤ 1e-2 × Xavier's smallest); seeds 0, 1.",
    formula=lambda: sp.And(
        sp.Le(sp.Symbol("r"), sp.Symbol(r"\bar\rho")),
        sp.Le(_spread, 2),
    ),
)
SMALL_INIT_STALLS = claim(
    "experiments.small_init_training_stalls",
    witnesses=("experiment",),
    source=f"{SEED_002} Q4 d)",
    statement="d ∈ {0.01, 0.1}: after 10 epochs of SGD (lr 0.01, batch 32) the training "
    "accuracy is ≤ 0.15 (chance is 0.10) and the loss is within 0.01 of log 10; seeds 0, 1.",
    formula=lambda: sp.And(sp.Le(_acc("train"), _R(15, 100)),
                           sp.Le(sp.Abs(_loss("train") - sp.log(10)), _R(1, 100))),
)
LARGE_INIT_SATURATES = claim(
    "experiments.large_init_saturates",
    witnesses=("experiment",),
    source=f"{SEED_002} Q4",
    statement="d = 2: at initialisation ≥ 50% of the tanh units of every layer have |y| > 0.99, "
    "the initial loss exceeds 3·log 10, the weight gradients grow towards the input (fitted "
    "factor ≥ 1.5 per layer: explosion, not vanishing, despite the saturation), and after 10 "
    "epochs training accuracy is ≤ 0.3; seeds 0, 1.",
    formula=lambda: sp.And(sp.Ge(sp.Symbol("s"), _R(1, 2)), sp.Ge(sp.Symbol("r"), _R(3, 2)),
                           sp.Ge(_loss("0"), 3 * sp.log(10)), sp.Le(_acc("train"), _R(3, 10))),
)
XAVIER_TRAINS = claim(
    "experiments.xavier_keeps_norms_and_trains",
    witnesses=("experiment",),
    source=f"{SEED_002} Q4",
    statement="Xavier initialisation: the weight-gradient norms of all 9 layers lie within a "
    "factor 3 of each other, and after 10 epochs of the same SGD the test accuracy is ≥ 0.75; "
    "seeds 0, 1.",
    formula=lambda: sp.And(sp.Le(_spread, 3),
                           sp.Ge(_acc("test"), _R(3, 4))),
)

# --------------------------------------------------- 3. seed 003 questions 9–12 at this scale

RELU_HIGHER_LOSS = claim(
    "experiments.relu_higher_loss_early",
    witnesses=("experiment",),
    source=f"{SEED_003} question 9",
    statement="'The ReLU activation function leads to a higher loss and faster improvement in "
    "accuracy in the beginning' (than sigmoid). The loss half does not reproduce: after one "
    "epoch ReLU's loss is lower.",
    formula=lambda: sp.Gt(_loss("relu"), _loss("sigmoid")),
    verdict="refuted",
    corrected_by="experiments.relu_learns_faster_early",
)
RELU_FASTER = claim(
    "experiments.relu_learns_faster_early",
    witnesses=("experiment",),
    source=f"{SEED_003} question 9 (corrected)",
    statement="Same MLP (64-256-10), SGD lr 0.1, batch 32: after one epoch ReLU's training "
    "accuracy exceeds sigmoid's by ≥ 0.2 and its training loss is lower by ≥ 0.5; seeds 0, 1, 2.",
    formula=lambda: sp.And(sp.Ge(_acc("relu") - _acc("sigmoid"), _R(1, 5)),
                           sp.Ge(_loss("sigmoid") - _loss("relu"), _R(1, 2))),
)
RESIDUAL_LOWER_START = claim(
    "experiments.residual_lower_initial_loss",
    witnesses=("experiment",),
    source=f"{SEED_003} question 10",
    statement="'The residual layer made lower accuracy and loss at the beginning.' The loss half "
    "does not reproduce: h₂ = σ(W₂h₁) + h₁ starts with a higher loss.",
    formula=lambda: sp.Lt(_loss("res,0"), _loss("plain,0")),
    verdict="refuted",
    corrected_by="experiments.residual_starts_higher_ends_lower",
)
RESIDUAL_BETTER = claim(
    "experiments.residual_starts_higher_ends_lower",
    witnesses=("experiment",),
    source=f"{SEED_003} question 10 (corrected)",
    statement="The sigmoid MLP with the residual connection (Adam lr 1e-3, batch 32) starts "
    "with a higher loss than the plain one, drops faster, and ends 10 epochs with a training "
    "loss lower by ≥ 0.02 ('gently improves'); seeds 0, 1, 2.",
    formula=lambda: sp.And(sp.Gt(_loss("res,0"), _loss("plain,0")),
                           sp.Ge(_loss("plain,10") - _loss("res,10"), _R(2, 100))),
)
SGD_LR_WORST = claim(
    "experiments.sgd_largest_lr_worst",
    witnesses=("experiment",),
    source=f"{SEED_003} question 11",
    statement="'When the learning rate is 0.01, the performance of the model is the worst' and "
    "the best is lr 0.001 with momentum 0.95 (grid lr ∈ {0.0005, 0.001, 0.01} × momentum ∈ "
    "{0.9, 0.95}). At this scale (10 epochs) lr 0.01 is the best.",
    formula=lambda: sp.Gt(_loss("0.01"), _loss("0.001")),
    verdict="refuted",
    corrected_by="experiments.sgd_effective_step_orders_loss",
)
SGD_EFFECTIVE_STEP = claim(
    "experiments.sgd_effective_step_orders_loss",
    witnesses=("experiment",),
    source=f"{SEED_003} question 11 (corrected)",
    statement="Over the seed's grid (64-128-64-10 ReLU MLP, batch 32, 10 epochs) the training "
    "loss after 10 epochs decreases with the effective step α/(1−β): both lr 0.01 runs end "
    "below 0.5 and every smaller-lr run above 1.5; seeds 0, 1, 2.",
    formula=lambda: sp.And(sp.Le(_loss("0.01"), _R(1, 2)), sp.Ge(_loss("0.001"), _R(3, 2))),
)
MOMENTUM_HELPS = claim(
    "experiments.higher_momentum_lower_loss",
    witnesses=("experiment",),
    source=f"{SEED_003} question 11",
    statement="At the small learning rate 0.0005 the higher momentum (0.95 vs 0.9) gives lower "
    "training loss (by ≥ 0.03) and higher test accuracy after 10 epochs; seeds 0, 1, 2.",
    formula=lambda: sp.And(sp.Ge(_loss("0.9") - _loss("0.95"), _R(3, 100)),
                           sp.Gt(_acc("0.95"), _acc("0.9"))),
)
ADAM_FASTER = claim(
    "experiments.adam_faster_at_default_lr",
    witnesses=("experiment",),
    source=f"{SEED_003} question 12",
    statement="'Adam generally performs better on smaller data sets and default parameter "
    "settings': at lr 1e-3, Adam's training loss after 10 epochs is below 0.3 and SGD with "
    "momentum 0.95's above 1.5; seeds 0, 1, 2.",
    formula=lambda: sp.And(sp.Le(_loss("Adam"), _R(3, 10)), sp.Ge(_loss("SGD"), _R(3, 2))),
)
ADAM_UNSTABLE = claim(
    "experiments.adam_unstable_on_test",
    witnesses=("experiment",),
    source=f"{SEED_003} question 12",
    statement="'Adam showed instability on the test data set' compared with SGD+momentum: "
    "its largest epoch-to-epoch drop in test accuracy (epochs 2–10) exceeds SGD's (lr 0.01, "
    "momentum 0.9) in every seed. Not reproduced: in most seeds 0–4 it does not.",
    formula=lambda: sp.Gt(sp.Symbol(r"\Delta_{Adam}"), sp.Symbol(r"\Delta_{SGD}")),
    verdict="refuted",
    corrected_by="experiments.adam_stable_at_this_scale",
)
ADAM_STABLE = claim(
    "experiments.adam_stable_at_this_scale",
    witnesses=("experiment",),
    source=f"{SEED_003} question 12 (corrected)",
    statement="Adam (lr 1e-3) never loses more than 0.03 test accuracy between consecutive "
    "epochs 2–10 and ends with test accuracy ≥ 0.93; seeds 0–4.",
    formula=lambda: sp.And(sp.Le(sp.Symbol(r"\Delta_{Adam}"), _R(3, 100)),
                           sp.Ge(_acc("test"), _R(93, 100))),
)

# ------------------------------------- 4. the seed-002 Q1 regressor with hand gradients


REGRESSION_DECREASES = claim(
    "experiments.hand_gradient_training_decreases_loss",
    witnesses=("experiment",),
    source=f"{SEED_002} Q1 Exercise 3 (California Housing replaced by diabetes)",
    statement="Full-batch gradient descent with the hand-written gradients of J = mean|ŷ − y| "
    "(and of ½ mean (ŷ − y)²) on the standardised diabetes data lowers the training loss by "
    "≥ 25% in 200 steps (lr 0.05, H = 20, Xavier init, seed 0).",
    formula=lambda: sp.Le(sp.Symbol("J_{200}"), _R(3, 4) * sp.Symbol("J_0")),
)
REGRESSION_TWIN = claim(
    "experiments.hand_gradient_training_matches_autograd",
    witnesses=("autograd", "experiment"),
    source=f"{SEED_002} Q1 Exercises 1–3",
    statement="The same run with torch autograd (float64) computing the gradients: parameters "
    "and loss agree with the hand-gradient run at every one of the 200 steps within the "
    "float64 tolerance grown by the step count.",
    formula=lambda: sp.Le(sp.Abs(sp.Symbol(r"\theta_t^{hand}") - sp.Symbol(r"\theta_t^{auto}")),
                          sp.Symbol(r"\epsilon_{64}") * sp.Symbol("t")),
)


# --------------------------------------------------------------------------- builders


@cache
def tanh_derivative() -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    """(d tanh(z)/dz from sympy, the closed form 1 − tanh(z)², z): the factor of the bound."""
    z = sp.Symbol("z", real=True)
    return sp.diff(sp.tanh(z), z), 1 - sp.tanh(z) ** 2, z
