"""The error-input layer's generic templates over the table of ``tests/error_inputs/``.

Three templates, one table: every corruption of an entry is refused with its error class and a
message naming the argument (or, where NaN propagation is documented, NaN comes out); every
valid variant gives the canonical answer; no call changes its arguments. A fourth test fails
when a public name of ``impl`` has no entry (or an entry names nothing public).

These check this project's validation conventions, not mathematics.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest
import torch
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import impl
from dlmath_verify.checks import tolerance
from tests.error_inputs import (
    Arr,
    Entry,
    Num,
    cast,
    corruptions,
    flatten_out,
    get,
    map_arrays,
    non_contiguous,
    other_kind,
    put,
    read_only,
    same,
    snapshot,
)
from tests.error_inputs.table import ENTRIES, XFAIL

pytestmark = pytest.mark.conventions

METHODS = ("forward", "backward", "step", "__call__", "sgd_step", "loss",
           "loss_and_backward", "zero_grad", "do_forward")


# The layer tests argument kinds, dtypes and shapes, not values: an eighth of the profile's
# examples (ci 5, thorough 50; at least 4) per entry, every corruption in every example, keeps
# the whole table near 25 s of CPU under the ci profile.
# No shrinking: a failure lists every refused-or-not corruption of the first failing sample,
# which says what is wrong; shrinking would only spend time (and strict xfails would pay it).
EXAMPLES = settings(max_examples=max(4, settings.default.max_examples // 8),
                    phases=(Phase.explicit, Phase.reuse, Phase.generate))


def _params(entries: list[Entry], xfail: dict[str, str]):
    return [pytest.param(e, id=e.name, marks=[pytest.mark.xfail(strict=True, reason=xfail[e.name])]
                         if e.name in xfail else []) for e in entries]


CALLABLE = [e for e in ENTRIES if not e.record]


def public_names() -> set[str]:
    """module.name for every name of every impl module's __all__, and module.Class.method
    for the computing methods a public class defines itself."""
    names = set()
    for info in pkgutil.iter_modules(impl.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"impl.{info.name}")
        assert hasattr(mod, "__all__"), f"impl/{info.name}.py has no __all__"
        for name in mod.__all__:
            names.add(f"{info.name}.{name}")
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                for meth in METHODS:
                    if meth in vars(obj) or any(
                            meth in vars(base) for base in obj.__mro__[1:]
                            if base.__module__.startswith("impl.")):
                        names.add(f"{info.name}.{name}.{meth}")
    return names


def test_every_public_name_has_an_entry():
    public = public_names()
    table = {e.name for e in ENTRIES}
    missing = sorted(public - table)
    assert not missing, f"public names of impl without an error-input entry: {missing}"
    stale = sorted(table - public)
    assert not stale, f"entries that name nothing public in impl: {stale}"


def test_records_are_frozen_or_constant():
    """Constants and plain records have nothing to call; a record says why."""
    for e in ENTRIES:
        if e.record:
            assert len(e.record) > 10, e.name


def _call(entry: Entry, sample: dict):
    return entry.call(sample)


def _check_error(entry: Entry, c, sample: dict) -> str | None:
    bad = put(sample, c.path, c.make(get(sample, c.path), sample))
    try:
        out = _call(entry, bad)
    except Exception as err:  # the class is the assertion
        if c.error is None:
            return f"{c.label}: NaN should propagate, got {type(err).__name__}: {err}"
        if type(err) is not c.error:
            return f"{c.label}: expected {c.error.__name__}, got {type(err).__name__}: {err}"
        if not re.search(c.name, str(err)):
            return f"{c.label}: the message does not name {c.name!r}: {err}"
        return None
    if c.error is None:
        if not any(np.isnan(a).any() for a in flatten_out(
                entry.observe(out) if entry.observe else out)):
            return f"{c.label}: NaN in, but no NaN out"
        return None
    return f"{c.label}: accepted (expected {c.error.__name__} naming {c.name!r})"


@pytest.mark.parametrize("entry", _params(CALLABLE, XFAIL))
@EXAMPLES
@given(data=st.data())
def test_corruptions_are_refused_naming_the_argument(entry, data):
    sample = entry.draw(data)
    failures = [f for c in corruptions(entry) if (f := _check_error(entry, c, sample))]
    assert not failures, f"{entry.name}:\n  " + "\n  ".join(failures)


def _close(entry: Entry, got, want, dtype: str, what: str) -> str | None:
    g = flatten_out(entry.observe(got) if entry.observe else got)
    w = flatten_out(entry.observe(want) if entry.observe else want)
    if len(g) != len(w):
        return f"{what}: {len(g)} outputs, canonical {len(w)}"
    tol = tolerance(np.dtype(dtype))
    growth = entry.growth if dtype == "float32" else 1.0
    for k, (a, b) in enumerate(zip(g, w, strict=True)):
        if a.shape != b.shape:
            return f"{what}: output {k} shape {a.shape}, canonical {b.shape}"
        if not np.allclose(a, b, rtol=tol.rtol * growth, atol=tol.atol * growth,
                           equal_nan=True):
            diff = np.nanmax(np.abs(a - b)) if a.size else 0
            return f"{what}: output {k} differs from the canonical answer by {diff}"
    return None


def _variants(entry: Entry, sample: dict):
    """(label, sample, dtype of the comparison) for each valid variant of the sample."""
    arrays = [(p, s) for p, s in entry.args.items() if isinstance(s, Arr)]
    present = [(p, s) for p, s in arrays if get(sample, p) is not None]
    for p, _s in present:
        v = get(sample, p)
        if v.ndim:
            yield f"{p}: non-contiguous", put(sample, p, non_contiguous(v)), "float64"
        if isinstance(v, np.ndarray):
            yield f"{p}: read-only", put(sample, p, read_only(v)), "float64"
        else:
            yield f"{p}: requires_grad", put(sample, p, v.detach().clone().requires_grad_(
                True)), "float64"
    if entry.kinds and present and all(s.kind == "any" for _p, s in arrays):
        yield "the other kind", {k: map_arrays(v, other_kind) for k, v in sample.items()}, \
            "float64"
    if entry.f32 and present:
        yield "float32", {k: map_arrays(v, lambda a: cast(a, "float32"))
                          for k, v in sample.items()}, "float32"
    for p, s in entry.args.items():
        if isinstance(s, Num) and get(sample, p) is not None:
            v = get(sample, p)
            scalar = np.int64(v) if s.integer else np.float64(v)
            yield f"{p}: numpy scalar", put(sample, p, scalar), "float64"


@pytest.mark.slow  # the refusals above are the quick tier's bad-input check
@pytest.mark.parametrize("entry", _params([e for e in CALLABLE if e.run_valid], {}))
@EXAMPLES
@given(data=st.data())
def test_valid_variants_give_the_canonical_answer_and_nothing_is_mutated(entry, data):
    sample = entry.draw(data)
    kept = {k: snapshot(v) for k, v in sample.items()}
    want = _call(entry, sample)
    changed = [k for k, v in kept.items() if not same(v, snapshot(sample[k]))]
    assert not changed, f"{entry.name} changed its argument(s) {changed}"
    failures = []
    for label, variant, dtype in _variants(entry, sample):
        kept = {k: snapshot(v) for k, v in variant.items()}
        try:
            got = _call(entry, variant)
        except Exception as err:
            failures.append(f"{label}: refused a valid input: {type(err).__name__}: {err}")
            continue
        changed = [k for k, v in kept.items() if not same(v, snapshot(variant[k]))]
        if changed:
            failures.append(f"{label}: changed its argument(s) {changed}")
        if (f := _close(entry, got, want, dtype, label)):
            failures.append(f)
    assert not failures, f"{entry.name}:\n  " + "\n  ".join(failures)


def test_meta_tensors_are_refused_before_any_value_is_read():
    """The issue's examples: a meta tensor among CPU ones is refused with a ValueError naming
    it, never answered with uninitialised memory or a raw ``Tensor.item()`` error."""
    from impl.conv import conv2d, conv2d_input_grad, conv2d_weight_grad
    from impl.mlp import sigmoid_mlp_forward

    w = torch.ones(3, 2, 3, 3, dtype=torch.float64)
    g = torch.ones(2, 3, 3, 3, dtype=torch.float64)
    x = torch.ones(2, 2, 5, 5, dtype=torch.float64)
    for call, name in ((lambda: conv2d_input_grad((2, 2, 5, 5), w, g.to("meta")), "grad_output"),
                       (lambda: conv2d_weight_grad(x, (3, 2, 3, 3), g.to("meta")), "grad_output"),
                       (lambda: conv2d(x.to("meta"), w), "input"),
                       (lambda: sigmoid_mlp_forward(torch.ones(3, 1).to("meta"),
                                                    [torch.ones(2, 3)], [torch.ones(2, 1)]), "x")):
        with pytest.raises(ValueError, match=rf"{name} must be a CPU tensor"):
            call()
