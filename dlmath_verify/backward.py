r"""``check_backward``: one call that checks a hand-written backward pass against a torch
reference forward, over Hypothesis-drawn shapes and values, in several precisions.

For each drawn example and each dtype it runs three witnesses on the same inputs:

1. **autograd**: the hand gradients :math:`J^\top u` for a random upstream gradient ``u``
   equal ``torch.autograd.grad`` of the reference (reverse mode, float64);
2. **dot product**: :math:`\langle u, J v\rangle` by forward mode (``torch.func.jvp`` of the
   reference, float64) equals :math:`\langle J^\top u, v\rangle` by the hand backward, for a
   random direction ``v`` per input (catches transposes and missing terms);
3. **full Jacobian** (when ``output size × total input size ≤ jacobian_max_entries``): the hand
   backward applied to every unit upstream gradient :math:`e_i` gives the rows of
   :math:`J`; they equal the columns forward mode gives for every unit tangent, entry by entry,
   so a zero pattern is compared too (a small wrong entry cannot hide behind large ones).

The truth is always the reference in float64, evaluated at the inputs *as rounded to the
dtype under test*; the hand backward runs in that dtype and is compared with the dtype's row of
``dlmath_verify.checks.TOLERANCES`` (times ``growth``).

The calling convention of ``backward``::

    backward(grad_output, *inputs) -> one gradient per input, in the order of ``inputs``

(a tuple or list; a single array when there is one input). ``grad_output`` has the shape of
the reference's output. With ``backend="torch"`` (the default) the arguments are torch
tensors of the dtype under test; with ``backend="numpy"`` they are numpy arrays. Either way the
gradients may be torch tensors or numpy arrays; each must have its input's shape and (unless
``check_dtype=False``) its dtype. ``backward`` must not modify its arguments. A kernel with a
forward cache is wrapped in a small function: ``lambda g, x, w: my_backward(g, my_forward(x,
w)[1])``.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, given, note
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlmath_verify.checks import TOLERANCES, assert_close, assert_vjp, to_numpy

__all__ = ["CHECKS", "DEFAULT_SIDES", "check_backward"]

_PACKAGE = Path(__file__).resolve().parent
CHECKS = ("autograd", "dot_product", "jacobian")
DEFAULT_SIDES = (1, 5)  # the range of a named dimension that ``dims`` does not mention
_NAME = re.compile(r"[A-Za-z_]\w*\Z")
_NUMPY_DTYPES = {torch.float64: np.float64, torch.float32: np.float32,
                 torch.float16: np.float16}

ShapeSpec = str | Sequence[int | str]


def check_backward(
    forward_reference: Callable[..., torch.Tensor],
    backward: Callable[..., Any],
    inputs: Sequence[ShapeSpec] | st.SearchStrategy,
    *,
    claim: str | None = None,
    dtypes: Sequence[torch.dtype] = (torch.float64, torch.float32),
    backend: str = "torch",
    checks: Sequence[str] = CHECKS,
    dims: Mapping[str, tuple[int, int]] | None = None,
    bounds: tuple[float, float] = (-2.0, 2.0),
    growth: float | Callable[..., float] = 1.0,
    check_dtype: bool = True,
    jacobian_max_entries: int = 512,
    device: str | torch.device = "cpu",
    settings: Settings | None = None,
) -> None:
    """Check ``backward`` against ``forward_reference`` on Hypothesis-drawn inputs.

    ``forward_reference(*inputs) -> Tensor``: the forward pass in torch, differentiable by
    autograd and by ``torch.func.jvp`` (forward mode).

    ``inputs`` says what to draw, one entry per input tensor, either

    - shapes whose sides are integers or dimension names, as a tuple (``("n", "d")``,
      ``(3, "d")``, ``()`` for a scalar) or a string (``"n d"``): a name is drawn once per
      example from ``dims[name]`` (inclusive; default ``DEFAULT_SIDES``) and shared by every
      input that uses it; values are drawn in ``bounds``; or
    - a Hypothesis strategy drawing a tuple of shapes (values then drawn in ``bounds``) or a
      tuple of arrays/tensors (used as the float64 values, then rounded to each dtype).

    ``growth``: a factor on the tolerance (a number, or a function of the float64 inputs),
    for a computation whose rounding error grows with its size or conditioning; derive it,
    never tune it until green. ``settings``: the Hypothesis settings of the inner test;
    default: the active profile (``--hypothesis-profile``) without a deadline.

    Call it from a plain pytest test (not from inside another ``@given`` test). A failure is
    an ``AssertionError`` naming the claim (when given), the check, the input, shapes, the
    largest difference with its index and both values; its notes list the drawn arguments.
    """
    __tracebackhide__ = True
    names, n_inputs = _validate(forward_reference, backward, inputs, claim, dtypes, backend,
                                checks, dims, bounds, growth, check_dtype,
                                jacobian_max_entries, device, settings)
    dims = dict(dims or {})
    lo, hi = bounds
    device = torch.device(device)

    @given(data=st.data())
    def check_backward_example(data: st.DataObject) -> None:
        __tracebackhide__ = True
        def names_for(n: int) -> list[str]:
            known = names if n_inputs is not None else _parameter_names(forward_reference, n)
            return known or [f"input{k}" for k in range(n)]

        xs = _draw_inputs(data, inputs, dims, lo, hi, names_for)
        arg_names = names_for(len(xs))
        out = _reference_output(forward_reference, xs)
        u = _values(data, tuple(out.shape), -1.0, 1.0, "grad_output")
        v = [_values(data, tuple(x.shape), -1.0, 1.0, f"direction for {nm}")
             for x, nm in zip(xs, arg_names, strict=True)]
        factor = float(growth(*xs) if callable(growth) else growth)
        for dtype in dtypes:
            context = _summary(dtype, arg_names, xs, out, claim)
            try:
                with warnings.catch_warnings():
                    # torch.func's internals call the deprecated torch.jit.script: not the
                    # user's concern, and an error under a project's `-W error`.
                    warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated",
                                            DeprecationWarning)
                    _check_one_dtype(forward_reference, backward, xs, u, v, dtype, device,
                                     backend, arg_names, claim, checks, factor, check_dtype,
                                     jacobian_max_entries)
            except Exception as e:
                e.add_note(context)
                raise

    if settings is None:
        # The active profile, without a deadline (one example runs three witnesses in each
        # dtype, and the first forward-mode call imports half of torch) and without the
        # explain phase (it traces every line of torch while re-running the failure).
        active = Settings.default
        settings = Settings(
            parent=active, deadline=None, print_blob=False,  # the blob replays the inner test
            phases=[ph for ph in active.phases if ph is not Phase.explain],
            suppress_health_check=[*active.suppress_health_check, HealthCheck.too_slow,
                                   HealthCheck.data_too_large])
    test = settings(check_backward_example)
    # A database key of its own per kernel, so that one kernel's failures are not replayed
    # into another's (every call shares this function's source).
    key = repr((getattr(forward_reference, "__module__", ""),
                getattr(forward_reference, "__qualname__", repr(forward_reference)),
                getattr(backward, "__qualname__", repr(backward)), claim,
                None if isinstance(inputs, st.SearchStrategy) else inputs))
    test.hypothesis.inner_test._hypothesis_internal_add_digest = hashlib.sha256(
        key.encode()).digest()
    try:
        test()
    except AssertionError as e:
        if _raised_by_a_check(e):
            # One of our checks failed: show the user's line (above), not Hypothesis's
            # wrapper of the inner test; the message and notes carry the details.
            raise e.with_traceback(None) from None
        raise


def _raised_by_a_check(e: BaseException) -> bool:
    """Whether the innermost frame of e's traceback is in this package (not user code)."""
    tb = e.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().parent == _PACKAGE


