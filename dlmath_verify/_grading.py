r"""Grading mode: ``pytest --impl NAME=TARGET`` runs the suite against another implementation
of ``impl.NAME`` (a student's ``modules.py``, a course library behind an adapter file).

How it works, in order:

1. ``pytest_configure`` (before any test module is imported) loads each TARGET (a ``.py`` path
   or an importable module name), checks that it has every name of the contract NAME
   (:data:`CONTRACTS`), and installs in ``sys.modules['impl.NAME']`` a module whose contract
   names are the target's and whose other names are the suite's own. Every other ``impl.*``
   module is re-imported afterwards, so the suite's composites (``impl.mlp.ModuleMLP`` built
   from ``impl.modules``) are built from the graded classes. A bad ``--impl`` (unknown NAME,
   missing file, a module lacking contract names) is a ``pytest.UsageError`` naming what is
   missing, before any test runs. ``pytest_unconfigure`` restores ``sys.modules``.
2. After collection, tests marked ``conventions`` (this project's error wording, validation,
   private arguments) are deselected, and (``--impl-select=dependent``, the default) so are the
   tests that never reach a graded name: a test *depends* on the graded implementation when
   its body, decorators, helpers and the ``impl``/``tests`` functions they call (followed by
   reading the source, :class:`_Dependencies`) reach a contract name of a graded module.
3. The claims summary (``_claims.py``) prints :func:`grading_header` and reports a claim
   whose witnesses in this run are symbolic only, or never reach the graded implementation,
   as ``impl-independent`` ("does not depend on the implementation"), never ``verified``.

The contracts are data (:data:`CONTRACTS`); ``docs/grading.md`` is their prose.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CONTRACTS", "Contract", "grading_header", "grading_status", "independent_of_impl"]

INDEPENDENT = "impl-independent"
INDEPENDENT_MEANING = "does not depend on the implementation"


# ------------------------------------------------------------------------------ contracts


def _adapt_jacobian(target: types.ModuleType) -> dict[str, Any]:
    """The seed's signature ``(x, L, param_dict)`` (``002_f6a45d0186751a72.txt`` Problem 2:
    ``my_backward_2a``/``my_forward_2b``, torch tensors only) adapted to ``(x, params)``.

    A function whose signature has three required positional parameters is called as
    ``f(x_t, L, params_t)`` with L the number of keys ``W1 … WL`` and numpy inputs converted to
    torch tensors (the result converted back); a two-parameter function is used as it is.
    """
    out = {}
    for name in ("jacobian_reverse", "jacobian_forward"):
        fn = getattr(target, name)
        try:
            params = [p for p in inspect.signature(fn).parameters.values()
                      if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                             p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        out[name] = _seed_signature(fn) if len(params) == 3 else fn
    return out


def _seed_signature(fn: Callable[..., Any]) -> Callable[..., Any]:
    import numpy as np
    import torch

    def adapted(x: Any, params: Any) -> Any:
        numpy_in = isinstance(x, np.ndarray)
        if not hasattr(params, "keys"):
            return fn(x, None, params)  # let the seed's code fail on a bad argument itself
        layers = sum(1 for k in params if k[:1] == "W" and k[1:].isdigit())
        xt = torch.from_numpy(x) if numpy_in else x
        pt = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
              for k, v in params.items()}
        j = fn(xt, layers, pt)
        return j.detach().cpu().numpy() if numpy_in else j

    adapted.__name__ = f"{fn.__name__}[seed signature (x, L, param_dict)]"
    adapted.__wrapped__ = fn
    return adapted


@dataclass(frozen=True)
class Contract:
    """What ``--impl NAME=TARGET`` must provide: ``names`` (each an attribute of TARGET) and,
    per name, its interface as the tests use it. ``adapt`` maps a loaded target to the
    objects installed under the contract names (default: the target's own attributes)."""

    name: str
    source: str  # the seed (file, problem) whose interface this is
    names: dict[str, str]  # name -> interface: signature, shapes, dtypes, what is cached
    adapt: Callable[[types.ModuleType], dict[str, Any]] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def module(self) -> str:
        return f"impl.{self.name}"


CONTRACTS: dict[str, Contract] = {c.name: c for c in (
    Contract(
        "modules", "004_a5042f8004da492f.txt §1.2 (the practical's numpy modules)",
        {
            "LinearModule": (
                "LinearModule(in_features, out_features); params/grads: dicts with 'weight' "
                "(out, in) and 'bias' (out,); forward(x (N, in)) -> x W^T + b, reading "
                "params['weight'] and params['bias'] afresh on every call (the tests replace "
                "or perturb them in place) and caching x; backward(dout (N, out)) -> dx (N, in),"
                " filling grads['weight'] = dout^T x and grads['bias'] = sum_n dout_n"),
            "ReLUModule": ("ReLUModule(); forward(x (N, C)) -> max(0, x), caching what "
                           "backward needs; backward(dout) -> dout * 1(x > 0) (0 at x = 0)"),
            "SoftMaxModule": ("SoftMaxModule(); forward(x (N, C)) -> row softmax, caching it; "
                              "backward(dout) -> dx, the VJP of the row softmax"),
            "CrossEntropyModule": (
                "CrossEntropyModule(); forward(x, y) -> batch mean of -sum_i y_i log x_i for "
                "probabilities x (N, C) and one-hot y (N, C); backward(x, y) -> -y / (N x), "
                "called on a fresh instance (no state from forward)"),
        },
        notes=("numpy float64 arrays (float32 where a test draws it; the result must keep "
               "the dtype to within float32's tolerance)",
               "the suite builds ModuleMLP from these four classes through this interface "
               "only")),
    Contract(
        "custom_batchnorm", "004_a5042f8004da492f.txt §3 (the practical's batch norm)",
        {
            "CustomBatchNormAutograd": (
                "CustomBatchNormAutograd(n_neurons, eps=1e-5): nn.Module, forward(input "
                "(N, n_neurons)) -> gamma (x - mu)/sqrt(var + eps) + beta, batch statistics, "
                "biased variance; gamma (ones), beta (zeros) parameters; backward by autograd"),
            "CustomBatchNormManualFunction": (
                "torch.autograd.Function: forward(ctx, input (N, C), gamma (C,), beta (C,), "
                "eps=1e-5) -> y; backward(ctx, grad_output) -> (dx, dgamma, dbeta, None) by "
                "hand; gradcheck runs on it in float64"),
            "CustomBatchNormManualModule": (
                "CustomBatchNormManualModule(n_neurons, eps=1e-5): nn.Module applying "
                "CustomBatchNormManualFunction with its own gamma (ones) and beta (zeros)"),
        }),
    Contract(
        "jacobian", "002_f6a45d0186751a72.txt Q2 (a)-(b)",
        {
            "jacobian_reverse": (
                "jacobian_reverse(x (D,), params) -> J (P, D) of f(x) = W_F tanh(W_L ... "
                "tanh(W_1 x)) by reverse mode; params a dict 'W1' (K, D), 'W2'...'WL' (K, K), "
                "'WF' (P, K); torch tensors (float64/float32) or numpy arrays, J in the same "
                "kind and dtype, detached. The seed's signature (x, L, param_dict) is "
                "accepted through an adapter (torch inputs)"),
            "jacobian_forward": "jacobian_forward(x, params): the same J by forward mode",
        },
        adapt=_adapt_jacobian),
    Contract(
        "softmax", "004_a5042f8004da492f.txt §1.1; 001_d80f36ddf3b5193b.txt Problem 1",
        {
            "softmax": "softmax(x (..., C)) -> row softmax over the last axis; numpy or torch, "
                       "float64/float32 kept; stable for huge logits",
            "softmax_backward": "softmax_backward(s, grad_s) -> s * (grad_s - <grad_s, s>) "
                                "(s the softmax output)",
            "softmax_jacobian": "softmax_jacobian(x (C,)) -> diag(s) - s s^T (C, C)",
            "log_softmax": "log_softmax(x) -> x - logsumexp(x) over the last axis",
            "log_softmax_backward": "log_softmax_backward(log_s, grad) -> grad - exp(log_s) "
                                    "sum(grad)",
            "cross_entropy": "cross_entropy(x logits (N, C), target (N,) labels or (N, C) "
                             "distribution) -> batch mean of -log softmax at the targets",
            "cross_entropy_backward": "cross_entropy_backward(x, target) -> (softmax(x) - "
                                      "T)/N",
            "true_softmax": "true_softmax(x, beta) -> softmax(beta x)",
            "true_softmax_gradient": "true_softmax_gradient(x, beta) -> the gradient of "
                                     "(1/beta) log sum exp(beta x)",
        }),
    Contract(
        "batchnorm", "004_a5042f8004da492f.txt §3.2 a; 001_d80f36ddf3b5193b.txt Problem 3",
        {
            "batchnorm_statistics": "batchnorm_statistics(x (N, C), eps) -> (mu, var, x_hat), "
                                    "biased variance, numpy or torch",
            "batchnorm_forward": "batchnorm_forward(x (N, C), gamma (C,), beta (C,), eps) -> y",
            "batchnorm_backward": "batchnorm_backward(x, gamma, grad_y, eps) -> (dx, dgamma, "
                                  "dbeta), formula (5)",
            "fold_into_layer": "fold_into_layer(layer nn.Linear|nn.Conv2d, bn nn.BatchNorm1d|"
                               "2d in eval mode) -> a new layer equal to bn(layer(x))",
            "fold_batchnorm": "fold_batchnorm(model nn.Sequential-like) -> a copy with every "
                              "BN after a Linear/Conv2d folded into it",
        }),
    Contract(
        "conv", "001_d80f36ddf3b5193b.txt Problem 4 (and conv2d backprop)",
        {
            "toeplitz": "toeplitz(w (f,), n) -> C_w ((n - f + 1), n)",
            "conv1d_net_forward": "conv1d_net_forward(y0 (n,), weights [(f_l,)], biases "
                                  "[() or (1,)], activation='tanh') -> (y_L, cache)",
            "conv1d_net_backward": "conv1d_net_backward(cache, u) -> ([d/dw_l], [d/db_l]) of "
                                   "u . y_L",
            "conv2d": "conv2d(x (N, C_in, H, W), weight (C_out, C_in, kh, kw), bias=None, "
                      "stride=1, padding=0, dilation=1) -> y, as torch's conv2d",
            "conv2d_input_grad": "conv2d_input_grad(input_shape, weight, grad_output, stride, "
                                 "padding, dilation) -> dx (as torch.nn.grad.conv2d_input)",
            "conv2d_weight_grad": "conv2d_weight_grad(x, weight_shape, grad_output, stride, "
                                  "padding, dilation) -> dK (as torch.nn.grad.conv2d_weight)",
            "conv2d_backward": "conv2d_backward(x, weight, grad_output, stride, padding, "
                               "dilation) -> (dx, dK, db)",
        }),
    Contract(
        "momentum", "000_44446893528eed8a.txt Problem 3",
        {
            "MomentumFormOne": "MomentumFormOne(theta0, alpha, beta); step(g) -> theta_{k+1} "
                               "= theta_k - alpha g + beta (theta_k - theta_{k-1}), theta_{-1} "
                               "= theta_0",
            "MomentumFormTwo": "MomentumFormTwo(theta0, alpha, beta); step(g): v = g + beta v "
                               "(v_0 = 0), theta = theta - alpha v; returns theta",
            "form_one_iterates": "form_one_iterates(theta0, grads (k, ...), alpha, beta) -> "
                                 "theta_0..theta_k stacked (k + 1, ...)",
            "form_two_iterates": "form_two_iterates(theta0, grads, alpha, beta) -> the same "
                                 "for Form II",
            "closed_form_iterate": "closed_form_iterate(theta0, grads, alpha, beta) -> theta_k",
            "FormOneSGD": "FormOneSGD(params, lr, momentum): torch.optim.Optimizer, Form I",
            "FormTwoSGD": "FormTwoSGD(params, lr, momentum): torch.optim.Optimizer, Form II",
        }),
    Contract(
        "autodiff", "003_6e09f081ee206780.txt (a vugrad-style reverse-mode library)",
        {
            "TensorNode": (
                "TensorNode(value float32/float64 ndarray): .value, .grad (zeros until "
                "backward), .source (the OpNode that made it, None for a leaf), .shape; "
                "+ - * / @ build Add/Subtract/Multiply/Divide/MatMul nodes; "
                ".backward(goutput=None) backpropagates goutput (of the node's shape; "
                "None only for a scalar) into every node's .grad; leaves accumulate"),
            "OpNode": "the graph node of one op application: .op (the Op class), .inputs "
                      "(the TensorNodes), .outputs (list)",
            "Add": "the Op class behind +: c.source.op is Add",
            "Sigmoid": "Op; Sigmoid.do_forward(x) -> TensorNode",
            "Tanh": "Op; Tanh.do_forward(x)",
            "Exp": "Op; Exp.do_forward(x)",
            "Log": "Op; Log.do_forward(x), x > 0",
            "ReLU": "Op; ReLU.do_forward(x), gradient 0 at x = 0",
            "Expand": "Op; Expand.do_forward(x, repeats=k, dim=1) repeats the singleton axis "
                      "dim k times",
            "Sum": "Op; Sum.do_forward(x) -> scalar sum",
            "RowSum": "Op; RowSum.do_forward(x (m, n)) -> (m, 1)",
            "RowMax": "Op; RowMax.do_forward(x (m, n)) -> (m, 1), gradient to the arg max",
            "Normalize": "Op; Normalize.do_forward(x) -> x / row sums (003 Q8)",
            "LogSoftmax": "Op; LogSoftmax.do_forward(x) -> row log-softmax (fused)",
            "log_softmax": "log_softmax(x node) -> row log-softmax composed of ops",
            "cross_entropy": "cross_entropy(log_probs node (N, C), targets ndarray (N, C)) -> "
                             "scalar node -(1/N) sum T * log_probs",
            "ResidualMLP": (
                "ResidualMLP(input_size, output_size, residual, hidden_mult, rng=...): "
                "callable on a node x (N, d) -> log-probabilities; h1 = sigmoid(x W1 + b1), "
                "h2 = sigmoid(h1 W2 + b2) (+ h1 if residual), out = log_softmax(h2 W3 + b3); "
                "parameters() -> [W1, b1, W2, b2, W3, b3] nodes with writable .value, "
                "W (in, out), b (1, out)"),
        },
        notes=("a library with other names or conventions is graded through an adapter file "
               "that exports these names (docs/grading.md, 'The autodiff adapter protocol')",)),
)}


# ------------------------------------------------------------------------------ loading


@dataclass
class Graded:
    """One ``--impl NAME=TARGET`` of this session."""

    name: str
    target: str
    module_name: str  # the loaded target's __name__
    file: str | None
    sha256: str | None
    installed: types.ModuleType

    def describe(self) -> str:
        file = self.file or "(no file)"
        digest = f"sha256 {self.sha256[:12]}" if self.sha256 else "no hash"
        return (f"impl.{self.name} = {self.target!s} (module {self.module_name}, file {file}, "
                f"{digest})")

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "contract": f"impl.{self.name}", "target": self.target,
                "module": self.module_name, "file": self.file, "sha256": self.sha256}


