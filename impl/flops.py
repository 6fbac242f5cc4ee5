r"""Count the parameters and operations of a ``torch.nn.Module`` on a real forward pass.

``count(model, input_shape)`` runs the model once on a single example (a batch of one is
added in front of ``input_shape``) and returns a :class:`Counts`: one row per call of a
counted layer and the totals. ``print(count(...))`` shows the table.

Units (the same as the formulas of the suite's derivations):

* Conv (1-D, 2-D) and Linear: :math:`(C_{in}/g)\prod k` multiplications per output element
  (these are the layer's multiply-adds, ``macs``), as many additions with a bias and one fewer
  without, :math:`C_{out}(C_{in}/g)\prod k + C_{out}` parameters (bias included if present).
  Padded positions count as ordinary positions.
* Activations (ReLU, Tanh, Sigmoid, …): one activation per output element.
* Max pooling: nothing (its comparisons are not counted). Average pooling: one multiplication
  and :math:`\prod k - 1` additions per output element (adaptive pooling: its actual windows).
* BatchNorm: one multiplication and one addition per element (the inference-time affine map),
  :math:`2C` parameters when affine.
* Flatten, Unflatten, Identity, Dropout (a no-op at inference), and concatenation or reshaping
  inside a container's ``forward``: nothing.

How: forward hooks on every submodule see each call's input and output shapes; a counted
layer's row is computed from its hyperparameters and those shapes. A ``TorchDispatchMode``
watches every aten operation: any arithmetic that runs outside a counted layer (a residual
``x + y`` or an ``F.relu`` written in a container's ``forward``, or a layer type the counter
does not know) raises :class:`TypeError` naming the module and the operation, so nothing is
silently counted as zero. A module the counter does not know that owns parameters is an
error too.

The model runs in eval mode (restored afterwards) under ``torch.no_grad()``; on the ``meta``
device it runs without computing any values, so large models are counted in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import ceil, floor, prod

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["Counts", "LayerCount", "count"]

FIELDS = ("params", "mults", "adds", "activations", "macs")


@dataclass(frozen=True)
class LayerCount:
    """One call of a counted layer. ``output_shape`` excludes the batch axis."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int = 0
    mults: int = 0
    adds: int = 0
    activations: int = 0
    macs: int = 0


@dataclass(frozen=True)
class Counts:
    """The per-layer table and its totals for one example of shape ``input_shape``."""

    input_shape: tuple[int, ...]
    rows: tuple[LayerCount, ...] = field(default_factory=tuple)

    def total(self, what: str, kinds: Sequence[str] | None = None) -> int:
        """Sum of one column, optionally over the rows whose ``kind`` is in ``kinds``."""
        if what not in FIELDS:
            raise ValueError(f"what must be one of {FIELDS}, got {what!r}")
        return sum(getattr(r, what) for r in self.rows if kinds is None or r.kind in kinds)

    params = property(lambda self: self.total("params"))
    mults = property(lambda self: self.total("mults"))
    adds = property(lambda self: self.total("adds"))
    activations = property(lambda self: self.total("activations"))
    macs = property(lambda self: self.total("macs"))

    def totals(self) -> dict[str, int]:
        return {f: self.total(f) for f in FIELDS}

    def __str__(self) -> str:
        head = ("layer", "type", "output", *FIELDS)
        body = [(r.name, r.kind, "×".join(map(str, r.output_shape)) or "-",
                 *(f"{getattr(r, f):,}" for f in FIELDS)) for r in self.rows]
        foot = ("total", "", "", *(f"{self.total(f):,}" for f in FIELDS))
        widths = [max(len(row[i]) for row in (head, *body, foot)) for i in range(len(head))]

        def line(row: Sequence[str]) -> str:
            left = [c.ljust(w) for c, w in zip(row[:3], widths[:3], strict=True)]
            right = [c.rjust(w) for c, w in zip(row[3:], widths[3:], strict=True)]
            return "  ".join(left + right).rstrip()

        rule = "  ".join("-" * w for w in widths)
        shape = "×".join(map(str, self.input_shape))
        return "\n".join([f"input {shape} (one example)", line(head), rule,
                          *map(line, body), rule, line(foot)])


# --------------------------------------------------------------------------- the rules
# Each rule: (module, input, output) -> dict of counts for one call (batch of one).

