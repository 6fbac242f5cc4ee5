"""The error-input layer (after PyTorch OpInfo's ``error_inputs``): data, not tests.

For every public name of every ``impl`` module (its ``__all__``) and every public method of a
public class that computes (``forward``/``backward``/``step``/``__call__``), one
:class:`Entry`: how to draw a valid sample of its arguments (Hypothesis draws the shapes and
the values), how to call it, and a spec of each argument (:class:`Arr` for arrays,
:class:`Num` for hyper-parameters, :class:`Bad` for hand-written corruptions). From the spec
the generic templates of ``tests/test_error_inputs.py`` derive

* the corruptions, one argument at a time, and the error each must raise (class, and a
  message that names the argument as the caller wrote it): wrong kind (a list, None), wrong
  dtype (int64, bool, float16, complex), a ``meta`` tensor (no values: refused before any
  value is read), numpy↔torch and float32↔float64 mixes, a rank more or less, an empty batch,
  NaN and inf (refused, or propagated where the docstring promises it), invalid
  hyper-parameters (NaN, inf, out of range, bool, str, None);
* the valid variants that must give the canonical answer: a non-contiguous view, a read-only
  array, a ``requires_grad`` tensor, the other array kind, float32 (at float32's tolerance of
  ``dlmath_verify.checks.TOLERANCES``), numpy scalars for hyper-parameters;
* that no call changes its arguments.

The entries live in one module per ``impl`` module (``tests/error_inputs/<module>.py``), each
exporting ``ENTRIES``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays as np_arrays

Path = tuple[Any, ...]

TYPE, VALUE = TypeError, ValueError


# ------------------------------------------------------------------------ the spec


@dataclass(frozen=True)
class Arr:
    """An array argument (numpy array or torch tensor, float32/float64)."""

    kind: str = "any"  # the kinds it accepts: "any", "numpy", "torch"
    nan: str = "reject"  # "reject" (ValueError), "propagate" (NaN out), "skip"
    empty: str = "reject"  # "reject" (ValueError), "ok", "skip"
    rank: bool = True  # a rank more or less must be refused
    optional: bool = False  # None is a valid value
    mix: bool = True  # must share kind/dtype/device with the entry's other arrays
    dtypes: bool = True  # int/bool/half/complex must be refused
    int_error: type[Exception] = TypeError  # integer labels are valid for some (shape differs)
    label: str | None = None  # the name the message must contain (default: from the path)


@dataclass(frozen=True)
class Num:
    """A hyper-parameter: a real number (or an integer) in a range."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    optional: bool = False  # None is valid
    label: str | None = None
    str_error: type[Exception] = TypeError  # some take a str ("xavier"): others are ValueError
    list_error: type[Exception] = TypeError  # an int-or-pair argument: [v] is a short pair


@dataclass(frozen=True)
class Bad:
    """A hand-written corruption: ``value(current, sample)`` replaces the argument at
    ``path``; the call must raise ``error`` with ``name`` (a regex) in its message."""

    label: str
    path: Path
    value: Callable[[Any, dict], Any]
    error: type[Exception]
    name: str


@dataclass(repr=False)
class Entry:
    """One public callable (or method) of impl: its valid sample, call and argument spec."""

    name: str  # "softmax.softmax", "modules.LinearModule.forward"
    draw: Callable[[Any], dict]  # draw(data) -> {argument: value}
    call: Callable[[dict], Any]
    args: dict[Path, Arr | Num] = field(default_factory=dict)
    bad: list[Bad] = field(default_factory=list)
    observe: Callable[[Any], Any] | None = None  # output -> something to compare
    run_valid: bool = True  # False: a training run, only its refusals are exercised
    f32: bool = True  # the float32 variant must match at float32's tolerance
    growth: float = 1.0  # float32 tolerance factor: the longest reduction of the drawn sizes
    kinds: bool = True  # swapping every "any" array to the other kind is a valid variant
    record: str = ""  # a constant or a plain record: nothing to call; says why

    def __repr__(self) -> str:
        return f"Entry({self.name})"


# ------------------------------------------------------------------------ paths


def get(sample: dict, path: Path) -> Any:
    v: Any = sample
    for p in path:
        v = v[p]
    return v


def put(sample: dict, path: Path, value: Any) -> dict:
    """A copy of sample with the value at path replaced (containers along the path copied)."""
    out = dict(sample)
    if len(path) == 1:
        out[path[0]] = value
        return out
    head = sample[path[0]]
    inner = put(dict(enumerate(head)) if isinstance(head, list | tuple) else head,
                path[1:], value)
    if isinstance(head, list | tuple):
        inner = type(head)(inner[k] for k in range(len(head)))
    out[path[0]] = inner
    return out


def label_of(path: Path) -> str:
    name = str(path[0])
    for p in path[1:]:
        name += f"[{p!r}]"
    return name


