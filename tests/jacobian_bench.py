"""The Jacobian benchmark's grid, kernels and time model, shared by the pytest-benchmark file,
the gate (``python -m tests.jacobian_gate``) and the report (``python -m tests.jacobian_report``).

Settings, stated once:

- float32 (the seed's ``torch.randn`` default) and ``THREADS`` = ``$JACOBIAN_BENCH_THREADS``
  (default 1) threads for torch (``torch.set_num_threads``) and for numpy's OpenBLAS, which
  our kernels call on CPU tensors (``threadpoolctl``), so that every kernel gets the same
  cores. On this 2-core machine shared with other jobs, two OpenMP threads made a
  1000-element ``torch.tanh`` take ~4 ms instead of ~5 µs (the second thread is descheduled
  at the barrier), which swamps every matrix-vector cell; one thread measures the kernels,
  not the scheduler. Set 2 on a quiet machine.
- The hardware reference is a K×K by K×D matmul in both libraries (``torch.mm``: MKL;
  numpy: OpenBLAS).
- Weights as in the seed's ``generate_dict`` (``torch.randn``) but scaled by 1/√fan_in. With
  the unscaled seed weights the tanh units saturate, the s_i underflow, and the forward-mode
  block fills with float32 denormals, which x86 multiplies at a fraction of the matmul rate;
  the scaling keeps every cell a measurement of the kernels rather than of denormal
  arithmetic.
- ``$JACOBIAN_SLOWDOWN`` = ``reverse``, ``forward``, ``optimal`` or ``both`` runs our
  kernel(s) twice per call (a kernel made twice as slow), to demonstrate that the gate
  catches it.

**The time model** (:func:`calibrate`, :func:`trace`, :func:`predict`), roofline style. A
kernel's operations are recorded from an instrumented run (a ``TorchDispatchMode`` sees every
aten op of the torch-op path, which runs the same kernel code as the numpy path; for
``torch.func`` the ops after its transforms). Each op costs

    t = macs / R_gemm  (matrix-matrix products only)
      + bytes read from the arguments × τ_read(W)  (τ_hot … τ_cold, see below)
      + bytes read from tensors made earlier in the call × τ_hot
      + bytes written × τ_write
      + c  (per-call overhead of the library)

A matrix-vector product (one side of width 1) is memory-bound: its multiply-adds are free,
its bytes are the cost. τ_read depends on the call's working set W (the bytes of its
arguments): a weight set that fits the last-level cache is read at the hot rate, one that
does not at the cold rate; between 3/8 and 7/8 of the L3 size the two are mixed linearly
(measured on this machine: cycling matrix-vector products over 4–12 MB of matrices ran at
one rate, over 24–48 MB at a 2.6× slower one, 16–20 MB in between). A kernel call also pays a
fixed entry cost: validation and views for ours (measured on the same keys with an empty
kernel), the transforms' setup for ``torch.func`` (whose per-op overhead replaces c: measured
on a chain of tanh of another size, not on the network).

All constants come from a short calibration in the same run (about 1 s), separately for
numpy (our kernels on CPU tensors) and torch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from threadpoolctl import threadpool_info, threadpool_limits
from torch.utils._python_dispatch import TorchDispatchMode

from impl.jacobian import (
    _reverse,
    _run,
    dense_diag_forward,
    dense_diag_reverse,
    jacobian_forward,
    jacobian_optimal,
    jacobian_reverse,
    network,
)

THREADS = int(os.environ.get("JACOBIAN_BENCH_THREADS", "1"))
DTYPE = torch.float32


@dataclass(frozen=True)
class Cell:
    """A benchmark cell: widths (D, K1, …, KL, P)."""

    name: str
    widths: tuple[int, ...]
    full: bool = True  # all kernels (baselines, torch.func) or only ours + the references

    @property
    def D(self) -> int:
        return self.widths[0]

    @property
    def P(self) -> int:
        return self.widths[-1]

    @property
    def L(self) -> int:
        return len(self.widths) - 2

    @property
    def K(self) -> int:
        """The widest hidden layer (the uniform K of the seed's cells)."""
        return max(self.widths[1:-1])

    @property
    def uniform(self) -> bool:
        return len(set(self.widths[1:-1])) == 1

    @property
    def sizes(self) -> tuple[int, int, int, int]:
        """(D, K, P, L) for the uniform cost formulas of derivations/jacobian.py."""
        return self.D, self.K, self.P, self.L

    def describe(self) -> str:
        if self.uniform:
            return f"D={self.D}, K={self.K}, P={self.P}, L={self.L}"
        return "widths " + "-".join(map(str, self.widths))


def uniform(name: str, L: int, D: int, K: int, P: int, full: bool = True) -> Cell:
    return Cell(name, (D, *([K] * L), P), full)


# The seed's settings (notebook 2.(c) and 2.(a)), a tall case (D ≪ P, forward should win), a
# sweep over D at fixed K, P, L that crosses D = P (the model's crossover), and two
# mixed-width chains where neither pure mode is best: a waist (1000-1000-10-1000-1000: the
# optimum multiplies both halves down to the width-10 waist, 34× fewer multiply-adds) and a
# funnel (1000 → 1000 → 300 → 100 → a 1000-wide head: 1.87× fewer than forward mode).
GRID = [
    uniform("seed-big-L3", 3, 1000, 1000, 1),
    uniform("seed-big-L5", 5, 1000, 1000, 1),
    uniform("seed-big-L10", 10, 1000, 1000, 1),
    uniform("seed-small", 10, 2, 30, 10),
    uniform("tall", 5, 16, 500, 1000),
    uniform("sweep-D16", 4, 16, 512, 128, full=False),
    uniform("sweep-D128", 4, 128, 512, 128, full=False),
    uniform("sweep-D1024", 4, 1024, 512, 128, full=False),
    Cell("waist", (1000, 1000, 10, 1000, 1000)),
    Cell("funnel", (1000, 1000, 300, 100, 1000)),
]
CELLS = {c.name: c for c in GRID}

MATMULS = ["matmul KxK@KxD (torch)", "matmul KxK@KxD (numpy)"]
OURS = ["ours reverse", "ours forward", "ours optimal"]
KERNELS_FULL = [*OURS, "ours reverse (torch ops)", "dense-diag reverse", "dense-diag forward",
                "torch.func.jacrev", "torch.func.jacfwd", "evaluate f", *MATMULS]
KERNELS_SWEEP = [*OURS, "evaluate f", *MATMULS]

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
    """The seed's generate_dict with per-layer widths, weights scaled by 1/√fan_in (above)."""
    g = torch.Generator().manual_seed(seed)
    w = cell.widths
    p = {f"W{i}": torch.randn(w[i], w[i - 1], generator=g, dtype=DTYPE) / w[i - 1] ** 0.5
         for i in range(1, cell.L + 1)}
    p["WF"] = torch.randn(cell.P, w[-2], generator=g, dtype=DTYPE) / w[-2] ** 0.5
    x = torch.randn(cell.D, generator=g, dtype=DTYPE)
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


@dataclass(frozen=True)
class Kernel:
    """A zero-argument callable, how it runs (for the time model), and its traced form."""

    run: Callable[[], object]
    runtime: str                       # "numpy", "torch" or "torch.func"
    traced: Callable[[], object]       # the same computation on the torch-op path
    entry: str = ""                    # "ours": pays validation; "jacrev"/"jacfwd": setup


def kernels(cell: Cell) -> dict[str, Kernel]:
    """Every kernel of a cell (same inputs for all)."""
    x, p = make_params(cell)
    L = cell.L
    slow = os.environ.get("JACOBIAN_SLOWDOWN", "")

    def maybe_twice(fn, mode):
        return (lambda *a: _twice(fn, *a)) if slow in (mode, "both") else fn

    rev = maybe_twice(jacobian_reverse, "reverse")
    fwd = maybe_twice(jacobian_forward, "forward")
    opt = maybe_twice(jacobian_optimal, "optimal")
    A = torch.randn(cell.K, cell.K, dtype=DTYPE)
    B = torch.randn(cell.K, cell.D, dtype=DTYPE)
    An, Bn = A.numpy(), B.numpy()
    Ws = [p[f"W{i}"] for i in range(1, L + 1)]

    def f(y):
        return f_torch(y, p, L)

    def ours(fn):
        # Under the recording mode the public function takes the torch-op path (impl.jacobian)
        return Kernel(lambda: fn(x, p), "numpy", lambda: fn(x, p), "ours")

    table = {
        "ours reverse": ours(rev),
        "ours forward": ours(fwd),
        "ours optimal": ours(opt),
        # The same reverse kernel in torch ops (the path of non-CPU tensors), to show how much
        # of the gap to torch.func is the BLAS (impl/jacobian.py, above ``_run``).
        "ours reverse (torch ops)": Kernel(lambda: _reverse(x, Ws, p["WF"]), "torch",
                                           lambda: _reverse(x, Ws, p["WF"])),
        "dense-diag reverse": ours(dense_diag_reverse),
        "dense-diag forward": ours(dense_diag_forward),
        "torch.func.jacrev": Kernel(lambda: torch.func.jacrev(f)(x), "torch.func",
                                    lambda: torch.func.jacrev(f)(x), "jacrev"),
        "torch.func.jacfwd": Kernel(lambda: torch.func.jacfwd(f)(x), "torch.func",
                                    lambda: torch.func.jacfwd(f)(x), "jacfwd"),
        "evaluate f": ours(network),
        "matmul KxK@KxD (torch)": Kernel(lambda: torch.mm(A, B), "torch", lambda: torch.mm(A, B)),
        "matmul KxK@KxD (numpy)": Kernel(lambda: An @ Bn, "numpy", lambda: torch.mm(A, B)),
    }
    names = KERNELS_FULL if cell.full else KERNELS_SWEEP
    return {n: table[n] for n in names}


# ---------------------------------------------------------------------------------------
# The instrumented run: every aten op with its multiply-adds and bytes
# ---------------------------------------------------------------------------------------

_MATMUL = {"mm", "mv", "addmm", "addmv", "bmm", "dot", "matmul"}
_VIEWS = {"view", "_unsafe_view", "t", "permute", "unsqueeze", "squeeze", "alias", "expand",
          "diagonal", "split_with_sizes", "split", "transpose", "detach", "as_strided", "slice",
          "select", "_reshape_alias", "unbind", "lift_fresh", "_efficientzerotensor"}


@dataclass
class Op:
    name: str
    macs: int = 0
    gemv: bool = False        # a matrix-vector product (memory-bound)
    read_args: int = 0        # bytes read from the call's arguments (weights, x)
    read_fresh: int = 0       # bytes read from tensors made earlier in the call
    written: int = 0          # bytes written


@dataclass
class Trace:
    ops: list[Op] = field(default_factory=list)
    working_set: int = 0      # bytes of the call's arguments that the ops read

    @property
    def macs(self) -> int:
        return sum(o.macs for o in self.ops)

    def count(self, name: str) -> int:
        return sum(o.name == name for o in self.ops)


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def _storage(t: torch.Tensor) -> int:
    """An identity for the memory behind t (its storage; the tensor itself where it has
    none, e.g. meta tensors or torch.func's zero tensors)."""
    try:
        return t.untyped_storage().data_ptr() or id(t)
    except (RuntimeError, NotImplementedError):
        return id(t)


class _Recorder(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.trace = Trace()
        self.made: set[int] = set()
        self.args: dict[int, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        ins = [a for a in args if isinstance(a, torch.Tensor)]
        outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,))
                if isinstance(o, torch.Tensor)]
        op = Op(name)
        if name not in _VIEWS:
            for t in ins:
                key = _storage(t)
                if key in self.made:
                    op.read_fresh += _nbytes(t)
                else:
                    op.read_args += _nbytes(t)
                    self.args[key] = max(self.args.get(key, 0), _nbytes(t))
            op.written = sum(_nbytes(o) for o in outs)
            if name in _MATMUL:
                a, b = ins[-2], ins[-1]
                rows = a.shape[-2] if a.ndim >= 2 else 1
                cols = b.shape[-1] if b.ndim >= 2 else 1
                batch = a.shape[0] if a.ndim == 3 else 1
                op.macs = batch * rows * a.shape[-1] * cols
                op.gemv = min(rows, cols) == 1
        self.made.update(_storage(o) for o in outs)
        self.trace.ops.append(op)
        return out