Rule = Callable[[nn.Module, torch.Tensor, torch.Tensor], dict[str, int]]


def _per_example(y: torch.Tensor) -> int:
    return y.numel() // y.shape[0]


def _conv(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, int]:
    per_output = m.in_channels // m.groups * prod(m.kernel_size)
    has_bias = m.bias is not None
    outputs = _per_example(y)
    return {
        "params": m.out_channels * per_output + m.out_channels * has_bias,
        "mults": outputs * per_output,
        "adds": outputs * (per_output - 1 + has_bias),
        "macs": outputs * per_output,
    }


def _linear(m: nn.Linear, x: torch.Tensor, y: torch.Tensor) -> dict[str, int]:
    has_bias = m.bias is not None
    outputs = _per_example(y)
    return {
        "params": m.in_features * m.out_features + m.out_features * has_bias,
        "mults": outputs * m.in_features,
        "adds": outputs * (m.in_features - 1 + has_bias),
        "macs": outputs * m.in_features,
    }


def _batchnorm(m: nn.modules.batchnorm._BatchNorm, x: torch.Tensor,
               y: torch.Tensor) -> dict[str, int]:
    return {"params": 2 * m.num_features * bool(m.affine), "mults": _per_example(y),
            "adds": _per_example(y)}


def _activation(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, int]:
    return {"activations": _per_example(y)}


def _nothing(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, int]:
    return {}


def _avgpool(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, int]:
    axes = y.dim() - 2
    kernel = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * axes
    outputs = _per_example(y)
    return {"mults": outputs, "adds": outputs * (prod(kernel) - 1)}


def _adaptive_windows(length: int, outputs: int) -> list[int]:
    """torch's adaptive pooling windows: [⌊i L/O⌋, ⌈(i+1) L/O⌉) for i < O."""
    return [ceil((i + 1) * length / outputs) - floor(i * length / outputs)
            for i in range(outputs)]


def _adaptive_avgpool(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, int]:
    axes = y.dim() - 2
    channels = y.shape[1]
    window_sum = prod(sum(_adaptive_windows(x.shape[-a], y.shape[-a]))
                      for a in range(1, axes + 1))
    outputs = _per_example(y)
    # Σ over outputs of (window size − 1): the window sizes factor over the axes
    return {"mults": outputs, "adds": channels * window_sum - outputs}


RULES: dict[type, Rule] = {
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.Linear: _linear,
    nn.BatchNorm1d: _batchnorm,
    nn.BatchNorm2d: _batchnorm,
    nn.MaxPool1d: _nothing,
    nn.MaxPool2d: _nothing,
    nn.AdaptiveMaxPool1d: _nothing,
    nn.AdaptiveMaxPool2d: _nothing,
    nn.AvgPool1d: _avgpool,
    nn.AvgPool2d: _avgpool,
    nn.AdaptiveAvgPool1d: _adaptive_avgpool,
    nn.AdaptiveAvgPool2d: _adaptive_avgpool,
    nn.Flatten: _nothing,
    nn.Unflatten: _nothing,
    nn.Identity: _nothing,
    nn.Dropout: _nothing,
    nn.Dropout1d: _nothing,
    nn.Dropout2d: _nothing,
    **dict.fromkeys((nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid,
                     nn.Tanh, nn.Softplus, nn.Hardtanh, nn.Mish), _activation),
}

# aten operations that move or reinterpret data without arithmetic: allowed anywhere.
_FREE_OPS = frozenset(
    "alias as_strided cat chunk clone contiguous copy_ _to_copy detach empty empty_like "
    "expand flatten lift_fresh narrow permute reshape select slice split split_with_sizes "
    "squeeze stack t transpose unbind unsqueeze view _unsafe_view zeros_like".split()
)