# ---------------------------------------------------------------- one dtype, three witnesses


def _check_one_dtype(forward, backward, xs, u, v, dtype, device, backend, names, claim, checks,
                     growth, check_dtype, jacobian_max_entries):
    __tracebackhide__ = True
    xs_d = [x.to(dtype) for x in xs]
    xs_t = [x.double() for x in xs_d]  # the truth's inputs: the rounded values, in float64
    u_d = u.to(dtype)
    v_t = [vk.to(dtype).double() for vk in v]
    tag = str(dtype).removeprefix("torch.")

    def hand(grad_output_d):
        __tracebackhide__ = True
        return _call_backward(backward, grad_output_d, xs_d, dtype, device, backend, names,
                              check_dtype)

    grads = hand(u_d)
    if "autograd" in checks:
        req = [x.clone().requires_grad_(True) for x in xs_t]
        truth = torch.autograd.grad(forward(*req), req, u_d.double(), allow_unused=True,
                                    materialize_grads=True)
        for g, t, nm in zip(grads, truth, names, strict=True):
            assert_close(g, t, claim=claim, dtype=dtype, check_dtype=False, growth=growth,
                         what=f"∂/∂{nm} for a random grad_output, hand backward vs autograd "
                              f"of the reference, {tag}")
    if "dot_product" in checks:
        assert_vjp(forward, lambda _u: grads, xs_t, u_d, v_t, claim=claim, growth=growth)
    n_out = u.numel()
    sizes = [x.numel() for x in xs]
    if "jacobian" in checks and 0 < n_out * sum(sizes) <= jacobian_max_entries:
        rows = []
        for i in range(n_out):
            e = torch.zeros(n_out, dtype=dtype)
            e[i] = 1
            rows.append(torch.cat([torch.as_tensor(to_numpy(g), dtype=torch.float64)
                                   .reshape(-1) for g in hand(e.reshape(u.shape))]))
        j_hand = torch.stack(rows)
        j_true = _forward_mode_jacobian(forward, xs_t, n_out)
        start = 0
        for nm, size in zip(names, sizes, strict=True):
            block = slice(start, start + size)
            assert_close(j_hand[:, block].to(dtype), j_true[:, block], claim=claim,
                         dtype=dtype, check_dtype=False, growth=growth,
                         what=f"full Jacobian of the output (rows) w.r.t. {nm} (columns), "
                              f"hand backward of unit grad_outputs vs forward mode, {tag}")
            start += size