def trace(fn: Callable[[], object]) -> Trace:
    """The ops of one call of ``fn``, recorded by a dispatch mode."""
    rec = _Recorder()
    with rec:
        fn()
    rec.trace.working_set = sum(rec.args.values())
    return rec.trace


# ---------------------------------------------------------------------------------------
# Calibration and prediction
# ---------------------------------------------------------------------------------------


@dataclass
class Constants:
    """Machine constants of one library (seconds, bytes, multiply-adds)."""

    overhead: float          # c: per op
    tau_hot: float           # s per byte read, working set in cache
    tau_cold: float          # s per byte read, working set beyond the cache
    tau_write: float         # s per byte written (allocation included)
    rate_gemm: float         # multiply-adds per second of matrix-matrix products


@dataclass
class Machine:
    libs: dict[str, Constants]
    l3: int                                  # bytes
    entry_ours: tuple[float, float]          # validation: a + b · (number of keys)
    func: dict[str, tuple[float, float]]     # torch.func: (entry, per op) for jacrev/jacfwd
    seconds: float = 0.0                     # time the calibration took

    def tau_read(self, lib: str, working_set: int) -> float:
        c = self.libs[lib]
        lo, hi = 0.375 * self.l3, 0.875 * self.l3
        f = min(1.0, max(0.0, (working_set - lo) / (hi - lo)))
        return (1 - f) * c.tau_hot + f * c.tau_cold


