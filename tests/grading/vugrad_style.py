"""A small reverse-mode library in the style of the course library of
``003_6e09f081ee206780.txt`` (TensorNode, OpNode, Op with static ``forward``/``backward`` and
``do_forward``), written for this suite's grading tests. It is deliberately *not* shaped like
this suite's ``impl/autodiff.py``: the matrix product is ``MatrixMultiply``, ``Expand`` takes
``dim`` and ``size``, ``backward()`` starts only from a scalar, and gradients of intermediate
nodes accumulate over repeated calls. ``tests/grading/vugrad_adapter.py`` adapts it to the
contract ``autodiff`` (docs/grading.md).
"""

import numpy as np


class TensorNode:
    """A value in the graph: ``value``, ``grad`` (same shape), ``source`` (the OpNode that
    made it, None for a leaf)."""

    def __init__(self, value, source=None):
        self.value = value
        self.source = source
        self.grad = np.zeros_like(value)

    def backward(self):
        """Backpropagate from this node, which must be a scalar (gradient 1)."""
        if np.size(self.value) != 1:
            raise ValueError("backward() starts from a scalar node only")
        order, seen = [], set()

        def visit(node):
            if id(node) in seen:
                return
            seen.add(id(node))
            if node.source is not None:
                for parent in node.source.inputs:
                    visit(parent)
            order.append(node)

        visit(self)
        self.grad = self.grad + np.ones_like(self.value)
        for node in reversed(order):
            if node.source is not None:
                node.source.backward()

    def __add__(self, other):
        return Add.do_forward(self, other)

    def __sub__(self, other):
        return Subtract.do_forward(self, other)

    def __mul__(self, other):
        return Multiply.do_forward(self, other)

    def __truediv__(self, other):
        return Divide.do_forward(self, other)

    def __matmul__(self, other):
        return MatrixMultiply.do_forward(self, other)


class OpNode:
    """One application of an op: ``op`` (the Op class), ``context``, ``inputs``, ``outputs``."""

    def __init__(self, op, context, inputs):
        self.op, self.context, self.inputs, self.outputs = op, context, inputs, None

    def backward(self):
        ginputs = self.op.backward(self.context, self.outputs[0].grad)
        for node, g in zip(self.inputs, ginputs, strict=True):
            node.grad = node.grad + g


class Op:
    @classmethod
    def do_forward(cls, *inputs, **kwargs):
        context = {}
        raw = cls.forward(context, *[n.value for n in inputs], **kwargs)
        opnode = OpNode(cls, context, inputs)
        opnode.outputs = [TensorNode(np.asarray(raw), source=opnode)]
        return opnode.outputs[0]


class Add(Op):
    @staticmethod
    def forward(context, a, b):
        return a + b

    @staticmethod
    def backward(context, go):
        return go, go


class Subtract(Op):
    @staticmethod
    def forward(context, a, b):
        return a - b

    @staticmethod
    def backward(context, go):
        return go, -go


class Multiply(Op):
    @staticmethod
    def forward(context, a, b):
        context["a"], context["b"] = a, b
        return a * b

    @staticmethod
    def backward(context, go):
        return go * context["b"], go * context["a"]


class Divide(Op):
    @staticmethod
    def forward(context, a, b):
        context["a"], context["b"] = a, b
        return a / b

    @staticmethod
    def backward(context, go):
        a, b = context["a"], context["b"]
        return go / b, -go * a / (b * b)


class MatrixMultiply(Op):
    @staticmethod
    def forward(context, a, b):
        context["a"], context["b"] = a, b
        return a @ b

    @staticmethod
    def backward(context, go):
        return go @ context["b"].T, context["a"].T @ go


class Sigmoid(Op):
    @staticmethod
    def forward(context, x):
        s = 1 / (1 + np.exp(-x))
        context["s"] = s
        return s

    @staticmethod
    def backward(context, go):
        s = context["s"]
        return (go * s * (1 - s),)


class Tanh(Op):
    @staticmethod
    def forward(context, x):
        context["t"] = np.tanh(x)
        return context["t"]

    @staticmethod
    def backward(context, go):
        return (go * (1 - context["t"] ** 2),)


