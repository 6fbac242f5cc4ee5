r"""A small reverse-mode autodiff library in numpy, after vugrad (``003_6e09f081ee206780.txt``).

* ``TensorNode``: a value (numpy float array), its ``grad`` (same shape, zero until a
  backward pass reaches it) and its ``source``, the ``OpNode`` that produced it (``None`` for
  a leaf: an input or a parameter).
* ``OpNode``: one application of an op: ``op`` (the ``Op`` subclass), ``context`` (what
  forward saved for backward), ``inputs`` and ``outputs`` (TensorNodes).
* ``Op``: static ``forward(context, *inputs, **kwargs)`` on raw arrays and
  ``backward(context, goutput)`` returning one gradient per input;
  ``Op.do_forward(*nodes, **kwargs)`` runs forward and wires the graph (seed Q3: the OpNode
  is created with its inputs, and connected to its outputs once they exist).

Backward (``TensorNode.backward``) visits the OpNodes in reverse topological order, so every
node's gradient is complete (summed over all the ops that use it: a diamond, ``a + a``, a
residual connection) before its own source op runs; each op *adds* its contribution to its
inputs' ``grad`` (the multivariate chain rule; seed Q5 4 and Q7). This is the seed's
"visits == numparents" rule, done with an explicit ordering. Leaves accumulate over
successive backward calls, as in torch (``zero_grad`` clears them); intermediate nodes are
reset at the start of each call.

ReLU at the kink: the gradient at exactly 0 is 0 (the seed's ``np.where(input > 0, 1, 0)``,
and torch's convention), a subgradient of max(x, 0) there. RowMax on ties routes the
gradient to the first maximal entry (also a subgradient).

The backward formulas are written by hand next to their forwards; nothing here calls an
autograd engine.

NaN and inf propagate through every op as they do in numpy and torch (ReLU included:
ReLU(NaN) = NaN, and its backward passes the upstream gradient there, as torch's); an op
refuses only what its formula cannot evaluate (Log of x ≤ 0, Divide by 0, Normalize of a
zero row) and inputs of the wrong kind, dtype or shape, with the op and the argument named.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from impl._validate import require_int

__all__ = [
    "Add", "Divide", "Exp", "Expand", "Linear", "Log", "LogSoftmax", "MatMul", "Multiply",
    "Normalize", "Op", "OpNode", "ReLU", "ResidualMLP", "RowMax", "RowSum", "Sigmoid", "Subtract",
    "Sum", "Tanh", "TensorNode", "cross_entropy", "log_softmax",
]

_FLOATS = (np.float32, np.float64)


def _as_value(value: Any, name: str = "value") -> np.ndarray:
    if isinstance(value, float):
        return np.asarray(value, dtype=np.float64)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (or a Python float), got "
                        f"{type(value).__name__}")
    if value.dtype not in _FLOATS:
        raise TypeError(f"{name} must be float32 or float64, got {value.dtype}")
    return value


def _same_shape(op: str, a: np.ndarray, b: np.ndarray, names: tuple[str, str] = ("a", "b")
                ) -> None:
    na, nb = names
    if a.shape != b.shape:
        raise ValueError(f"{op}: input {na} has shape {a.shape} but input {nb} has shape "
                         f"{b.shape}; this op needs equal shapes")
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: inputs {na} and {nb} must share a dtype, got {a.dtype} and "
                        f"{b.dtype}")


def _rng(rng: Any) -> None:
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")


def _node_matrix(fn: str, name: str, x: Any) -> None:
    if not isinstance(x, TensorNode):
        raise TypeError(f"{fn}: {name} must be a TensorNode, got {type(x).__name__}")
    if x.value.ndim != 2 or 0 in x.shape:
        raise ValueError(f"{fn}: {name} must be a non-empty 2-D node (rows, classes), got "
                         f"shape {x.shape}")


def _matrix(op: str, name: str, x: np.ndarray) -> None:
    if x.ndim != 2:
        raise ValueError(f"{op}: {name} must be 2-D (rows, columns), got shape {x.shape}")


# ------------------------------------------------------------------------------ the graph


class TensorNode:
    """A value in the computation graph, with its gradient and the OpNode that made it."""

    def __init__(self, value: Any, source: OpNode | None = None) -> None:
        self.value = _as_value(value)
        self.source = source
        self.grad = np.zeros_like(self.value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    def __repr__(self) -> str:
        op = self.source.op.__name__ if self.source is not None else None
        return f"TensorNode(shape={self.shape}, source={op})"

    # Operators, so that graphs read like the mathematics (seed Q5: c = a + b).
    def __add__(self, other: TensorNode) -> TensorNode:
        return Add.do_forward(self, other)

    def __sub__(self, other: TensorNode) -> TensorNode:
        return Subtract.do_forward(self, other)

    def __mul__(self, other: TensorNode) -> TensorNode:
        return Multiply.do_forward(self, other)

    def __truediv__(self, other: TensorNode) -> TensorNode:
        return Divide.do_forward(self, other)

    def __matmul__(self, other: TensorNode) -> TensorNode:
        return MatMul.do_forward(self, other)

    def zero_grad(self) -> None:
        """Zero the gradient of this node and of every node below it."""
        for node in self._nodes():
            node.grad = np.zeros_like(node.value)

    def _op_nodes(self) -> list[OpNode]:
        """The OpNodes below this node in topological order (each after all its inputs')."""
        order: list[OpNode] = []
        seen: set[int] = set()
        if self.source is None:
            return order
        stack: list[tuple[OpNode, bool]] = [(self.source, False)]
        while stack:
            opnode, expanded = stack.pop()
            if expanded:
                order.append(opnode)
                continue
            if id(opnode) in seen:
                continue
            seen.add(id(opnode))
            stack.append((opnode, True))
            for node in opnode.inputs:
                if node.source is not None and id(node.source) not in seen:
                    stack.append((node.source, False))
        return order

    def _nodes(self) -> list[TensorNode]:
        nodes = {id(self): self}
        for opnode in self._op_nodes():
            for node in (*opnode.inputs, *opnode.outputs):
                nodes[id(node)] = node
        return list(nodes.values())

    def backward(self, goutput: Any = None) -> None:
        """Backpropagate from this node.

        Without ``goutput`` the node must hold a single number (a loss) and its gradient is
        seeded with 1; otherwise ``goutput`` is ∂L/∂(this node), of this node's shape.
        """
        if goutput is None:
            if self.value.size != 1:
                raise ValueError(
                    f"backward() without an output gradient needs a scalar node (one element), "
                    f"but this node has shape {self.shape}; pass goutput of shape {self.shape}")
            seed = np.ones_like(self.value)
        else:
            seed = _as_value(goutput, "goutput")
            if seed.shape != self.shape:
                raise ValueError(f"goutput has shape {seed.shape} but the node has shape "
                                 f"{self.shape}")
            seed = seed.astype(self.value.dtype, copy=True)
        order = self._op_nodes()
        for opnode in order:  # intermediate gradients start from zero on every call
            for node in opnode.outputs:
                node.grad = np.zeros_like(node.value)
        self.grad = seed
        for opnode in reversed(order):
            opnode.backward()


class OpNode:
    """One application of an op: the op, its saved context, its input and output nodes."""

    def __init__(self, op: type[Op], context: dict, inputs: tuple[TensorNode, ...]) -> None:
        if not (isinstance(op, type) and issubclass(op, Op)):
            raise TypeError(f"op must be an Op subclass, got {op!r}")
        if not isinstance(context, dict):
            raise TypeError(f"context must be a dict, got {type(context).__name__}")
        if not isinstance(inputs, tuple) or not all(isinstance(n, TensorNode) for n in inputs):
            raise TypeError(f"inputs must be a tuple of TensorNodes, got {inputs!r}")
        self.op = op
        self.context = context
        self.inputs = inputs
        self.outputs: list[TensorNode] | None = None  # set by Op.do_forward (seed Q3)

    def backward(self) -> None:
        """Add this op's gradient contributions to its inputs' ``grad``."""
        goutputs = [output.grad for output in self.outputs]
        ginputs = self.op.backward(self.context, *goutputs)
        if not isinstance(ginputs, tuple):
            ginputs = (ginputs,)
        if len(ginputs) != len(self.inputs):
            raise RuntimeError(f"{self.op.__name__}.backward returned {len(ginputs)} gradients "
                               f"for {len(self.inputs)} inputs")
        for k, (node, grad) in enumerate(zip(self.inputs, ginputs, strict=True)):
            if grad.shape != node.shape:
                raise RuntimeError(f"{self.op.__name__}.backward: gradient {k} has shape "
                                   f"{grad.shape}, its input has shape {node.shape}")
            node.grad = node.grad + grad  # accumulate over every path


class Op:
    """An operation: static ``forward``/``backward`` on raw arrays; never instantiated.

    Every subclass's ``forward`` and ``backward`` are wrapped once (``__init_subclass__``) so
    that, called directly as the graph calls them, they check their arguments like the rest
    of the library: each input a float32/float64 numpy array (named as in the signature),
    ``goutput`` one of the output's shape and dtype.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in vars(cls):
            cls.forward = staticmethod(_checked_forward(cls.__name__, vars(cls)["forward"]))
        if "backward" in vars(cls):
            cls.backward = staticmethod(_checked_backward(cls.__name__, vars(cls)["backward"]))

    @classmethod
    def do_forward(cls, *inputs: TensorNode, **kwargs: Any) -> TensorNode | list[TensorNode]:
        """Run ``forward`` on the inputs' values and wire the result into the graph."""
        if cls is Op:
            raise TypeError("Op is the abstract base: call do_forward on an op (Add, MatMul, …)")
        for k, node in enumerate(inputs):
            if not isinstance(node, TensorNode):
                raise TypeError(f"{cls.__name__}: input {k} must be a TensorNode, got "
                                f"{type(node).__name__}")
        context: dict = {}
        raw = cls.forward(context, *[node.value for node in inputs], **kwargs)
        if not isinstance(raw, tuple):
            raw = (raw,)
        opnode = OpNode(cls, context, inputs)
        outputs = [TensorNode(np.asarray(value), source=opnode) for value in raw]
        opnode.outputs = outputs
        return outputs[0] if len(outputs) == 1 else outputs

    @staticmethod
    def forward(context: dict, *inputs: np.ndarray, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(context: dict, goutput: np.ndarray) -> Any:
        raise NotImplementedError


def _checked_forward(op: str, forward: Any) -> Any:
    fn = forward.__func__ if isinstance(forward, staticmethod) else forward
    names = [p.name for p in inspect.signature(fn).parameters.values()
             if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD][1:]  # after context

    @functools.wraps(fn)
    def checked(context: dict, *inputs: Any, **kwargs: Any) -> Any:
        if not isinstance(context, dict):
            raise TypeError(f"{op}.forward: context must be a dict, got {type(context).__name__}")
        if len(inputs) != len(names):
            raise TypeError(f"{op}.forward takes {len(names)} input(s) {names}, got "
                            f"{len(inputs)}")
        arrays = [_as_value(v, f"{op}: {n}") for n, v in zip(names, inputs, strict=True)]
        out = fn(context, *arrays, **kwargs)
        first = out[0] if isinstance(out, tuple) else out
        context["_out"] = (np.shape(first), np.asarray(first).dtype)
        return out
    return checked


def _checked_backward(op: str, backward: Any) -> Any:
    fn = backward.__func__ if isinstance(backward, staticmethod) else backward

    @functools.wraps(fn)
    def checked(context: dict, goutput: Any) -> Any:
        if not isinstance(context, dict) or "_out" not in context:
            raise ValueError(f"{op}.backward needs the context its forward filled")
        goutput = _as_value(goutput, f"{op}: goutput")
        shape, dtype = context["_out"]
        if goutput.shape != shape:
            raise ValueError(f"{op}: goutput has shape {goutput.shape} but the output has "
                             f"shape {shape}")
        if goutput.dtype != dtype:
            raise TypeError(f"{op}: goutput must have the output's dtype {dtype}, got "
                            f"{goutput.dtype}")
        return fn(context, goutput)
    return checked


# ------------------------------------------------------------------ element-wise binary ops


class Add(Op):
    """Z = A + B; ∇A = ∇Z, ∇B = ∇Z."""

    @staticmethod
    def forward(context, a, b):
        _same_shape("Add", a, b)
        return a + b

    @staticmethod
    def backward(context, go):
        return go, go


class Subtract(Op):
    """Z = A − B; ∇A = ∇Z, ∇B = −∇Z."""

    @staticmethod
    def forward(context, a, b):
        _same_shape("Subtract", a, b)
        return a - b

    @staticmethod
    def backward(context, go):
        return go, -go


class Multiply(Op):
    """Z = A ⊙ B; ∇A = ∇Z ⊙ B, ∇B = ∇Z ⊙ A."""

    @staticmethod
    def forward(context, a, b):
        _same_shape("Multiply", a, b)
        context["a"], context["b"] = a, b
        return a * b

    @staticmethod
    def backward(context, go):
        return go * context["b"], go * context["a"]


class Divide(Op):
    r"""Z = X / Y element-wise; ∇X = ∇Z ⊙ 1/Y, ∇Y = −∇Z ⊙ X/Y² (seed Q1). Y must be nonzero."""

    @staticmethod
    def forward(context, x, y):
        _same_shape("Divide", x, y, ("x", "y"))
        if (y == 0).any():
            raise ValueError("Divide: the divisor y has zero entries")
        context["x"], context["y"] = x, y
        return x / y

    @staticmethod
    def backward(context, go):
        x, y = context["x"], context["y"]
        return go / y, -go * x / (y * y)


# ------------------------------------------------------------------ element-wise functions
# Y = f(X), ∇X = ∇Y ⊙ f′(X) (seed Q2), f′ written from the saved input or output.


class Sigmoid(Op):
    """σ(x) = 1/(1 + e^{−x}), computed without overflow; σ′ = σ(1 − σ)."""

    @staticmethod
    def forward(context, x):
        e = np.exp(-np.abs(x))  # ≤ 1: no overflow for any finite x
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        context["y"] = y
        return y

    @staticmethod
    def backward(context, go):
        y = context["y"]
        return go * y * (1 - y)


class Tanh(Op):
    """tanh′ = 1 − tanh²."""

    @staticmethod
    def forward(context, x):
        context["y"] = np.tanh(x)
        return context["y"]

    @staticmethod
    def backward(context, go):
        y = context["y"]
        return go * (1 - y * y)


class Exp(Op):
    """exp′ = exp."""

    @staticmethod
    def forward(context, x):
        context["y"] = np.exp(x)
        return context["y"]

    @staticmethod
    def backward(context, go):
        return go * context["y"]


class Log(Op):
    """log′ = 1/x; the domain is x > 0."""

    @staticmethod
    def forward(context, x):
        if (x <= 0).any():
            raise ValueError(f"Log: x must be positive, got min {x.min()!r}")
        context["x"] = x
        return np.log(x)

    @staticmethod
    def backward(context, go):
        return go / context["x"]


class ReLU(Op):
    """max(x, 0); ∇X = ∇Y ⊙ [X > 0], so the gradient at the kink x = 0 is 0 (seed Q9)."""

    @staticmethod
    def forward(context, x):
        context["positive"] = ~(x <= 0)  # torch's threshold_backward: NaN passes the gradient
        return np.maximum(x, np.zeros_like(x))  # np.maximum propagates NaN (np.where did not)

    @staticmethod
    def backward(context, go):
        return go * context["positive"]


# ---------------------------------------------------------------------- matrix operations


class MatMul(Op):
    """Y = XW with X n×f and W f×m; ∇X = ∇Y Wᵀ, ∇W = Xᵀ ∇Y (seed Q3)."""

    @staticmethod
    def forward(context, x, w):
        _matrix("MatMul", "x", x)
        _matrix("MatMul", "w", w)
        if x.shape[1] != w.shape[0]:
            raise ValueError(f"MatMul: x has shape {x.shape} and w has shape {w.shape}; the "
                             f"columns of x must equal the rows of w")
        if x.dtype != w.dtype:
            raise TypeError(f"MatMul: inputs x and w must share a dtype, got {x.dtype} and "
                            f"{w.dtype}")
        context["x"], context["w"] = x, w
        return x @ w

    @staticmethod
    def backward(context, go):
        x, w = context["x"], context["w"]
        return go @ w.T, x.T @ go


class Expand(Op):
    """Repeat a singleton axis: x (n×1) → Y = [x, …, x] (n×k) for ``dim=1`` (seed Q4), or a
    row (1×m) → k identical rows for ``dim=0`` (a bias over a batch).

    ∇x = Σ over the repeated axis of ∇Y (the row sum for ``dim=1``), not ∇Y itself.
    """

    @staticmethod
    def forward(context, x, *, repeats: int, dim: int = 1):
        _matrix("Expand", "x", x)
        if dim not in (0, 1) or x.shape[dim] != 1:
            raise ValueError(f"Expand: x must have a singleton axis dim={dim}, got shape "
                             f"{x.shape}")
        if not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"Expand: repeats must be a positive int, got {repeats!r}")
        context["dim"] = dim
        return np.repeat(x, repeats, axis=dim)

    @staticmethod
    def backward(context, go):
        return go.sum(axis=context["dim"], keepdims=True)


class Sum(Op):
    """s = Σ_ij X_ij (a 0-d array); ∇X = ∇s · 1."""

    @staticmethod
    def forward(context, x):
        context["shape"] = x.shape
        return np.asarray(x.sum())

    @staticmethod
    def backward(context, go):
        return np.full(context["shape"], go, dtype=go.dtype)


class RowSum(Op):
    """y_i = Σ_j X_ij (a column n×1); ∇X_ij = ∇y_i."""

    @staticmethod
    def forward(context, x):
        _matrix("RowSum", "x", x)
        context["cols"] = x.shape[1]
        return x.sum(axis=1, keepdims=True)

    @staticmethod
    def backward(context, go):
        return np.repeat(go, context["cols"], axis=1)


class RowMax(Op):
    """y_i = max_j X_ij (a column n×1); ∇X_ij = ∇y_i at the first argmax of row i, else 0."""

    @staticmethod
    def forward(context, x):
        _matrix("RowMax", "x", x)
        idx = np.argmax(x, axis=1)  # first maximal entry on ties
        context["shape"], context["idx"] = x.shape, idx
        return x[np.arange(x.shape[0]), idx][:, None]

    @staticmethod
    def backward(context, go):
        g = np.zeros(context["shape"], dtype=go.dtype)
        g[np.arange(g.shape[0]), context["idx"]] = go[:, 0]
        return g


class Normalize(Op):
    """Y = X / s row-wise, s the row sums (inputs positive);
    ∇X = ∇Y/s − rowsum(∇Y ⊙ X/s²) (seed Q8)."""

    @staticmethod
    def forward(context, x):
        _matrix("Normalize", "x", x)
        s = x.sum(axis=1, keepdims=True)
        if (s == 0).any():
            raise ValueError("Normalize: a row of x sums to zero")
        context["x"], context["s"] = x, s
        return x / s

    @staticmethod
    def backward(context, go):
        x, s = context["x"], context["s"]
        return go / s - (go * x / (s * s)).sum(axis=1, keepdims=True)


class LogSoftmax(Op):
    """Y = X − log Σ_j exp X_ij per row (max subtracted first);
    ∇X = ∇Y − softmax(X) ⊙ rowsum(∇Y)."""

    @staticmethod
    def forward(context, x):
        _matrix("LogSoftmax", "x", x)
        shifted = x - x.max(axis=1, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        context["y"] = y
        return y

    @staticmethod
    def backward(context, go):
        return go - np.exp(context["y"]) * go.sum(axis=1, keepdims=True)


# ------------------------------------------------------------- functions composed of ops


def log_softmax(x: TensorNode) -> TensorNode:
    """Log-softmax composed of ops (as vugrad's ``logsoftmax``): x − m − log Σ exp(x − m)
    with m the row max. x feeds both the subtraction and the row max: its gradient is the
    sum over both paths (the path through m contributes zero, up to rounding)."""
    _node_matrix("log_softmax", "x", x)
    cols = x.shape[1]
    m = Expand.do_forward(RowMax.do_forward(x), repeats=cols)
    shifted = x - m
    lse = Log.do_forward(RowSum.do_forward(Exp.do_forward(shifted)))
    return shifted - Expand.do_forward(lse, repeats=cols)


def cross_entropy(log_probs: TensorNode, targets: np.ndarray) -> TensorNode:
    """L = −(1/N) Σ_ij T_ij log p_ij from ops (Multiply, Sum, Multiply by a constant).

    ``targets`` (N, C): rows that are distributions (one-hot or soft); a constant, not a
    parameter."""
    _node_matrix("cross_entropy", "log_probs", log_probs)
    t = _as_value(targets, "targets")
    if t.dtype != log_probs.value.dtype:
        raise TypeError(f"cross_entropy: targets and log_probs must share a dtype, got "
                        f"{t.dtype} and {log_probs.value.dtype}")
    if t.shape != log_probs.shape:
        raise ValueError(f"cross_entropy: targets have shape {t.shape} but log_probs have "
                         f"shape {log_probs.shape}")
    scale = TensorNode(np.asarray(-1.0 / t.shape[0], dtype=t.dtype))
    return Sum.do_forward(TensorNode(t) * log_probs) * scale


class Linear:
    """y = xW + b with W (in, out) and b (1, out) as leaf TensorNodes (parameters);
    W ~ U(−1/√in, 1/√in) (the bound of torch's ``nn.Linear``), b = 0."""

    def __init__(self, in_features: int, out_features: int, *,
                 rng: np.random.Generator | None = None) -> None:
        require_int("in_features", in_features, low=1)
        require_int("out_features", out_features, low=1)
        _rng(rng)
        rng = rng if rng is not None else np.random.default_rng()
        scale = 1 / np.sqrt(in_features)
        self.weight = TensorNode(rng.uniform(-scale, scale, (in_features, out_features)))
        self.bias = TensorNode(np.zeros((1, out_features)))

    def __call__(self, x: TensorNode) -> TensorNode:
        if not isinstance(x, TensorNode):
            raise TypeError(f"Linear: x must be a TensorNode, got {type(x).__name__}")
        if x.value.ndim != 2 or x.shape[1] != self.weight.shape[0]:
            raise ValueError(f"Linear: input x has shape {x.shape}, but the weight has shape "
                             f"{self.weight.shape}: x must be (N, {self.weight.shape[0]})")
        return x @ self.weight + Expand.do_forward(self.bias, repeats=x.shape[0], dim=0)

    def parameters(self) -> list[TensorNode]:
        return [self.weight, self.bias]


class ResidualMLP:
    """Seed Q10: h₁ = σ(layer1(x)); h₂ = σ(layer2(h₁)) (+ h₁ if residual);
    output = log-softmax(layer3(h₂)). Hidden width = hidden_mult × input_size."""

    def __init__(self, input_size: int, output_size: int, residual: bool, hidden_mult: int = 4,
                 *, rng: np.random.Generator | None = None) -> None:
        require_int("input_size", input_size, low=1)
        require_int("output_size", output_size, low=1)
        require_int("hidden_mult", hidden_mult, low=1)
        if not isinstance(residual, bool | np.bool_):
            raise TypeError(f"residual must be a bool, got {type(residual).__name__}")
        _rng(rng)
        hidden = hidden_mult * input_size
        self.layer1 = Linear(input_size, hidden, rng=rng)
        self.layer2 = Linear(hidden, hidden, rng=rng)
        self.layer3 = Linear(hidden, output_size, rng=rng)
        self.residual = residual

    def __call__(self, x: TensorNode) -> TensorNode:
        h1 = Sigmoid.do_forward(self.layer1(x))
        h2 = Sigmoid.do_forward(self.layer2(h1))
        if self.residual:
            h2 = h2 + h1
        return log_softmax(self.layer3(h2))

    def parameters(self) -> list[TensorNode]:
        return self.layer1.parameters() + self.layer2.parameters() + self.layer3.parameters()
