r"""Claims about the code the seeds print: what the printed construction does when it runs.

Each claim states what a seed's code is meant to do (train every parameter, minimise the loss
the question defines, print per-epoch figures, …). Where the code as printed does something
else, the claim is ``refuted``, with an exact counterexample from a run of our own
re-implementation of the construction the seed describes (``impl/seed_code.py``; the seed's
code is described and cited, never copied), and corrected by the claim of the construction
built as meant. The sympy objects here are the two pieces of mathematics involved: the MAE
and MSE losses and their gradients (002 Q1), and the running average a cumulative print
computes (002 Q4 d).

Sources: ``002_f6a45d0186751a72.txt`` Q1 Exercise 3 and Q4 d, ``000_44446893528eed8a.txt``
Problem 6, ``003_6e09f081ee206780.txt`` Q11.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import sympy as sp

from derivations.registry import claim

SEED_000 = "000_44446893528eed8a.txt"
SEED_002 = "002_f6a45d0186751a72.txt"
SEED_003 = "003_6e09f081ee206780.txt"

_N = sp.Symbol("N", integer=True, positive=True)
_n, _e, _k = sp.symbols("n e k", integer=True, positive=True)
_r = sp.IndexedBase("r")  # residuals ŷ − y
_p = sp.IndexedBase("p")  # the value of epoch k
_theta = sp.Symbol(r"\theta")

# --------------------------------------------------------------- 002 Q1 Exercise 3 (training)

Q1_W1 = claim(
    "seed_code.q1_optimiser_trains_new_w1",
    source=f"{SEED_002} Q1 Exercise 3 (the training cell)",
    statement="The training cell trains W1: its Adam optimiser is built from the parameter "
    "dict's values and then the dict's 'W1' is replaced by a new 20×8 tensor. False: the "
    "optimiser holds the tensors it was given, so the new W1 is not among them and is "
    "unchanged by every step (only b1, W2, b2 train).",
    formula=lambda: sp.Ne(sp.Symbol("W_1^{(t)}"), sp.Symbol("W_1^{(0)}")),
    verdict="refuted",
    corrected_by="seed_code.q1_training_as_intended",
    witnesses=("implementation",),
)
Q1_MAE = claim(
    "seed_code.q1_trains_the_mae",
    source=f"{SEED_002} Q1 (J = mean|ŷ − y|) and Exercise 3 (torch.nn.MSELoss)",
    statement="Exercise 3 minimises the loss the question defines, J = (1/N) Σ|ŷ_n − y_n|. "
    "False: it uses MSELoss, (1/N) Σ(ŷ_n − y_n)², a different function with a different "
    "gradient (at residuals (1, 3): losses 2 and 5, gradients (1/2, 1/2) and (1, 3)).",
    formula=lambda: sp.Eq(sp.Sum(sp.Abs(_r[_n]), (_n, 1, _N)) / _N,
                          sp.Sum(_r[_n] ** 2, (_n, 1, _N)) / _N),
    verdict="refuted",
    corrected_by="seed_code.q1_training_as_intended",
    witnesses=("symbolic", "implementation"),
)
Q1_LOG = claim(
    "seed_code.q1_log_from_printed_code",
    source=f"{SEED_002} Q1 Exercise 3 (the training loop and its 40-epoch log)",
    statement="The printed 40-epoch log comes from the printed code. False: the cell binds the "
    "scheduler as lr_scheduler, but the loop steps a differently spelt name (transposed "
    "letters) before its print, which raises NameError in the first epoch, so no epoch line "
    "can be printed by that code.",
    formula=None,
    verdict="refuted",
    corrected_by="seed_code.q1_training_as_intended",
    witnesses=("implementation",),
)
Q1_VALIDATION = claim(
    "seed_code.q1_validation_held_out",
    source=f"{SEED_002} Q1 Exercise 3 (the validation split)",
    statement="The validation loss is measured on rows the model does not train on. False: "
    "the training loader is built on the whole training set before the 80/20 split is "
    "taken from that same set, so the loader keeps yielding every row and each validation "
    "row is trained on every epoch.",
    formula=None,
    verdict="refuted",
    corrected_by="seed_code.q1_training_as_intended",
    witnesses=("implementation",),
)
Q1_FIXED = claim(
    "seed_code.q1_training_as_intended",
    source=f"{SEED_002} Q1 Exercise 3 (corrected)",
    statement="Built in the intended order — replace W1 and initialise, then build the "
    "optimiser; the MAE loss (L1Loss, gradient sign(ŷ − y)/N as Exercise 1 derives); the "
    "scheduler stepped by the name it is bound to; the split taken first and only its "
    "training part loaded — every parameter trains, the loss is mean|ŷ − y|, and no "
    "validation row is trained on.",
    formula=lambda: sp.Eq(sp.Derivative(sp.Sum(sp.Abs(_r[_n]), (_n, 1, _N)) / _N, _r[_k]),
                          sp.sign(_r[_k]) / _N),
    witnesses=("symbolic", "implementation"),
)

# --------------------------------------------------------------------- 002 Q4 d (the prints)

Q4_PRINTS = claim(
    "seed_code.q4_prints_per_epoch_values",
    source=f"{SEED_002} Q4 d (the train function's prints)",
    statement="The loss and accuracy printed after epoch e are epoch e's. False: every batch "
    "value is appended to one list over all epochs and the print divides the list's sum by "
    "(batches per epoch)·e, the running average of epochs 1 … e.",
    formula=lambda: sp.Eq(sp.Symbol("c_e"), _p[_e]),
    verdict="refuted",
    corrected_by="seed_code.q4_prints_are_running_averages",
    witnesses=("implementation",),
)
Q4_RUNNING = claim(
    "seed_code.q4_prints_are_running_averages",
    source=f"{SEED_002} Q4 d (corrected)",
    statement="The printed c_e = (1/e) Σ_{k≤e} p_k, p_k epoch k's mean, so p_e = e·c_e − "
    "(e−1)·c_{e−1}: from the seed's own prints, its Xavier run reached 92.14% training and "
    "92.58% test accuracy in epoch 5 (printed: 86.02% and 90.06%), and every recovered "
    "accuracy lies in [0, 100] and every loss is positive.",
    formula=lambda: sp.Eq(_p[_e], _e * sp.Symbol("c_e") - (_e - 1) * sp.Symbol("c_{e-1}")),
    witnesses=("symbolic", "implementation"),
)

# ------------------------------------------------------------------- 000 P6 (what is recorded)

P6_LOSS = claim(
    "seed_code.p6_loss_is_epoch_loss",
    source=f"{SEED_000} Problem 6 (Train_Loss)",
    statement="Train_Loss holds each epoch's training loss. False: after the epoch's loop it "
    "appends the loss variable the last mini-batch left, one batch of the epoch.",
    formula=None,
    verdict="refuted",
    corrected_by="seed_code.p6_measured_as_intended",
    witnesses=("implementation",),
)
P6_DROPOUT = claim(
    "seed_code.p6_accuracy_without_dropout",
    source=f"{SEED_000} Problem 6 (Train_Accuracy)",
    statement="Train_Accuracy is the trained network's accuracy. False: the network (with "
    "nn.Dropout) is never put in eval mode, and torch.no_grad() does not switch dropout off, "
    "so the accuracy pass runs a random sub-network: two passes over the same data disagree.",
    formula=None,
    verdict="refuted",
    corrected_by="seed_code.p6_measured_as_intended",
    witnesses=("implementation",),
)
P6_LABELS = claim(
    "seed_code.p6_random_labels_cover_ten_classes",
    source=f"{SEED_000} Problem 6 (the random labels)",
    statement="The 6,000 labels are replaced by random labels of MNIST's 10 classes. False: "
    "they are drawn with torch.randint(0, 9, …), whose upper bound is exclusive, so class 9 "
    "never occurs (chance is 1/9, not 1/10).",
    formula=None,
    verdict="refuted",
    corrected_by="seed_code.p6_measured_as_intended",
    witnesses=("implementation",),
)
P6_FIXED = claim(
    "seed_code.p6_measured_as_intended",
    source=f"{SEED_000} Problem 6 (corrected)",
    statement="Recording the mean of the epoch's mini-batch losses, measuring the accuracy in "
    "eval mode (deterministic: two passes agree) and drawing labels with torch.randint(0, 10) "
    "(all 10 classes) gives the quantities the plot is labelled with.",
    formula=None,
    witnesses=("implementation",),
)

# --------------------------------------------------------------------- 003 Q11 (the device)

Q11_DEVICE = claim(
    "seed_code.q11_runs_on_the_selected_device",
    source=f"{SEED_003} Q11 (appendix, the training function)",
    statement="The training runs on the device it selects. False: the inputs are moved to "
    "the device but the network's own move is commented out, so on any device other than the "
    "CPU the first forward raises (parameters on the CPU, inputs elsewhere).",
    formula=None,
    verdict="refuted",
    corrected_by="seed_code.q11_net_and_inputs_on_one_device",
    witnesses=("implementation",),
)
Q11_FIXED = claim(
    "seed_code.q11_net_and_inputs_on_one_device",
    source=f"{SEED_003} Q11 (corrected)",
    statement="With the network moved to the device too, the forward runs there.",
    formula=None,
    witnesses=("implementation",),
)


# --------------------------------------------------------------------------- builders


@cache
def mae_and_mse(n: int) -> tuple[sp.Expr, sp.Expr, tuple[sp.Symbol, ...]]:
    """(J_MAE = (1/n) Σ|r_i|, J_MSE = (1/n) Σ r_i², the real residual symbols r_i)."""
    r = sp.symbols(f"r0:{n}", real=True)
    return sp.Add(*[sp.Abs(v) for v in r]) / n, sp.Add(*[v**2 for v in r]) / n, r


@cache
def running_average(epochs: int) -> tuple[list[sp.Expr], list[sp.Expr], tuple[sp.Symbol, ...]]:
    """(c_e = (1/e) Σ_{k≤e} p_k for e = 1 … epochs, the recovery e·c_e − (e−1)·c_{e−1} of p_e,
    the symbols p_k)."""
    p = sp.symbols(f"p1:{epochs + 1}", real=True)
    c = [sp.Add(*p[:e]) / e for e in range(1, epochs + 1)]
    recovered = [c[0]] + [(e + 1) * c[e] - e * c[e - 1] for e in range(1, epochs)]
    return c, recovered, p


def per_epoch_from_running(printed: list[str]) -> list[Fraction]:
    """Exact p_e = e·c_e − (e−1)·c_{e−1} from printed decimals c_1, c_2, … (as the seed prints
    them, so the recovery is exact up to the print's own rounding)."""
    c = [Fraction(v) for v in printed]
    return [c[0]] + [(e + 1) * c[e] - e * c[e - 1] for e in range(1, len(c))]