def _parse(spec: str) -> tuple[str, str]:
    name, sep, target = spec.partition("=")
    name, target = name.strip(), target.strip()
    if not sep or not name or not target:
        raise pytest.UsageError(f"--impl {spec!r}: expected NAME=TARGET (TARGET a .py file or "
                                f"an importable module), e.g. --impl modules=student/modules.py")
    if name not in CONTRACTS:
        raise pytest.UsageError(f"--impl {spec!r}: unknown NAME {name!r}; the contracts are "
                                f"{', '.join(sorted(CONTRACTS))}")
    return name, target


def _load_target(name: str, target: str, rootdir: Path) -> types.ModuleType:
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target)
        if not path.is_absolute():
            path = (Path.cwd() / path).resolve()
        if not path.is_file():
            raise pytest.UsageError(f"--impl {name}={target}: file {str(path)!r} not found")
        mod_name = f"_dlmath_graded_{name}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        sys.path.insert(0, str(path.parent))  # the target may import its siblings
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[mod_name]
            raise pytest.UsageError(f"--impl {name}={target}: importing {str(path)!r} raised "
                                    f"{type(exc).__name__}: {exc}") from exc
        finally:
            sys.path.remove(str(path.parent))
        return module
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise pytest.UsageError(f"--impl {name}={target}: module {target!r} cannot be "
                                f"imported ({exc})") from exc