def name_regex(path: Path, spec: Arr | Num | None = None) -> str:
    if spec is not None and spec.label and spec.label.startswith("re:"):
        return spec.label[3:]
    text = spec.label if spec is not None and spec.label else label_of(path)
    return rf"(?<![\w]){re.escape(text)}(?![\w])"


# ------------------------------------------------------------------------ drawing


def draw_array(data: Any, shape: tuple[int, ...], *, lo: float = -2.0, hi: float = 2.0,
               dtype: Any = np.float64, label: str = "") -> np.ndarray:
    """Finite values in [lo, hi] (Hypothesis), float64 unless asked."""
    return data.draw(np_arrays(dtype, shape, elements=st.floats(lo, hi, width=64 if dtype ==
                                                                  np.float64 else 32)),
                     label=label or f"array{shape}")


def as_kind(x: np.ndarray, kind: str) -> Any:
    return torch.from_numpy(np.array(x)) if kind == "torch" else x


def other_kind(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy().copy()
    return torch.from_numpy(np.array(x))


def cast(x: Any, dtype: str) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(getattr(torch, dtype))
    return x.astype(dtype)


def dtype_name(x: Any) -> str:
    return str(x.dtype).replace("torch.", "")


def set_first(x: Any, value: float) -> Any:
    y = x.clone() if isinstance(x, torch.Tensor) else x.copy()
    y.reshape(-1)[0] = value
    return y


def non_contiguous(x: Any) -> Any:
    """The same values as x in a strided (non-contiguous) view."""
    if isinstance(x, torch.Tensor):
        big = torch.repeat_interleave(x.detach(), 2, dim=-1)
        return big[..., ::2]
    return np.repeat(x, 2, axis=-1)[..., ::2]


def read_only(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    y.setflags(write=False)
    return y


# ------------------------------------------------------------------------ comparing


def map_arrays(value: Any, fn: Callable[[Any], Any]) -> Any:
    """value with every array/tensor inside dicts, lists and tuples replaced by fn(array)."""
    if isinstance(value, np.ndarray | torch.Tensor):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_arrays(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(map_arrays(v, fn) for v in value)
    return value


def flatten_out(out: Any) -> list[np.ndarray]:
    """Every number an output holds, as float64 arrays in a fixed order."""
    if isinstance(out, torch.Tensor):
        return [out.detach().to(torch.float64).numpy()]
    if isinstance(out, np.ndarray | np.generic | float | int) and not isinstance(out, bool):
        return [np.asarray(out, dtype=np.float64)]
    if isinstance(out, dict):
        return [a for k in sorted(out, key=str) for a in flatten_out(out[k])]
    if isinstance(out, list | tuple):
        return [a for v in out for a in flatten_out(v)]
    if out is None or isinstance(out, bool | str):
        return []
    if hasattr(out, "__dataclass_fields__"):
        return [a for k in out.__dataclass_fields__ for a in flatten_out(getattr(out, k))]
    raise TypeError(f"cannot compare an output of type {type(out).__name__}; give observe=")


def snapshot(value: Any) -> Any:
    """A deep copy to compare against after a call (modules: state and training flag)."""
    if isinstance(value, torch.nn.Module):
        return ("module", value.training,
                {k: v.detach().clone() for k, v in value.state_dict().items()})
    if isinstance(value, torch.optim.Optimizer):
        return ("optimiser", copy.deepcopy(value.param_groups))
    try:
        return copy.deepcopy(value)
    except Exception:  # a value that cannot be copied is compared by identity
        return value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and a and a[0] == "module":
        return (isinstance(b, tuple) and a[1] == b[1] and a[2].keys() == b[2].keys()
                and all(torch.equal(a[2][k], b[2][k]) or (
                    a[2][k].is_floating_point() and torch.allclose(
                        a[2][k], b[2][k], rtol=0, atol=0, equal_nan=True))
                        for k in a[2]))
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype
                and a.device == b.device and (a.device.type == "meta" or bool(
                    torch.equal(a, b) or torch.allclose(a, b, rtol=0, atol=0,
                                                        equal_nan=True))))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b, strict=True)))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(same(getattr(a, k), getattr(b, k))
                                          for k in a.__dataclass_fields__)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:
        return a is b


# ------------------------------------------------------------------------ corruptions


@dataclass(frozen=True)
class Corruption:
    label: str
    path: Path
    make: Callable[[Any, dict], Any]  # (current value, sample) -> corrupted value
    error: type[Exception] | None  # None: NaN must propagate (no error, NaN in the output)
    name: str


