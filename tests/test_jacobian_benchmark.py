"""pytest-benchmark grid for the Jacobian kernels (seed ``002_f6a45d0186751a72.txt``,
notebook 2.(c); issue 17's mixed-width cells): ``pytest tests/test_jacobian_benchmark.py
--benchmark-only`` prints one table per cell; plain ``pytest`` runs each benchmark once as a
check that it runs.

Every benchmark stores the cell's widths, the multiply-adds its kernel performed (counted from
an instrumented run, ``tests.jacobian_bench.trace``) and, when measuring, the time model's
prediction from a calibration made at the start of the same run, in ``extra_info``, so
``python -m tests.jacobian_report <json>`` can draw measured against predicted time.
Absolute times are reported here, never asserted (the ratio gate is
``python -m tests.jacobian_gate``). Settings (float32, threads, weight scale) are in
``tests/jacobian_bench.py``.
"""

from __future__ import annotations

import pytest

from tests.jacobian_bench import (
    GRID,
    KERNELS_FULL,
    KERNELS_SWEEP,
    calibrate,
    kernels,
    predict,
    setup_threads,
    trace,
)

CASES = [(c, k) for c in GRID for k in (KERNELS_FULL if c.full else KERNELS_SWEEP)]


@pytest.fixture(scope="module")
def machine(request):
    """The time model's constants, calibrated once per run (None when not measuring)."""
    setup_threads()
    if getattr(request.config.option, "benchmark_disable", True):
        return None
    return calibrate()


@pytest.mark.slow  # run once each without --benchmark-only: a check of the timing harness
@pytest.mark.parametrize(("cell", "kernel"), CASES, ids=[f"{c.name}-{k}" for c, k in CASES])
def test_jacobian_benchmark(benchmark, machine, cell, kernel):
    k = kernels(cell)[kernel]
    tr = trace(k.traced)
    benchmark.group = f"{cell.name} ({cell.describe()})"
    benchmark.extra_info.update(cell=cell.name, kernel=kernel, widths=list(cell.widths),
                                D=cell.D, K=cell.K, P=cell.P, L=cell.L, macs=tr.macs)
    if machine is not None:
        benchmark.extra_info["predicted_s"] = predict(tr, machine, k.runtime, k.entry,
                                                      keys=cell.L + 1)
    heavy = tr.macs > 2e8
    result = benchmark.pedantic(k.run, rounds=3 if heavy else 30, iterations=1, warmup_rounds=1)
    assert result is not None