def _sha256(path: str | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


_STATE_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dlmath-verify grading")
    group.addoption(
        "--impl", action="append", default=[], metavar="NAME=TARGET",
        help="grade another implementation of impl.NAME (a .py file or an importable module) "
             f"for the whole session; repeatable. Contracts: {', '.join(sorted(CONTRACTS))} "
             "(docs/grading.md)")
    group.addoption(
        "--impl-select", choices=("dependent", "files", "all"), default="dependent",
        help="under --impl, run the tests that reach the graded names (dependent, the "
             "default), every test of the files holding such a test (files), or every test "
             "(all); tests marked 'conventions' are deselected in each case")


def _impl_submodules() -> dict[str, types.ModuleType]:
    return {k: v for k, v in sys.modules.items() if k.startswith("impl.")}


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    specs = config.getoption("--impl", default=[]) or []
    if not specs:
        return
    parsed = [_parse(s) for s in specs]
    seen = [n for n, _ in parsed]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    if dup:
        raise pytest.UsageError(f"--impl given twice for {', '.join(dup)}")
    rootdir = Path(str(config.rootpath))

    import impl  # the suite's package: its own modules are the fallback for other names

    saved_modules = _impl_submodules()
    saved_attrs = {k: getattr(impl, k) for k in list(vars(impl)) if not k.startswith("__")}
    graded: dict[str, Graded] = {}
    installed: dict[str, types.ModuleType] = {}
    for name, target in parsed:
        contract = CONTRACTS[name]
        loaded = _load_target(name, target, rootdir)
        missing = [n for n in contract.names if not hasattr(loaded, n)]
        if missing:
            raise pytest.UsageError(
                f"--impl {name}={target}: {getattr(loaded, '__file__', target)} lacks "
                f"{', '.join(missing)} of the contract impl.{name} (needs "
                f"{', '.join(contract.names)}; see docs/grading.md)")
        ours = importlib.import_module(contract.module)
        objects = contract.adapt(loaded) if contract.adapt else {}
        wrapper = types.ModuleType(contract.module, f"impl.{name} graded: {target}")
        wrapper.__dict__.update({k: v for k, v in vars(ours).items()
                                 if not k.startswith("__")})
        for n in contract.names:
            setattr(wrapper, n, objects.get(n, getattr(loaded, n)))
        file = getattr(loaded, "__file__", None)
        wrapper.__file__ = file or "<no file>"
        wrapper.__dlmath_graded__ = (name, target)
        installed[contract.module] = wrapper
        graded[name] = Graded(name, target, loaded.__name__, file, _sha256(file), wrapper)
    # Every impl.* module is imported afresh after this point (so that the suite's composites
    # bind the graded names); _validate has no impl imports and stays.
    for mod in list(_impl_submodules()):
        if mod != "impl._validate":
            del sys.modules[mod]
            if hasattr(impl, mod.split(".", 1)[1]):
                delattr(impl, mod.split(".", 1)[1])
    for mod, wrapper in installed.items():
        sys.modules[mod] = wrapper
        setattr(impl, mod.split(".", 1)[1], wrapper)
    config.stash[_STATE_KEY] = {
        "graded": graded, "saved_modules": saved_modules, "saved_attrs": saved_attrs,
        "deselected": {}, "depends": {}, "kinds": {},
    }


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE_KEY, None)
    if not state:
        return
    import impl

    for mod in list(_impl_submodules()):
        del sys.modules[mod]
    for k in [k for k in list(vars(impl)) if not k.startswith("__")]:
        delattr(impl, k)
    sys.modules.update(state["saved_modules"])
    for k, v in state["saved_attrs"].items():
        setattr(impl, k, v)
    for g in state["graded"].values():
        sys.modules.pop(f"_dlmath_graded_{g.name}", None)
    del config.stash[_STATE_KEY]


