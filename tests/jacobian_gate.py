"""The Jacobian benchmark's regression gate: ``python -m tests.jacobian_gate``.

A short benchmark pass that measures the ratios of issues 8 and 17 in one run and exits
non-zero when one falls outside its gate bound. Ratios only: absolute times differ between
machines and are printed, never gated.

How a ratio is measured, robust to a shared machine whose speed drifts from second to
second (other tenants share its L3 and memory bandwidth): the kernels of one ratio run in
*rounds*; in each round every kernel runs a burst of the same number of back-to-back calls
(about ``BURST_S`` seconds of the slowest kernel, at least 2, at most 20) and keeps the
burst's minimum, so each kernel is timed warm, in its own steady state, within milliseconds
of the others; the order rotates from round to round; the ratio is computed *within each
round* and the gate takes the *median over rounds* (5–30 rounds, fewer for the slow
kernels). Drift then moves numerator and denominator together, and a bad round does not
move the median. The gate bounds sit below the issue's targets; the targets are printed
beside each measurement (a target missed is reported, not gated). ``JACOBIAN_SLOWDOWN=reverse``
(or ``forward``) runs our kernel twice per call, which the gate must catch:
``JACOBIAN_SLOWDOWN=reverse python -m tests.jacobian_gate`` fails.

Settings (float32, ``JACOBIAN_BENCH_THREADS``, weight scaling) are in ``tests/jacobian_bench.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from derivations import jacobian as dj
from tests.jacobian_bench import CELLS, MATMULS, calibrate, kernels, predict, setup_threads, trace

ROUNDS = int(os.environ.get("JACOBIAN_GATE_ROUNDS", "15"))
BURST_S = 0.02
# Optimal ÷ reverse on the seed's uniform cell runs the same operations on both sides, so the
# true ratio is 1 plus the plan lookup (~2 µs); the gate allows the 1.1.
OPT_UNIFORM_GATE = (0.0, 1.1)
# The seed's small cell (D = 2, K = 30, P = 10, L = 10) is dispatch-bound: each mode is about 60
# numpy calls of a few µs, and the optimal order's step loop adds a handful of them. Measured on
# a quiet machine 1.07–1.09 (target 1.1): too close to the target for a gate that must not fail
# on noise, so the gate allows 1.25 there and still prints the target as met or MISSED.
OPT_SMALL_GATE = (0.0, 1.25)


def _burst_min(fn: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(fns: dict[str, Callable[[], object]], rounds: int = ROUNDS) -> list[dict[str, float]]:
    """Per round, each kernel's minimum seconds over a burst of back-to-back calls.

    Every kernel of one measurement gets the same number of calls per burst (a minimum over
    fewer samples would be biased upwards): as many as fit about BURST_S seconds of the
    slowest kernel's warm-up call, at least 2 (the first call of a burst warms the caches)
    and at most 20. The order of the kernels rotates from round to round.
    """
    slowest = 0.0
    for fn in fns.values():
        t0 = time.perf_counter()
        fn()
        slowest = max(slowest, time.perf_counter() - t0)
    calls = max(2, min(20, round(BURST_S / slowest)))
    names = list(fns)
    out = []
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        out.append({name: _burst_min(fns[name], calls) for name in order})
    return out


def median_ratio(rounds: list[dict[str, float]], ratio: Callable[[dict[str, float]], float]
                 ) -> float:
    """The median over rounds of a ratio computed within each round."""
    return statistics.median(ratio(t) for t in rounds)


@dataclass
class Ratio:
    name: str
    value: float
    gate: tuple[float, float]   # (low, high) bounds the gate enforces
    target: tuple[float, float]  # the target, reported (met / missed), not gated

    @property
    def ok(self) -> bool:
        return self.gate[0] <= self.value <= self.gate[1]

    @property
    def met(self) -> bool:
        return self.target[0] <= self.value <= self.target[1]


def model_ratio(cell) -> float:
    return dj.cost(dj.FORWARD, *cell.sizes) / dj.cost(dj.REVERSE, *cell.sizes)


# The time model's predictions are gated for our kernels, the dense-diagonal baselines, the
# evaluation of f and the reference matmuls. torch.func's predictions are printed, not gated:
# its per-op cost is calibrated on a tanh chain and its large-block ops (copies, fills of
# fresh K×D tangents) are not modelled as well (see docs/jacobian.md).
# Gate band wider than the target: developed on a 2-core machine shared by 8 engineers (load
# 4–10), where compute-bound kernels ran 2–4× slower than the calibration minutes before
# (1000³ matmul: 24 ms calibrated, 55–103 ms measured in one run). Tighten to the target once
# re-measured on a quiet machine.
MODEL_BAND = (1 / 3, 3.0)
MODEL_TARGET = (1 / 1.5, 1.5)   # issue 17's target


def run() -> tuple[list[Ratio], dict[str, dict[str, float]], list[tuple[str, float]]]:
    setup_threads()
    machine = calibrate()
    inf = float("inf")
    ratios: list[Ratio] = []
    times: dict[str, dict[str, float]] = {}       # per cell: each kernel's minimum (printed)
    by_round: dict[str, list[dict[str, float]]] = {}
    info: list[tuple[str, float]] = []             # printed beside the gate, not gated

    predicted: dict[str, dict[str, float]] = {}

    def cell_rounds(name, wanted, rounds=ROUNDS):
        cell = CELLS[name]
        ks = kernels(cell)  # one set of weights shared by every kernel measured here
        for k in wanted:
            if k not in predicted.setdefault(name, {}):
                predicted[name][k] = predict(trace(ks[k].traced), machine, ks[k].runtime,
                                             ks[k].entry, keys=cell.L + 1)
        rs = measure({k: ks[k].run for k in wanted}, rounds)
        by_round[name] = rs
        cell_times = times.setdefault(name, {})
        for k in wanted:
            cell_times[k] = min(cell_times.get(k, inf), min(t[k] for t in rs))
        return rs

    # 1. Forward mode at D = K = 1000 against the matmul rate (L = 3: two K×K by K×D products).
    c = CELLS["seed-big-L3"]
    rs = cell_rounds(c.name, ["ours forward", *MATMULS, "torch.func.jacfwd",
                              "dense-diag forward"], rounds=5)
    fwd_macs, mm_macs = dj.cost(dj.FORWARD, *c.sizes), c.K * c.K * c.D
    # The faster library's matmul is the reference rate.
    ratios.append(Ratio("forward rate / matmul rate (D=K=1000, L=3)",
                        median_ratio(rs, lambda t: (fwd_macs / t["ours forward"])
                                     / (mm_macs / min(t[k] for k in MATMULS))),
                        (0.6, inf), (0.85, inf)))
    ratios.append(Ratio("jacfwd / ours forward (D=K=1000, L=3)",
                        median_ratio(rs, lambda t: t["torch.func.jacfwd"] / t["ours forward"]),
                        (1.0, inf), (1.4, inf)))
    # The model of the seed's method (dense diag products) predicts C_diag,fwd / C_fwd ≈ 2.
    ratios.append(Ratio("dense-diag forward / ours forward (D=K=1000, L=3)",
                        median_ratio(rs, lambda t: t["dense-diag forward"] / t["ours forward"]),
                        (1.4, inf),
                        (0.8 * dj.cost(dj.DENSE_DIAG_FORWARD, *c.sizes) / fwd_macs, inf)))

    # 2–3. Reverse mode with P = 1 against one evaluation of f and against torch.func. The pair
    # reverse/f is measured on its own: between its bursts no other kernel (jacfwd streams
    # hundreds of MB) evicts the weights that both read. jacfwd (~150 ms a call) is measured
    # apart from the fast kernels, which then get longer bursts.
    c = CELLS["seed-big-L5"]
    rs = cell_rounds(c.name, ["ours reverse", "evaluate f"], rounds=2 * ROUNDS)
    ratios.append(Ratio("reverse / evaluate f (D=K=1000, P=1, L=5)",
                        median_ratio(rs, lambda t: t["ours reverse"] / t["evaluate f"]),
                        (0.0, 2.6), (0.0, 2.0)))
    rs = cell_rounds(c.name, ["ours reverse", "torch.func.jacrev", "dense-diag reverse",
                              "ours reverse (torch ops)"], rounds=ROUNDS)
    ratios.append(Ratio("jacrev / ours reverse (big, L=5)",
                        median_ratio(rs, lambda t: t["torch.func.jacrev"] / t["ours reverse"]),
                        (1.2, inf), (1.4, inf)))
    # The model predicts C_diag,rev / C_rev = 1.5 here (dense diag: one more P×K×K per layer).
    ratios.append(Ratio("dense-diag reverse / ours reverse (big, L=5)",
                        median_ratio(rs, lambda t: t["dense-diag reverse"] / t["ours reverse"]),
                        (1.2, inf), (0.8 * dj.cost(dj.DENSE_DIAG_REVERSE, *c.sizes)
                                     / dj.cost(dj.REVERSE, *c.sizes), inf)))
    # How much of the gap to torch.func is the BLAS: the same kernel in torch ops (MKL).
    info.append(("jacrev / ours reverse in torch ops (big, L=5)",
                 median_ratio(rs, lambda t: t["torch.func.jacrev"]
                              / t["ours reverse (torch ops)"])))
    info.append(("ours reverse in torch ops / ours reverse (big, L=5)",
                 median_ratio(rs, lambda t: t["ours reverse (torch ops)"] / t["ours reverse"])))
    rs = cell_rounds(c.name, ["ours reverse", "torch.func.jacfwd"], rounds=5)
    ratios.append(Ratio("jacfwd / ours reverse (big, L=5)",
                        median_ratio(rs, lambda t: t["torch.func.jacfwd"] / t["ours reverse"]),
                        (1.4, inf), (1.4, inf)))

    # The optimal order on the uniform seed cell is reverse mode's sequence of operations; it
    # must cost no more than 1.1× the better pure mode (the plan lookup and the step loop).
    rs = cell_rounds(c.name, ["ours reverse", "ours optimal"], rounds=2 * ROUNDS)
    ratios.append(Ratio("ours optimal / ours reverse (big, L=5; reverse-optimal)",
                        median_ratio(rs, lambda t: t["ours optimal"] / t["ours reverse"]),
                        OPT_UNIFORM_GATE, (0.0, 1.1)))

    # 4. The small case of the seed: ours in the mode the model picks (forward: D < P)
    # against torch.func, and the optimal order (forward mode here) against both pure modes.
    c = CELLS["seed-small"]
    rs = cell_rounds(c.name, ["ours reverse", "ours forward", "ours optimal",
                              "torch.func.jacrev", "torch.func.jacfwd"], rounds=30)
    ratios.append(Ratio("ours optimal / best pure mode (small; forward-optimal)",
                        median_ratio(rs, lambda t: t["ours optimal"]
                                     / min(t["ours forward"], t["ours reverse"])),
                        OPT_SMALL_GATE, (0.0, 1.1)))
    for lib in ("jacrev", "jacfwd"):
        ratios.append(Ratio(f"{lib} / ours forward (small)",
                            median_ratio(rs, lambda t, lib=lib: t[f"torch.func.{lib}"]
                                         / t["ours forward"]),
                            (2.0, inf), (3.0, inf)))

    # 5. Forward/reverse measured against the model, and the crossover, across cells.
    for name, rounds in (("seed-small", 30), ("tall", 7), ("sweep-D16", 25), ("sweep-D128", 25),
                         ("sweep-D1024", 7), ("seed-big-L3", 5)):
        c = CELLS[name]
        rs = by_round.get(name)
        if rs is None or not {"ours reverse", "ours forward"} <= rs[0].keys():
            rs = cell_rounds(name, ["ours reverse", "ours forward"], rounds)
        measured = median_ratio(rs, lambda t: t["ours forward"] / t["ours reverse"])
        mac_model = model_ratio(c)
        # The model counts multiply-adds; reverse mode with P = 1 is matrix-vector work,
        # which runs far below the matmul rate, so for P = 1 the measured ratio sits below the
        # prediction by up to the gemm/gemv rate gap (stated factor 1/30 … 3; 1/4 … 4 where
        # both modes are matrix-matrix products).
        band = (1 / 30, 3.0) if c.P == 1 else (1 / 4, 4.0)
        ratios.append(Ratio(f"(fwd/rev measured) / model, {name} (model {mac_model:.3g})",
                            measured / mac_model, band, band))
        if name != "sweep-D128":  # D = P: a tie in the model, either may win
            wins = "forward" if measured < 1 else "reverse"
            model_wins = "forward" if c.D < c.P else "reverse"
            ratios.append(Ratio(f"crossover {name}: {wins} wins, model says {model_wins}",
                                1.0 if wins == model_wins else 0.0, (1.0, 1.0), (1.0, 1.0)))
    # 6. Mixed widths: the optimal order against the better pure mode (issue 17).
    for name, target, rounds in (("waist", 5.0, 3), ("funnel", 1.2, 5)):
        rs = cell_rounds(name, ["ours reverse", "ours forward", "ours optimal"], rounds)
        plan = CELLS[name]
        ratios.append(Ratio(f"best pure mode / ours optimal, {name} ({plan.describe()})",
                            median_ratio(rs, lambda t: min(t["ours reverse"], t["ours forward"])
                                         / t["ours optimal"]),
                            (target, inf), (target, inf)))
        rs = cell_rounds(name, ["ours optimal", "torch.func.jacrev", "torch.func.jacfwd"], 2)
        info.append((f"jacrev / ours optimal, {name}",
                     median_ratio(rs, lambda t: t["torch.func.jacrev"] / t["ours optimal"])))

    # 7. The time model: predicted ÷ measured (each kernel's minimum over the run).
    for name, ks in predicted.items():
        for k, pred in ks.items():
            value = pred / times[name][k]
            if k.startswith("torch.func"):
                info.append((f"model: predicted/measured {name}: {k}", value))
            else:
                ratios.append(Ratio(f"model: predicted/measured {name}: {k}", value,
                                    MODEL_BAND, MODEL_TARGET))
    info.append(("calibration seconds", machine.seconds))
    return ratios, times, info


def main() -> int:
    t0 = time.perf_counter()
    ratios, times, info = run()
    print("Jacobian benchmark gate (ratios: median over rounds of the ratio within a round; "
          "times: each kernel's minimum; only ratios are gated)")
    for cell, t in times.items():
        print(f"  {cell:>13}: " + ", ".join(f"{k} {v * 1e3:.3f} ms" for k, v in t.items()))
    for name, value in info:
        print(f"  info {name:<66} {value:9.3f}   (not gated)")
    failed = 0
    for r in ratios:
        lo, hi = r.gate
        status = "ok  " if r.ok else "FAIL"
        failed += not r.ok
        tlo, thi = r.target
        print(f"  {status} {r.name:<66} {r.value:9.3f}   gate [{lo:.3g}, {hi:.3g}]  "
              f"target [{tlo:.3g}, {thi:.3g}] {'met' if r.met else 'MISSED'}")
    print(f"gate: {len(ratios) - failed}/{len(ratios)} ratios inside their bounds "
          f"({time.perf_counter() - t0:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
