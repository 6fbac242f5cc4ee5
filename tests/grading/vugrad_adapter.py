"""Adapter: the vugrad-style library ``vugrad_style.py`` presented as the contract ``autodiff``
(docs/grading.md, "The autodiff adapter protocol"). Grade it with

    pytest --impl autodiff=tests/grading/vugrad_adapter.py

The library differs from the contract in three ways, and this file bridges each:

* names and signatures: ``MatrixMultiply`` behind ``@``; ``Expand.do_forward(x, dim, size)``
  for the contract's ``Expand.do_forward(x, repeats=k, dim=1)``; ``MLP(d, out, residual,
  hidden_mult)`` for ``ResidualMLP``; ``logsoftmax`` for ``log_softmax``;
* ``backward()`` only from a scalar: ``node.backward(u)`` backpropagates the scalar
  ⟨u, node⟩ = Sum(node ⊙ u), whose gradient with respect to the node is u;
* ``cross_entropy`` is written here from the library's ops.

Every node the tests see is a thin view (``TensorNode``) of a library node; one view per
library node, so identities (``c.source.inputs[0] is a``) hold.
"""

import numpy as np
import vugrad_style as lib  # the target's directory is on sys.path while it is imported


def _wrap(node):
    view = getattr(node, "_contract_view", None)
    return view if view is not None else TensorNode(_node=node)


class TensorNode:
    def __init__(self, value=None, *, _node=None):
        self._node = lib.TensorNode(value) if _node is None else _node
        self._node._contract_view = self

    value = property(lambda self: self._node.value,
                     lambda self, v: setattr(self._node, "value", v))
    grad = property(lambda self: self._node.grad)
    shape = property(lambda self: self._node.value.shape)

    @property
    def source(self):
        return None if self._node.source is None else OpNode(self._node.source)

    def backward(self, goutput=None):
        if goutput is None:
            self._node.backward()
            return
        u = lib.TensorNode(np.asarray(goutput, dtype=self._node.value.dtype))
        lib.Sum.do_forward(lib.Multiply.do_forward(self._node, u)).backward()

    def __add__(self, other):
        return Add.do_forward(self, other)

    def __sub__(self, other):
        return _wrap(self._node - other._node)

    def __mul__(self, other):
        return _wrap(self._node * other._node)

    def __truediv__(self, other):
        return _wrap(self._node / other._node)

    def __matmul__(self, other):
        return _wrap(self._node @ other._node)


class OpNode:
    """A view of the library's OpNode with the contract's op classes and node views."""

    def __init__(self, opnode):
        self.op = _OPS.get(opnode.op, opnode.op)
        self.inputs = [_wrap(n) for n in opnode.inputs]
        self.outputs = [_wrap(n) for n in opnode.outputs]


def _op(lib_op):
    class Op:
        @staticmethod
        def do_forward(*nodes):
            return _wrap(lib_op.do_forward(*(n._node for n in nodes)))

    Op.__name__ = Op.__qualname__ = lib_op.__name__
    return Op


Add, Sigmoid, Tanh, Exp, Log, ReLU, Sum, RowSum, RowMax, Normalize, LogSoftmax = (
    _op(o) for o in (lib.Add, lib.Sigmoid, lib.Tanh, lib.Exp, lib.Log, lib.ReLU, lib.Sum,
                     lib.RowSum, lib.RowMax, lib.Normalize, lib.LogSoftmax))
MatMul = _op(lib.MatrixMultiply)


class Expand:
    @staticmethod
    def do_forward(x, repeats, dim=1):
        return _wrap(lib.Expand.do_forward(x._node, dim=dim, size=repeats))


_OPS = {lib.Add: Add, lib.Sigmoid: Sigmoid, lib.Tanh: Tanh, lib.Exp: Exp, lib.Log: Log,
        lib.ReLU: ReLU, lib.Sum: Sum, lib.RowSum: RowSum, lib.RowMax: RowMax,
        lib.Normalize: Normalize, lib.LogSoftmax: LogSoftmax, lib.MatrixMultiply: MatMul,
        lib.Expand: Expand}


def log_softmax(x):
    return _wrap(lib.logsoftmax(x._node))


def cross_entropy(log_probs, targets):
    """−(1/N) Σ T ⊙ log_probs from the library's Multiply and Sum."""
    lp = log_probs._node
    weights = lib.TensorNode(np.asarray(-targets / lp.value.shape[0], dtype=lp.value.dtype))
    return _wrap(lib.Sum.do_forward(lib.Multiply.do_forward(lp, weights)))


class ResidualMLP:
    def __init__(self, input_size, output_size, residual, hidden_mult, rng=None):
        self._mlp = lib.MLP(input_size, output_size, residual, hidden_mult, rng=rng)

    def __call__(self, x):
        return _wrap(self._mlp.forward(x._node))

    def parameters(self):
        return [_wrap(p) for p in self._mlp.parameters()]