def graded(config: pytest.Config) -> dict[str, Graded]:
    """The implementations graded in this session (empty without ``--impl``)."""
    state = config.stash.get(_STATE_KEY, None)
    return state["graded"] if state else {}


# ------------------------------------------------------------------ which tests depend


class _Dependencies:
    """Which graded names a top-level object of a source file reaches, by reading source.

    A reference is followed through the file's own top-level functions, classes and
    assignments, and through ``from impl.X import n`` / ``from impl import X`` (then ``X.n``)
    into the suite's modules (``impl``, ``tests``, ``derivations``). It stops at a graded name
    ``(impl.NAME, n)`` (a hit), at a graded module's other names (the suite's own), and at
    anything outside the repository. A module alias used bare (passed as a value) counts as
    every name of that module.
    """

    LOCAL = ("impl", "tests", "derivations")

    def __init__(self, graded_names: set[tuple[str, str]]) -> None:
        self.graded = graded_names
        self.graded_modules = {m for m, _ in graded_names}
        self._files: dict[str, tuple[dict, dict] | None] = {}
        self._memo: dict[tuple[str, str], bool] = {}

    def _module(self, modname: str) -> tuple[dict, dict] | None:
        """(top-level definitions name -> node, imports alias -> (module, name|None))."""
        if modname in self._files:
            return self._files[modname]
        info = None
        try:
            spec = importlib.util.find_spec(modname)
        except (ImportError, ValueError):
            spec = None
        if modname in self.graded_modules:
            spec = None  # a graded module's own names are not followed
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
            info = self._index(tree, modname, spec.submodule_search_locations is not None)
        self._files[modname] = info
        return info

    @staticmethod
    def _index(tree: ast.Module, modname: str, is_pkg: bool) -> tuple[dict, dict]:
        defs: dict[str, list[ast.AST]] = {}
        imports: dict[str, tuple[str, str | None]] = {}
        package = modname if is_pkg else modname.rpartition(".")[0]
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defs.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            defs.setdefault(n.id, []).append(node)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                for a in node.names:
                    imports[a.asname or a.name] = (base, a.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        imports[a.asname] = (a.name, None)
                    else:
                        imports[a.name.split(".")[0]] = (a.name.split(".")[0], None)
        return defs, imports

    def _module_alias(self, imported: tuple[str, str | None]) -> str | None:
        """The local module an imported alias stands for (``import impl.x as K``, ``from impl
        import x as K``), or None (a name, or a module outside the repository)."""
        base, attr = imported
        mod = base if attr is None else f"{base}.{attr}"
        if not self._is_local(mod):
            return None
        if mod in self.graded_modules or self._module(mod) is not None:
            return mod
        return None

    def _is_local(self, modname: str) -> bool:
        return modname.split(".")[0] in self.LOCAL

    def _ref(self, module: str, name: str | None, stack: set) -> bool:
        """Does (module, name) reach a graded name? name None: the module itself."""
        if name is None:
            if module in self.graded_modules:
                return True
            info = self._module(module) if self._is_local(module) else None
            return bool(info) and any(self._name(module, n, stack) for n in info[0])
        if (module, name) in self.graded:
            return True
        if module in self.graded_modules or not self._is_local(module):
            return False
        # ``from impl import softmax``: a submodule, not a name
        sub = f"{module}.{name}"
        if self._is_local(sub) and (sub in self.graded_modules or self._module(sub)):
            info = self._module(module)
            if not info or name not in info[0]:
                return self._ref(sub, None, stack)
        return self._name(module, name, stack)

    def _name(self, module: str, name: str, stack: set) -> bool:
        key = (module, name)
        if key in self._memo:
            return self._memo[key]
        if key in stack:
            return False
        info = self._module(module)
        if info is None:
            return False
        defs, imports = info
        stack = stack | {key}
        if name in imports:
            result = self._ref(*imports[name], stack) if self._is_local(imports[name][0]) \
                else False
        elif name in defs:
            result = any(self._node(module, n, stack) for n in defs[name])
        else:
            result = False
        self._memo[key] = result
        return result

    def _node(self, module: str, node: ast.AST, stack: set) -> bool:
        info = self._module(module)
        if info is None:
            return False
        defs, imports = info
        bases = set()  # Name nodes that stand for a module in ``K.attr``: followed as K.attr
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and \
                    sub.value.id in imports:
                mod = self._module_alias(imports[sub.value.id])
                if mod is not None:
                    bases.add(id(sub.value))
                    if self._ref(mod, sub.attr, stack):
                        return True
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and \
                    id(sub) not in bases:
                if sub.id in imports or sub.id in defs:
                    if self._name(module, sub.id, stack):
                        return True
        return False

    def test_depends(self, item: pytest.Item) -> bool:
        """Does the test function (its decorators, helpers, fixtures of its file) reach a
        graded name? Unreadable source counts as depending (never deselect by mistake)."""
        fn = getattr(item, "function", None)
        module = getattr(getattr(item, "module", None), "__name__", None)
        if fn is None or module is None:
            return True
        info = self._module(module)
        if info is None:
            return True
        defs, _ = info
        nodes = list(defs.get(fn.__name__, []))
        cls = getattr(item, "cls", None)
        if cls is not None:
            nodes = list(defs.get(cls.__name__, []))
        if not nodes:
            return True
        if any(self._node(module, n, frozenset()) for n in nodes):
            return True
        return any(self._name(module, f, frozenset()) for f in getattr(item, "fixturenames", ())
                   if f in defs)


def _imports_graded(path: Path, graded_modules: set[str], seen: set[str] | None = None) -> bool:
    """Does the file import a graded module, directly or through the suite's own modules?"""
    seen = set() if seen is None else seen
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return True
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    for name in names:
        if name in graded_modules:
            return True
        if name in seen or name.split(".")[0] not in _Dependencies.LOCAL:
            continue
        seen.add(name)
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec and spec.origin and spec.origin.endswith(".py") and \
                _imports_graded(Path(spec.origin), graded_modules, seen):
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``--impl-select=dependent``, a test file that never imports a graded module
    (directly or through the suite's modules) is not even imported."""
    state = config.stash.get(_STATE_KEY, None)
    if not state or config.getoption("--impl-select") != "dependent":
        return None
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    graded_modules = {CONTRACTS[n].module for n in state["graded"]}
    if _imports_graded(collection_path, graded_modules):
        return None
    state["ignored_files"] = state.get("ignored_files", 0) + 1
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(_STATE_KEY, None)
    if not state:
        return
    names = {(CONTRACTS[n].module, k) for n in state["graded"] for k in CONTRACTS[n].names}
    deps = _Dependencies(names)
    select = config.getoption("--impl-select")
    depends = {item.nodeid: deps.test_depends(item) for item in items}
    state["depends"] = depends
    files = {item.path for item in items if depends[item.nodeid]}
    keep, conventions, independent = [], [], []
    for item in items:
        if (select == "dependent" and not depends[item.nodeid]) or (
                select == "files" and item.path not in files):
            independent.append(item)
        elif item.get_closest_marker("conventions") is not None:
            conventions.append(item)
        else:
            keep.append(item)
    if conventions or independent:
        config.hook.pytest_deselected(items=conventions + independent)
        items[:] = keep
    state["deselected"] = {"conventions": len(conventions), "independent": len(independent),
                           "select": select, "kept": len(keep)}


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    g = graded(config)
    return [f"grading {x.describe()}" for x in g.values()] or None


def pytest_report_collectionfinish(config: pytest.Config, start_path, startdir=None,
                                   items=()) -> list[str] | None:
    state = config.stash.get(_STATE_KEY, None)
    if not state or not state["deselected"]:
        return None
    return [_deselection_line(state)]


def _deselection_line(state: dict) -> str:
    d = state["deselected"]
    names = ", ".join(f"impl.{n}" for n in state["graded"])
    what = {"dependent": f"do not reach {names}", "files": f"are in files that never reach "
            f"{names}", "all": ""}[d["select"]]
    line = f"grading: {d['kept']} test(s) selected; deselected "
    if d["select"] != "all":
        line += f"{d['independent']} that {what} (--impl-select={d['select']}) and "
    if state.get("ignored_files"):
        line += f"the tests of {state['ignored_files']} file(s) that never import it and "
    return line + (f"{d['conventions']} 'conventions' test(s) (this project's own error "
                   f"wording, validation, private arguments)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    state = item.config.stash.get(_STATE_KEY, None)
    if state is None or call.when != "call":
        return
    kinds: set[str] = set()
    for mark in item.iter_markers("claim"):
        k = mark.kwargs.get("kind")
        kinds |= {k} if isinstance(k, str) else set(k or ())
    state["kinds"][item.nodeid] = kinds
    outcome.get_result()


# ------------------------------------------------------------- the claims report's part


def independent_of_impl(claim_kinds: Iterable[str]) -> bool:
    """True when the witness kinds that ran for a claim are symbolic only: such a claim does
    not depend on the implementation under test (it is never ``verified`` *for* it)."""
    kinds = set(claim_kinds)
    return bool(kinds) and kinds <= {"symbolic"}


def grading_header(config: pytest.Config) -> list[str]:
    """The lines the claims summary prints first under ``--impl`` (empty otherwise)."""
    state = config.stash.get(_STATE_KEY, None)
    if not state:
        return []
    lines = [f"graded: {g.describe()}" for g in state["graded"].values()]
    if state["deselected"]:
        lines.append(_deselection_line(state))
    lines.append(f"{INDEPENDENT}: {INDEPENDENT_MEANING} (its witnesses in this run are "
                 f"symbolic only or never reach the graded names)")
    lines.append("verified: every required witness kind other than symbolic passed against the "
                 "graded implementation (the sympy proofs do not depend on it)")
    return lines


def grading_status(config: pytest.Config, cid: str, nodeids: Iterable[str],
                   status: str | None) -> str | None:
    """The claim's status under ``--impl``: ``impl-independent`` in place of a passing status
    when none of its witnesses in this run reached the graded implementation (by reading
    their source) or every witness that ran is symbolic only; a failure stays a failure."""
    state = config.stash.get(_STATE_KEY, None)
    if not state or status in (None, "failed"):
        return status
    nodeids = list(nodeids)
    kinds = set().union(*(state["kinds"].get(n, set()) for n in nodeids)) if nodeids else set()
    touched = any(state["depends"].get(n, True) for n in nodeids)
    if not touched or independent_of_impl(kinds):
        return INDEPENDENT
    return status


def grading_json(config: pytest.Config) -> dict[str, Any] | None:
    """The ``--claims-json`` entry ``"_graded"`` under ``--impl`` (None otherwise)."""
    state = config.stash.get(_STATE_KEY, None)
    if not state:
        return None
    return {"implementations": [g.as_json() for g in state["graded"].values()],
            "deselected": state["deselected"],
            "statuses": {INDEPENDENT: INDEPENDENT_MEANING}}
