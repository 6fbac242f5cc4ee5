"""pytest-benchmark grid for the Jacobian kernels (seed ``002_f6a45d0186751a72.txt``,
notebook 2.(c)): ``pytest tests/test_jacobian_benchmark.py --benchmark-only`` prints one
table per cell; plain ``pytest`` runs each benchmark once as a check that it runs.

Every benchmark stores the cell's sizes and the cost model's multiply-adds in
``extra_info``, so ``python -m tests.jacobian_report <json>`` can draw time against the model.
Absolute times are reported here, never asserted (the ratio gate is
``python -m tests.jacobian_gate``). Settings (float32, threads, weight scale) are in
``tests/jacobian_bench.py``.
"""

from __future__ import annotations

import pytest

from derivations import jacobian as dj
from tests.jacobian_bench import GRID, KERNELS_FULL, KERNELS_SWEEP, kernels, setup_threads

MODEL = {
    "ours reverse": dj.REVERSE, "ours forward": dj.FORWARD,
    "seed my_backward_2a": dj.SEED_REVERSE, "seed my_forward_2b": dj.SEED_FORWARD,
    "torch.func.jacrev": dj.REVERSE, "torch.func.jacfwd": dj.FORWARD,
    "ours reverse (torch ops)": dj.REVERSE, "evaluate f": dj.EVALUATION,
    "matmul KxK@KxD (torch)": dj.K * dj.K * dj.D, "matmul KxK@KxD (numpy)": dj.K * dj.K * dj.D,
}

CASES = [(c, k) for c in GRID for k in (KERNELS_FULL if c.full else KERNELS_SWEEP)]


@pytest.fixture(scope="module", autouse=True)
def _threads():
    setup_threads()


@pytest.mark.parametrize(("cell", "kernel"), CASES, ids=[f"{c.name}-{k}" for c, k in CASES])
def test_jacobian_benchmark(benchmark, cell, kernel):
    fn = kernels(cell)[kernel]
    benchmark.group = f"{cell.name} (D={cell.D}, K={cell.K}, P={cell.P}, L={cell.L})"
    benchmark.extra_info.update(cell=cell.name, kernel=kernel, D=cell.D, K=cell.K, P=cell.P,
                                L=cell.L, model_macs=dj.cost(MODEL[kernel], *cell.sizes))
    heavy = "forward" in kernel or "jacfwd" in kernel or "2b" in kernel or "matmul" in kernel
    result = benchmark.pedantic(fn, rounds=3 if heavy else 30, iterations=1, warmup_rounds=1)
    assert result is not None