class Exp(Op):
    @staticmethod
    def forward(context, x):
        context["e"] = np.exp(x)
        return context["e"]

    @staticmethod
    def backward(context, go):
        return (go * context["e"],)


class Log(Op):
    @staticmethod
    def forward(context, x):
        context["x"] = x
        return np.log(x)

    @staticmethod
    def backward(context, go):
        return (go / context["x"],)


class ReLU(Op):
    @staticmethod
    def forward(context, x):
        context["positive"] = x > 0
        return np.where(context["positive"], x, 0).astype(x.dtype)

    @staticmethod
    def backward(context, go):
        return (go * context["positive"],)


class Expand(Op):
    """Repeat the singleton axis ``dim`` of x ``size`` times."""

    @staticmethod
    def forward(context, x, dim, size):
        context["dim"] = dim
        return np.repeat(x, size, axis=dim)

    @staticmethod
    def backward(context, go):
        return (go.sum(axis=context["dim"], keepdims=True),)


class Sum(Op):
    @staticmethod
    def forward(context, x):
        context["shape"] = x.shape
        return np.asarray(x.sum())

    @staticmethod
    def backward(context, go):
        return (np.full(context["shape"], go, dtype=go.dtype),)


class RowSum(Op):
    @staticmethod
    def forward(context, x):
        context["n"] = x.shape[1]
        return x.sum(axis=1, keepdims=True)

    @staticmethod
    def backward(context, go):
        return (np.repeat(go, context["n"], axis=1),)


class RowMax(Op):
    @staticmethod
    def forward(context, x):
        m = x.max(axis=1, keepdims=True)
        context["mask"] = x == m
        return m

    @staticmethod
    def backward(context, go):
        mask = context["mask"]
        return (go * mask / mask.sum(axis=1, keepdims=True),)


class Normalize(Op):
    @staticmethod
    def forward(context, x):
        s = x.sum(axis=1, keepdims=True)
        context["x"], context["s"] = x, s
        return x / s

    @staticmethod
    def backward(context, go):
        x, s = context["x"], context["s"]
        return (go / s - (go * x).sum(axis=1, keepdims=True) / (s * s),)


class LogSoftmax(Op):
    @staticmethod
    def forward(context, x):
        shifted = x - x.max(axis=1, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        context["out"] = out
        return out

    @staticmethod
    def backward(context, go):
        return (go - np.exp(context["out"]) * go.sum(axis=1, keepdims=True),)


def logsoftmax(x):
    """Row log-softmax composed of ops: (x − max) − log Σ exp(x − max)."""
    n = x.value.shape[1]
    shifted = x - Expand.do_forward(RowMax.do_forward(x), dim=1, size=n)
    lse = Log.do_forward(RowSum.do_forward(Exp.do_forward(shifted)))
    return shifted - Expand.do_forward(lse, dim=1, size=n)


class Linear:
    """x W + b with W (in, out), b (1, out)."""

    def __init__(self, input_size, output_size, rng):
        self.w = TensorNode(rng.normal(0, 1 / np.sqrt(input_size), (input_size, output_size)))
        self.b = TensorNode(np.zeros((1, output_size)))

    def __call__(self, x):
        n = x.value.shape[0]
        return x @ self.w + Expand.do_forward(self.b, dim=0, size=n)

    def parameters(self):
        return [self.w, self.b]


class MLP:
    """The course's MLP with the residual option of 003 Q10: sigmoid hidden layers, output
    log-softmax."""

    def __init__(self, input_size, output_size, residual=False, hidden_mult=4, rng=None):
        rng = np.random.default_rng(0) if rng is None else rng
        hidden = hidden_mult * input_size
        self.layer1 = Linear(input_size, hidden, rng)
        self.layer2 = Linear(hidden, hidden, rng)
        self.layer3 = Linear(hidden, output_size, rng)
        self.residual = residual

    def forward(self, x):
        h1 = Sigmoid.do_forward(self.layer1(x))
        h2 = Sigmoid.do_forward(self.layer2(h1))
        if self.residual:
            h2 = h2 + h1
        return LogSoftmax.do_forward(self.layer3(h2))

    def parameters(self):
        return self.layer1.parameters() + self.layer2.parameters() + self.layer3.parameters()