def _forward_mode_jacobian(forward, xs, n_out) -> torch.Tensor:
    """J (n_out × Σ numel) by forward mode: ``torch.func.jacfwd``, or one ``torch.func.jvp``
    per input entry where the reference cannot be vmapped."""
    try:
        blocks = torch.func.jacfwd(forward, argnums=tuple(range(len(xs))))(*xs)
        return torch.cat([b.reshape(n_out, -1) for b in blocks], dim=1)
    except RuntimeError:
        pass
    columns = []
    for k, x in enumerate(xs):
        for j in range(x.numel()):
            tangents = [torch.zeros_like(t) for t in xs]
            tangents[k].view(-1)[j] = 1
            _, jv = torch.func.jvp(forward, tuple(xs), tuple(tangents))
            columns.append(jv.reshape(-1))
    return torch.stack(columns, dim=1)


def _call_backward(backward, grad_output, xs_d, dtype, device, backend, names, check_dtype):
    """backward(grad_output, *inputs) on fresh copies; validates what comes back."""
    __tracebackhide__ = True
    if backend == "numpy":
        args = [grad_output.cpu().numpy().copy(), *(x.cpu().numpy().copy() for x in xs_d)]
        before = [a.copy() for a in args]
        same = np.array_equal
    else:
        args = [grad_output.to(device).clone(), *(x.to(device).clone() for x in xs_d)]
        before = [a.clone() for a in args]
        same = torch.equal
    grads = backward(*args)
    for a, b, nm in zip(args, before, ["grad_output", *names], strict=True):
        if not same(a, b):
            raise AssertionError(f"backward modified its argument {nm} in place")
    if not isinstance(grads, tuple | list):
        grads = (grads,)
    if len(grads) != len(xs_d):
        raise AssertionError(f"backward returned {len(grads)} gradient(s), expected one per "
                             f"input: {len(xs_d)} ({', '.join(names)})")
    out = []
    for g, x, nm in zip(grads, xs_d, names, strict=True):
        if not isinstance(g, torch.Tensor | np.ndarray | float | int):
            raise AssertionError(f"backward returned a {type(g).__name__} as the gradient "
                                 f"for {nm}; expected a torch tensor or numpy array")
        shape = tuple(g.shape) if hasattr(g, "shape") else ()
        if shape != tuple(x.shape):
            raise AssertionError(f"the gradient for {nm} has shape {shape}, the input "
                                 f"{tuple(x.shape)}")
        g_dtype = g.dtype if hasattr(g, "dtype") else None
        if check_dtype and _as_torch_dtype(g_dtype) != dtype:
            raise AssertionError(f"the gradient for {nm} has dtype {g_dtype}, the input "
                                 f"{dtype} (pass check_dtype=False to allow it)")
        out.append(g)
    return tuple(out)


