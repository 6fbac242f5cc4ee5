"""The Jacobian benchmark's grid and kernels, shared by the pytest-benchmark file, the gate
(``python -m tests.jacobian_gate``) and the report (``python -m tests.jacobian_report``).

Settings, stated once:

- float32 (the seed's ``torch.randn`` default) and ``THREADS`` = ``$JACOBIAN_BENCH_THREADS``
  (default 1) threads for torch (``torch.set_num_threads``) and for numpy's OpenBLAS, which
  our kernels call on CPU tensors (``threadpoolctl``), so that every kernel gets the same
  cores. On this 2-core machine shared with other jobs, two OpenMP threads made a
  1000-element ``torch.tanh`` take ~4 ms instead of ~5 µs (the second thread is descheduled
  at the barrier), which swamps every matrix-vector cell; one thread measures the kernels,
  not the scheduler. Set 2 on a quiet machine.
- The hardware reference is a K×K by K×D matmul in both libraries (``torch.mm``: MKL;
  numpy: OpenBLAS); rates are taken against the faster of the two.
- Weights as in the seed's ``generate_dict`` (``torch.randn``) but scaled by 1/√fan_in. With
  the unscaled seed weights the tanh units saturate, the s_i underflow, and the forward-mode
  block fills with float32 denormals, which x86 multiplies at a fraction of the matmul rate
  (measured: forward mode at ~60% of the reference matmul rate instead of ~90%); the scaling
  keeps every cell a measurement of the kernels rather than of denormal arithmetic.
- ``$JACOBIAN_SLOWDOWN`` = ``reverse``, ``forward`` or ``both`` runs our kernel(s) twice per
  call (a kernel made twice as slow), to demonstrate that the gate catches it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
from threadpoolctl import threadpool_info, threadpool_limits

from impl.jacobian import (
    _reverse,
    jacobian_forward,
    jacobian_reverse,
    network,
    seed_my_backward_2a,
    seed_my_forward_2b,
)

THREADS = int(os.environ.get("JACOBIAN_BENCH_THREADS", "1"))
DTYPE = torch.float32


@dataclass(frozen=True)
class Cell:
    name: str
    L: int
    D: int
    K: int
    P: int
    full: bool = True  # all kernels (seed's, torch.func) or only ours + the references

    @property
    def sizes(self) -> tuple[int, int, int, int]:
        return self.D, self.K, self.P, self.L


# The seed's settings (notebook 2.(c) and 2.(a)), a tall case (D ≪ P, forward should win) and
# a sweep over D at fixed K, P, L that crosses D = P (the model's crossover).
GRID = [
    Cell("seed-big-L3", 3, 1000, 1000, 1),
    Cell("seed-big-L5", 5, 1000, 1000, 1),
    Cell("seed-big-L10", 10, 1000, 1000, 1),
    Cell("seed-small", 10, 2, 30, 10),
    Cell("tall", 5, 16, 500, 1000),
    Cell("sweep-D16", 4, 16, 512, 128, full=False),
    Cell("sweep-D128", 4, 128, 512, 128, full=False),
    Cell("sweep-D1024", 4, 1024, 512, 128, full=False),
]
CELLS = {c.name: c for c in GRID}

MATMULS = ["matmul KxK@KxD (torch)", "matmul KxK@KxD (numpy)"]
KERNELS_FULL = ["ours reverse", "ours forward", "ours reverse (torch ops)", "seed my_backward_2a",
                "seed my_forward_2b", "torch.func.jacrev", "torch.func.jacfwd", "evaluate f",
                *MATMULS]
KERNELS_SWEEP = ["ours reverse", "ours forward", "evaluate f", *MATMULS]

_LIMITS: list[threadpool_limits] = []


def setup_threads() -> None:
    """THREADS threads for torch and for OpenBLAS (kept until the process ends)."""
    torch.set_num_threads(THREADS)
    if not _LIMITS:
        _LIMITS.append(threadpool_limits(THREADS, user_api="blas"))
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    if not blas or any(i["num_threads"] != THREADS for i in blas):
        raise RuntimeError(f"could not limit numpy's BLAS to {THREADS} thread(s): "
                           f"threadpoolctl sees {blas}")


def make_params(cell: Cell, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The seed's generate_dict(L, D, K, P) with weights scaled by 1/√fan_in (see above)."""
    g = torch.Generator().manual_seed(seed)
    D, K, P, L = cell.D, cell.K, cell.P, cell.L
    p = {"W1": torch.randn(K, D, generator=g, dtype=DTYPE) / D**0.5}
    for i in range(2, L + 1):
        p[f"W{i}"] = torch.randn(K, K, generator=g, dtype=DTYPE) / K**0.5
    p["WF"] = torch.randn(P, K, generator=g, dtype=DTYPE) / K**0.5
    x = torch.randn(D, generator=g, dtype=DTYPE)
    return x, p


def f_torch(x: torch.Tensor, params: dict[str, torch.Tensor], layers: int) -> torch.Tensor:
    """The network in plain torch ops, for torch.func and autograd (written here, not taken
    from impl): the benchmark's jacrev/jacfwd and the tests' truth."""
    h = torch.tanh(params["W1"] @ x)
    for i in range(2, layers + 1):
        h = torch.tanh(params[f"W{i}"] @ h)
    return params["WF"] @ h


def _twice(fn: Callable, *args):
    fn(*args)
    return fn(*args)


def kernels(cell: Cell) -> dict[str, Callable[[], object]]:
    """Zero-argument callables for every kernel of a cell (same inputs for all)."""
    x, p = make_params(cell)
    L = cell.L
    slow = os.environ.get("JACOBIAN_SLOWDOWN", "")
    rev = (lambda *a: _twice(jacobian_reverse, *a)) if slow in ("reverse", "both") \
        else jacobian_reverse
    fwd = (lambda *a: _twice(jacobian_forward, *a)) if slow in ("forward", "both") \
        else jacobian_forward
    A = torch.randn(cell.K, cell.K, dtype=DTYPE)
    B = torch.randn(cell.K, cell.D, dtype=DTYPE)
    An, Bn = A.numpy(), B.numpy()
    Ws = [p[f"W{i}"] for i in range(1, L + 1)]

    def f(y):
        return f_torch(y, p, L)

    table = {
        "ours reverse": lambda: rev(x, p),
        "ours forward": lambda: fwd(x, p),
        # The same reverse kernel in torch ops (the path of non-CPU tensors), to show how much
        # of the gap to torch.func is the BLAS (impl/jacobian.py, above ``_run``).
        "ours reverse (torch ops)": lambda: _reverse(x, Ws, p["WF"]),
        "seed my_backward_2a": lambda: seed_my_backward_2a(x, L, p),
        "seed my_forward_2b": lambda: seed_my_forward_2b(x, L, p),
        "torch.func.jacrev": lambda: torch.func.jacrev(f)(x),
        "torch.func.jacfwd": lambda: torch.func.jacfwd(f)(x),
        "evaluate f": lambda: network(x, p),
        "matmul KxK@KxD (torch)": lambda: torch.mm(A, B),
        "matmul KxK@KxD (numpy)": lambda: An @ Bn,
    }
    names = KERNELS_FULL if cell.full else KERNELS_SWEEP
    return {n: table[n] for n in names}