class _Watch(TorchDispatchMode):
    """Records the first aten operation with arithmetic that runs outside a counted layer."""

    def __init__(self, stack: list[nn.Module]) -> None:
        super().__init__()
        self.stack = stack
        self.uncounted: tuple[nn.Module, str] | None = None

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if (self.uncounted is None and self.stack and type(self.stack[-1]) not in RULES
                and func.overloadpacket.__name__ not in _FREE_OPS):
            self.uncounted = (self.stack[-1], str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


def _validate_shape(input_shape: object) -> tuple[int, ...]:
    if isinstance(input_shape, torch.Size):
        input_shape = tuple(input_shape)
    if not isinstance(input_shape, tuple | list) or not input_shape:
        raise TypeError(f"input_shape must be a non-empty tuple of ints (one example, no "
                        f"batch axis), got {input_shape!r}")
    for i, v in enumerate(input_shape):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"input_shape[{i}] must be an int, got {type(v).__name__} "
                            f"in {input_shape!r}")
        if v < 1:
            raise ValueError(f"input_shape[{i}] must be a positive size, got {v} in "
                             f"{tuple(input_shape)!r}")
    return tuple(input_shape)


def count(model: nn.Module, input_shape: Sequence[int]) -> Counts:
    """Run ``model`` on one example of shape ``input_shape`` and count every layer it calls.

    Raises ``TypeError`` for a module type the counter does not know that has parameters or
    arithmetic (naming it), ``ValueError`` for a non-positive size or an input shape the model
    rejects (naming the layer that rejected it).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    shape = _validate_shape(input_shape)
    names = {m: name or type(model).__name__ for name, m in model.named_modules()}
    first = next(model.parameters(), None)
    like = first if first is not None and first.is_floating_point() else None
    x = torch.zeros((1, *shape), dtype=like.dtype if like is not None else None,
                    device=like.device if like is not None else None)

    stack: list[nn.Module] = []
    rows: list[LayerCount] = []
    calls: dict[nn.Module, int] = {}
    unknown_with_params: list[nn.Module] = []

    def pre_hook(m: nn.Module, args: tuple) -> None:
        stack.append(m)
        if type(m) not in RULES and any(True for _ in m.parameters(recurse=False)):
            unknown_with_params.append(m)

    def post_hook(m: nn.Module, args: tuple, out: object) -> None:
        stack.pop()
        rule = RULES.get(type(m))
        if rule is None:
            return
        calls[m] = calls.get(m, 0) + 1
        counts = rule(m, args[0], out)
        if calls[m] > 1:  # a shared layer: its parameters are counted at its first call
            counts = {**counts, "params": 0}
        name = names[m] + (f" (call {calls[m]})" if calls[m] > 1 else "")
        rows.append(LayerCount(name, type(m).__name__, tuple(out.shape[1:]), **counts))

    handles = []
    modes = {m: m.training for m in model.modules()}
    watch = _Watch(stack)
    try:
        for m in model.modules():
            handles.append(m.register_forward_pre_hook(pre_hook))
            handles.append(m.register_forward_hook(post_hook))
        model.eval()
        with torch.no_grad(), watch:
            try:
                model(x)
            except (RuntimeError, ValueError, IndexError) as e:
                where = stack[-1] if stack else model
                raise ValueError(
                    f"count: the model rejects an input of shape {shape} (one example, run "
                    f"as a batch of 1): at layer {names[where]!r} ({type(where).__name__}): "
                    f"{e}") from e
    finally:
        for h in handles:
            h.remove()
        for m, training in modes.items():
            m.train(training)

    if unknown_with_params:
        m = unknown_with_params[0]
        n_params = sum(p.numel() for p in m.parameters(recurse=False))
        raise TypeError(
            f"count: module {names[m]!r} of type {type(m).__name__} has {n_params:,} parameters "
            f"but the counter has no rule for {type(m).__name__}; it will not be counted as "
            f"zero. Known types: {', '.join(sorted(t.__name__ for t in RULES))}")
    if watch.uncounted is not None:
        m, op = watch.uncounted
        raise TypeError(
            f"count: {type(m).__name__}.forward (module {names[m]!r}) computes {op} outside "
            f"any layer the counter knows, so its cost cannot be counted (it will not be "
            f"counted as zero). Put the computation in a module of a known type (for example "
            f"nn.ReLU instead of F.relu); concatenation and reshaping are free.")

    for m, name in names.items():  # parameters of layers the forward pass never called
        if m not in calls:
            n_params = sum(p.numel() for p in m.parameters(recurse=False))
            if n_params:
                rows.append(LayerCount(f"{name} (not called)", type(m).__name__, (),
                                       params=n_params))
    return Counts(shape, tuple(rows))