def _as_torch_dtype(dtype: Any) -> torch.dtype | None:
    if isinstance(dtype, torch.dtype) or dtype is None:
        return dtype
    try:
        return {np.dtype(v): k for k, v in _NUMPY_DTYPES.items()}.get(np.dtype(dtype))
    except TypeError:
        return None


# ---------------------------------------------------------------- drawing


def _values(data, shape, lo, hi, label) -> torch.Tensor:
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return torch.from_numpy(data.draw(hnp.arrays(np.float64, shape, elements=elements),
                                      label=label))


def _draw_inputs(data, inputs, dims, lo, hi, names_for) -> list[torch.Tensor]:
    __tracebackhide__ = True
    if isinstance(inputs, st.SearchStrategy):
        drawn = data.draw(inputs, label="inputs")
        if isinstance(drawn, torch.Tensor | np.ndarray):
            drawn = (drawn,)
        if not isinstance(drawn, tuple | list) or not drawn:
            raise TypeError(f"inputs: the strategy must draw a tuple of shapes or of "
                            f"arrays/tensors, drew {type(drawn).__name__}")
        if all(isinstance(d, tuple) and all(isinstance(s, int) for s in d) for d in drawn):
            return [_values(data, d, lo, hi, nm)
                    for d, nm in zip(drawn, names_for(len(drawn)), strict=True)]
        xs = []
        for k, d in enumerate(drawn):
            if not isinstance(d, torch.Tensor | np.ndarray):
                raise TypeError(f"inputs: the strategy drew a {type(d).__name__} as input "
                                f"{k}; expected a shape tuple, a numpy array or a tensor")
            t = torch.as_tensor(d).detach().cpu()
            if not t.is_floating_point():
                raise TypeError(f"inputs: the strategy drew input {k} of dtype {t.dtype}; "
                                f"expected floating values")
            xs.append(t.double())
        return xs
    sides: dict[str, int] = {}
    shapes = []
    for spec in inputs:
        shape = []
        for side in _sides(spec):
            if isinstance(side, str):
                if side not in sides:
                    a, b = dims.get(side, DEFAULT_SIDES)
                    sides[side] = data.draw(st.integers(a, b), label=side)
                side = sides[side]
            shape.append(side)
        shapes.append(tuple(shape))
    note(f"shapes {shapes}" + (f" with {sides}" if sides else ""))
    return [_values(data, s, lo, hi, nm)
            for s, nm in zip(shapes, names_for(len(shapes)), strict=True)]


def _sides(spec: ShapeSpec) -> list[int | str]:
    if isinstance(spec, str):
        return [int(s) if s.isdigit() else s for s in spec.replace(",", " ").split()]
    return list(spec)


def _reference_output(forward, xs) -> torch.Tensor:
    __tracebackhide__ = True
    out = forward(*[x.clone() for x in xs])
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        raise TypeError(f"forward_reference must return one floating torch tensor, returned "
                        f"{type(out).__name__}"
                        + (f" of dtype {out.dtype}" if isinstance(out, torch.Tensor) else ""))
    return out.detach()


def _summary(dtype, names, xs, out, claim) -> str:
    parts = []
    for nm, x in zip(names, xs, strict=True):
        rng = (f" in [{float(x.min()):.4g}, {float(x.max()):.4g}]" if x.numel() else "")
        parts.append(f"{nm} {tuple(x.shape)}{rng}")
    head = f"check_backward{f' (claim {claim})' if claim else ''}"
    return (f"{head}: dtype {str(dtype).removeprefix('torch.')}; inputs "
            + ", ".join(parts) + f"; output {tuple(out.shape)}")


# ---------------------------------------------------------------- argument validation