def _best(fn: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _l3_bytes() -> int:
    try:
        from pathlib import Path
        for d in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            if (d / "level").read_text().strip() == "3":
                size = (d / "size").read_text().strip()
                mult = {"K": 1 << 10, "M": 1 << 20}.get(size[-1], 1)
                return int(size.rstrip("KM")) * mult
    except OSError:
        pass
    return 32 << 20


def _calibrate_lib(lib: str) -> Constants:
    """Five measurements, each the minimum over repeated calls (a shared machine's noise only
    ever adds time): a 2×2 product (c), a 1000×1000 matrix-vector product (τ_hot), the same
    over 12 such matrices in turn, 48 MB (τ_cold), a fresh 1000×1000 row scaling (τ_write),
    and a 1000×1000 by 1000×128 product (R_gemm)."""
    def mk(*shape):
        t = torch.full(shape, 0.5, dtype=DTYPE)
        return t.numpy() if lib == "numpy" else t

    n = 1000
    a2, v, M, s = mk(2, 2), mk(n), mk(n, n), mk(n)
    c = _best(lambda: a2 @ a2, 300)
    nb = n * n * 4
    tau_hot = (_best(lambda: M @ v, 50) - c) / nb
    Ms = [mk(n, n) for _ in range(12)]

    def cycle():
        for m in Ms:
            m @ v
    tau_cold = (_best(cycle, 8) / len(Ms) - c) / nb
    col = s[:, None]
    tau_write = (_best(lambda: M * col, 30) - c - nb * tau_hot) / nb
    B = mk(n, 128)
    t_mm = _best(lambda: M @ B, 8)
    rate = n * n * 128 / (t_mm - c - (n * n + 2 * n * 128) * 4 * tau_hot)
    return Constants(c, tau_hot, max(tau_cold, tau_hot), max(tau_write, 0.0), rate)


def _tanh_chain(y, n):
    for _ in range(n):
        y = torch.tanh(y)
    return y


def calibrate() -> Machine:
    """Measure the constants (about a second); threads must be set first."""
    t0 = time.perf_counter()
    libs = {"numpy": _calibrate_lib("numpy"), "torch": _calibrate_lib("torch")}
    # Our entry cost: validation and numpy views, on 2-wide chains with 2 and 11 keys.
    entry = []
    for layers in (1, 10):
        x, p = make_params(Cell("cal", (2,) * (layers + 2)))
        entry.append((layers + 1, _best(lambda x=x, p=p: _run(lambda x, Ws, WF: x, x, p), 200)))
    (k1, t1), (k2, t2) = entry
    b = (t2 - t1) / (k2 - k1)
    entry_ours = (max(t1 - b * k1, 0.0), b)  # a fixed cost is never negative (noise)
    # torch.func: its transforms' setup and per-op cost, on a chain of tanh of another size.
    func = {}
    y = torch.randn(3, generator=torch.Generator().manual_seed(2), dtype=DTYPE)
    for name, transform in (("jacrev", torch.func.jacrev), ("jacfwd", torch.func.jacfwd)):
        pts = []
        for n in (2, 12):
            fn = transform(lambda z, n=n: _tanh_chain(z, n))
            pts.append((len(trace(lambda fn=fn: fn(y)).ops), _best(lambda fn=fn: fn(y), 100)))
        (n1, t1), (n2, t2) = pts
        per = (t2 - t1) / (n2 - n1)
        func[name] = (max(t1 - per * n1, 0.0), per)  # never a negative setup cost
    return Machine(libs, _l3_bytes(), entry_ours, func, time.perf_counter() - t0)


def predict(tr: Trace, machine: Machine, runtime: str, entry: str = "",
            keys: int = 0) -> float:
    """Predicted seconds of one call whose ops are ``tr``, on ``runtime``."""
    lib = "numpy" if runtime == "numpy" else "torch"
    c = machine.libs[lib]
    per_op = c.overhead
    total = 0.0
    if runtime == "torch.func":
        total, per_op = machine.func[entry]
    elif entry == "ours":
        a, b = machine.entry_ours
        total = a + b * keys
    tau = machine.tau_read(lib, tr.working_set)
    for o in tr.ops:
        total += per_op
        if o.name in _VIEWS:
            continue
        total += o.read_args * tau + o.read_fresh * c.tau_hot + o.written * c.tau_write
        if o.macs and not o.gemv:
            total += o.macs / c.rate_gemm
    return total


def predict_kernel(cell: Cell, name: str, k: Kernel, machine: Machine) -> float:
    return predict(trace(k.traced), machine, k.runtime, k.entry, keys=cell.L + 1)


def model_table(cell: Cell, machine: Machine, ks: dict[str, Kernel] | None = None
                ) -> dict[str, float]:
    ks = ks if ks is not None else kernels(cell)
    return {n: predict_kernel(cell, n, k, machine) for n, k in ks.items()}


__all__ = ["CELLS", "GRID", "KERNELS_FULL", "KERNELS_SWEEP", "MATMULS", "OURS", "Cell",
           "Kernel", "Machine", "Trace", "calibrate", "f_torch", "kernels", "make_params",
           "model_table", "predict", "predict_kernel", "setup_threads", "trace"]