def _array_corruptions(path: Path, spec: Arr, has_peers: bool) -> list[Corruption]:
    n = name_regex(path, spec)
    lab = label_of(path)
    out = [
        Corruption(f"{lab}: a list", path, lambda v, s: np.asarray(v).reshape(
            (-1,) if np.ndim(v) == 0 else np.shape(v)).tolist(), TYPE, n),
        Corruption(f"{lab}: a str", path, lambda v, s: "x", TYPE, n),
    ]
    if not spec.optional:
        out.append(Corruption(f"{lab}: None", path, lambda v, s: None, TYPE, n))
    if spec.dtypes:
        for dt in ("int64", "bool", "float16", "complex128"):
            out.append(Corruption(f"{lab}: {dt}", path,
                                  lambda v, s, dt=dt: (v.to(getattr(torch, dt))
                                                       if isinstance(v, torch.Tensor)
                                                       else v.astype(dt)),
                                  spec.int_error if dt == "int64" else TYPE, n))
    out.append(Corruption(f"{lab}: meta tensor", path,
                          lambda v, s: (v if isinstance(v, torch.Tensor)
                                        else torch.from_numpy(np.array(v))).to("meta"),
                          VALUE if spec.kind != "numpy" else TYPE, n))
    if spec.kind != "any":
        out.append(Corruption(f"{lab}: the other kind", path, lambda v, s: other_kind(v),
                              TYPE, n))
    elif has_peers and spec.mix:
        out.append(Corruption(f"{lab}: numpy/torch mixed", path, lambda v, s: other_kind(v),
                              TYPE, n))
    if has_peers and spec.mix:
        out.append(Corruption(f"{lab}: float32/float64 mixed", path,
                              lambda v, s: cast(v, "float32" if dtype_name(v) == "float64"
                                                else "float64"), TYPE, n))
    if spec.rank:
        out.append(Corruption(f"{lab}: a rank more", path, lambda v, s: v[None], VALUE, n))
        out.append(Corruption(f"{lab}: a rank less", path,
                              lambda v, s: (v[0] if v.ndim > 1 else v.reshape(-1)[:1].reshape(())
                                            if v.ndim else v.reshape(1, 1)), VALUE, n))
    if spec.empty == "reject":
        out.append(Corruption(f"{lab}: empty", path,
                              lambda v, s: v[:0] if v.ndim else v.reshape(-1)[:0], VALUE, n))
    if spec.nan != "skip":
        err = VALUE if spec.nan == "reject" else None
        # refused: one NaN entry; propagated: all NaN (one entry may be one no output reads)
        out.append(Corruption(f"{lab}: NaN", path, lambda v, s: set_first(v, np.nan)
                              if err else v * np.nan, err, n))
        if spec.nan == "reject":  # inf may map to a finite answer where NaN propagates
            out.append(Corruption(f"{lab}: inf", path, lambda v, s: set_first(v, np.inf),
                                  err, n))
    return out


def _number_corruptions(path: Path, spec: Num) -> list[Corruption]:
    n = name_regex(path, spec)
    lab = label_of(path)
    out = [
        Corruption(f"{lab}: NaN", path, lambda v, s: float("nan"), VALUE, n),
        Corruption(f"{lab}: inf", path, lambda v, s: float("inf"), VALUE, n),
        Corruption(f"{lab}: a bool", path, lambda v, s: True, TYPE, n),
        Corruption(f"{lab}: a str", path, lambda v, s: "1", spec.str_error, n),
        Corruption(f"{lab}: a list", path, lambda v, s: [v], spec.list_error, n),
    ]
    if not spec.optional:
        out.append(Corruption(f"{lab}: None", path, lambda v, s: None, TYPE, n))
    if spec.integer:
        out[:2] = []  # nan/inf are floats: the float case below covers them
        out.append(Corruption(f"{lab}: a float", path, lambda v, s: float(v or 1) + 0.5, TYPE, n))
    if spec.low is not None:
        below = spec.low if spec.low_open else spec.low - (1 if spec.integer else 1e-3)
        below = int(below) if spec.integer else below
        out.append(Corruption(f"{lab}: below {spec.low}", path, lambda v, s, b=below: b,
                              VALUE, n))
        if not spec.integer:
            out.append(Corruption(f"{lab}: -inf", path, lambda v, s: float("-inf"), VALUE, n))
    if spec.high is not None:
        above = spec.high if spec.high_open else spec.high + (1 if spec.integer else 1e-3)
        out.append(Corruption(f"{lab}: above {spec.high}", path, lambda v, s, a=above: a,
                              VALUE, n))
    return out


def corruptions(entry: Entry) -> list[Corruption]:
    """Every corruption of the entry, derived from its spec (labels are stable)."""
    arrays = [p for p, s in entry.args.items() if isinstance(s, Arr) and s.mix]
    out: list[Corruption] = []
    for path, spec in entry.args.items():
        if isinstance(spec, Arr):
            out += _array_corruptions(path, spec, has_peers=len(arrays) > 1)
        else:
            out += _number_corruptions(path, spec)
    out += [Corruption(b.label, b.path, b.value, b.error, b.name) for b in entry.bad]
    return out