def _validate(forward, backward, inputs, claim, dtypes, backend, checks, dims, bounds, growth,
              check_dtype, jacobian_max_entries, device, settings):
    if not callable(forward):
        raise TypeError(f"forward_reference must be callable, got {type(forward).__name__}")
    if not callable(backward):
        raise TypeError(f"backward must be callable, got {type(backward).__name__}")
    n_inputs = None
    if not isinstance(inputs, st.SearchStrategy):
        if isinstance(inputs, str) or not isinstance(inputs, Sequence):
            raise TypeError("inputs must be a sequence of shapes (one per input; a shape is a "
                            "tuple of ints and dimension names, or a string like 'n d') or a "
                            f"Hypothesis strategy, got {type(inputs).__name__}")
        if not inputs:
            raise ValueError("inputs must describe at least one input tensor, got none")
        for k, spec in enumerate(inputs):
            if not isinstance(spec, str | Sequence):
                raise TypeError(f"inputs[{k}] must be a shape (tuple of ints and names, or a "
                                f"string), got {type(spec).__name__}")
            for side in _sides(spec):
                ok = (isinstance(side, int) and not isinstance(side, bool) and side >= 0) or (
                    isinstance(side, str) and _NAME.match(side))
                if not ok:
                    raise ValueError(f"inputs[{k}] = {spec!r}: each side must be an int >= 0 "
                                     f"or a dimension name, got {side!r}")
        n_inputs = len(inputs)
    if claim is not None and not isinstance(claim, str):
        raise TypeError(f"claim must be a string or None, got {type(claim).__name__}")
    if isinstance(dtypes, torch.dtype) or not isinstance(dtypes, Sequence) or not dtypes:
        raise TypeError(f"dtypes must be a non-empty sequence of torch dtypes, got {dtypes!r}")
    for d in dtypes:
        if d not in TOLERANCES:
            raise ValueError(f"dtypes: {d!r} has no row in the tolerance table; expected some "
                             f"of {list(TOLERANCES)}")
    if backend not in ("torch", "numpy"):
        raise ValueError(f"backend must be 'torch' or 'numpy', got {backend!r}")
    if backend == "numpy" and torch.bfloat16 in dtypes:
        raise ValueError("dtypes: numpy has no bfloat16; with backend='numpy' use float64, "
                         "float32 or float16")
    if isinstance(checks, str) or not set(checks) <= set(CHECKS) or not checks:
        raise ValueError(f"checks must be a non-empty subset of {CHECKS}, got {checks!r}")
    if dims is not None:
        if not isinstance(dims, Mapping):
            raise TypeError(f"dims must map dimension names to (min, max), got "
                            f"{type(dims).__name__}")
        for name, rng in dims.items():
            if not (isinstance(name, str) and _NAME.match(name)):
                raise ValueError(f"dims: {name!r} is not a dimension name")
            if not (isinstance(rng, tuple) and len(rng) == 2
                    and all(isinstance(r, int) for r in rng) and 0 <= rng[0] <= rng[1]):
                raise ValueError(f"dims[{name!r}] must be (min, max) with 0 <= min <= max, "
                                 f"got {rng!r}")
    if not (isinstance(bounds, tuple) and len(bounds) == 2
            and all(isinstance(b, int | float) and math.isfinite(b) for b in bounds)
            and bounds[0] < bounds[1]):
        raise ValueError(f"bounds must be (min, max), finite with min < max, got {bounds!r}")
    if not callable(growth) and not (isinstance(growth, int | float) and growth > 0
                                     and math.isfinite(growth)):
        raise ValueError(f"growth must be a positive number or a function of the inputs, got "
                         f"{growth!r}")
    if not isinstance(check_dtype, bool):
        raise TypeError(f"check_dtype must be True or False, got {check_dtype!r}")
    if not isinstance(jacobian_max_entries, int) or jacobian_max_entries < 0:
        raise ValueError(f"jacobian_max_entries must be an int >= 0, got "
                         f"{jacobian_max_entries!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device: {device!r} is not a torch device ({e})") from None
    if backend == "numpy" and dev.type != "cpu":
        raise ValueError(f"device: backend='numpy' runs on the CPU, got {device!r}")
    if settings is not None and not isinstance(settings, Settings):
        raise TypeError(f"settings must be a hypothesis.settings object or None, got "
                        f"{type(settings).__name__}")
    names = _parameter_names(forward, n_inputs)
    return names, n_inputs


def _parameter_names(forward, n_inputs) -> list[str] | None:
    """The reference's positional parameter names, used to name the inputs in messages."""
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if n_inputs is not None and not len(required) <= n_inputs <= len(positional):
        raise TypeError(f"forward_reference takes {len(positional)} positional argument(s) "
                        f"({', '.join(p.name for p in positional)}) but inputs gives {n_inputs} "
                        f"tensor(s)")
    if n_inputs is None:
        return None
    return [p.name for p in positional[:n_inputs]]
