"""Error-input entries of impl/autodiff.py: each op through do_forward and backward."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from impl import autodiff as A
from tests.error_inputs import TYPE, VALUE, Arr, Bad, Entry, Num, draw_array

NP = Arr(kind="numpy", nan="propagate")


def _mat(data, lo=-2.0, hi=2.0):
    n, m = data.draw(st.integers(1, 3), label="rows"), data.draw(st.integers(1, 3), label="cols")
    return n, m, lambda lo=lo, hi=hi: draw_array(data, (n, m), lo=lo, hi=hi)


def _unary(lo=-2.0, hi=2.0):
    def draw(data):
        _, _, m = _mat(data, lo, hi)
        return {"x": m(), "goutput": m()}
    return draw


def _binary(lo=-2.0, hi=2.0):
    def draw(data):
        _, _, m = _mat(data)
        return {"a": m(), "b": draw_array(data, m().shape, lo=lo, hi=hi), "goutput": m()}
    return draw


def _renamed(draw):
    def renamed(data):
        a = draw(data)
        return {"x": a["a"], "y": a["b"], "goutput": a["goutput"]}
    return renamed


def _run(op, names, **kwargs):
    """(forward value, gradients of ⟨goutput, op(inputs)⟩ for every input)."""
    def call(a):
        nodes = [A.TensorNode(a[n]) if isinstance(a[n], np.ndarray | float) else a[n]
                 for n in names]
        y = op.do_forward(*nodes, **kwargs)
        y.backward(a["goutput"])
        return y.value, [n.grad for n in nodes]
    return call


def _forward_only(op, names, **kwargs):
    def call(a):
        nodes = [A.TensorNode(a[n]) if isinstance(a[n], np.ndarray | float) else a[n]
                 for n in names]
        return op.do_forward(*nodes, **kwargs).value
    return call


def _backward(op, names, **kwargs):
    """op.backward(context, goutput) as the graph calls it, after forward filled the context."""
    def call(a):
        context: dict = {}
        op.forward(context, *[a[n] for n in names], **kwargs)
        return op.backward(context, a["goutput"])
    return call


NODE = [Bad("input: a raw array, not a node", ("x",), lambda v, s: v, TYPE, "input 0")]


def _node_input(entry_names):
    """Through do_forward a raw value is not a node ("input k must be a TensorNode"); a dtype
    mix is named by the forward's parameter names; both are accepted as naming the input."""
    return {(n,): Arr(kind="numpy", nan="propagate", rank=False, empty="skip",
                      label=rf"re:input {k}\b|(?<![\w]){n}(?![\w])|^value must")
            for k, n in enumerate(entry_names)}


def _raw_input(entry_names):
    return {(n,): Arr(kind="numpy", nan="propagate", rank=False, empty="skip")
            for n in entry_names}


BINARY_SHAPES = [Bad("b: another shape", ("b",), lambda v, s: np.concatenate([v, v]), VALUE,
                     "b"),
                 Bad("b: another dtype", ("b",), lambda v, s: v.astype(np.float32), TYPE, "b")]


def _op_entries(name, op, names, draw, *, bad=(), forward_bad=(), **kwargs):
    entries = [
        Entry(f"autodiff.{name}", draw, _run(op, names, **kwargs), _node_input(names),
              list(bad), kinds=False, f32=False),
        Entry(f"autodiff.{name}.do_forward", draw, _forward_only(op, names, **kwargs),
              _node_input(names), list(bad) + list(forward_bad), kinds=False, f32=False),
        Entry(f"autodiff.{name}.forward", draw, lambda a: op.forward({}, *[a[n] for n in names],
                                                                     **kwargs),
              _raw_input(names), list(bad), kinds=False, f32=False),
        Entry(f"autodiff.{name}.backward", draw, _backward(op, names, **kwargs),
              {("goutput",): Arr(kind="numpy", nan="skip", mix=False)},
              [], kinds=False, f32=False),
    ]
    return entries


MATRIX = [Bad("x: a vector", ("x",), lambda v, s: v[0], VALUE, "x")]


def _matmul(data):
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    return {"x": draw_array(data, (n, k)), "w": draw_array(data, (k, m)),
            "goutput": draw_array(data, (n, m))}


def _expand(data):
    n = data.draw(st.integers(1, 3))
    return {"x": draw_array(data, (n, 1)), "goutput": draw_array(data, (n, 3))}


def _sum(data):
    _, _, m = _mat(data)
    return {"x": m(), "goutput": np.asarray(data.draw(st.floats(-2, 2)))}


def _rowreduce(data):
    n, _, m = _mat(data)
    return {"x": m(), "goutput": draw_array(data, (n, 1))}


def _positive_rows(data):
    _, _, m = _mat(data, 0.1, 2.0)
    return {"x": m(), "goutput": m()}


def _graph(data):
    n, m, mk = _mat(data)
    return {"x": mk(), "targets": np.eye(m)[np.arange(n) % m], "goutput": mk()}


def _ce(a):
    x = A.TensorNode(a["x"])
    loss = A.cross_entropy(A.log_softmax(x), a["targets"])
    loss.backward()
    return loss.value, x.grad


def _linear(data):
    n, i, o = (data.draw(st.integers(1, 3)) for _ in range(3))
    return {"in_features": i, "out_features": o, "x": draw_array(data, (n, i)),
            "seed": data.draw(st.integers(0, 100))}


def _linear_call(a):
    lin = A.Linear(a["in_features"], a["out_features"], rng=np.random.default_rng(a["seed"]))
    x = A.TensorNode(a["x"])
    y = lin(x)
    y.backward(np.ones(y.shape))
    return y.value, x.grad, [p.grad for p in lin.parameters()]


def _mlp(data):
    n, i, o = (data.draw(st.integers(1, 3)) for _ in range(3))
    return {"input_size": i, "output_size": o, "hidden_mult": data.draw(st.integers(1, 2)),
            "residual": data.draw(st.booleans()), "x": draw_array(data, (n, i)),
            "targets": np.eye(o)[np.arange(n) % o]}


def _mlp_call(a):
    net = A.ResidualMLP(a["input_size"], a["output_size"], a["residual"], a["hidden_mult"],
                        rng=np.random.default_rng(0))
    loss = A.cross_entropy(net(A.TensorNode(a["x"])), a["targets"])
    loss.backward()
    return loss.value, [p.grad for p in net.parameters()]


def _tensornode(data):
    _, _, m = _mat(data)
    return {"value": m(), "goutput": m()}


def _tensornode_backward(a):
    x = A.TensorNode(a["value"])
    y = A.Tanh.do_forward(x)
    y.backward(a["goutput"])
    return x.grad


def _zero_grad(a):
    x = A.TensorNode(a["value"])
    y = A.Tanh.do_forward(x)
    y.backward(a["goutput"])
    y.zero_grad()
    return x.grad


def _opnode(data):
    return {"op": A.Tanh, "context": {}, "x": draw_array(data, (2, 2))}


def _opnode_call(a):
    node = A.OpNode(a["op"], a["context"], (A.TensorNode(a["x"]),))
    return node.op.__name__


GOUT = [Bad("goutput: another shape", ("goutput",), lambda v, s: np.ones((7, 7)), VALUE,
            "goutput"),
        Bad("goutput: a list", ("goutput",), lambda v, s: v.tolist(), TYPE, "goutput")]

ENTRIES = [
    *_op_entries("Add", A.Add, ("a", "b"), _binary(), bad=BINARY_SHAPES),
    *_op_entries("Subtract", A.Subtract, ("a", "b"), _binary(), bad=BINARY_SHAPES),
    *_op_entries("Multiply", A.Multiply, ("a", "b"), _binary(), bad=BINARY_SHAPES),
    *_op_entries("Divide", A.Divide, ("x", "y"), _renamed(_binary(0.5, 2.0)),
                 bad=[Bad("y: another shape", ("y",), lambda v, s: np.concatenate([v, v]), VALUE,
                          "y"),
                      Bad("y: a zero", ("y",), lambda v, s: v * 0, VALUE, "y")]),
    *_op_entries("Sigmoid", A.Sigmoid, ("x",), _unary()),
    *_op_entries("Tanh", A.Tanh, ("x",), _unary()),
    *_op_entries("Exp", A.Exp, ("x",), _unary()),
    *_op_entries("Log", A.Log, ("x",), _unary(0.1, 2.0),
                 bad=[Bad("x: ≤ 0", ("x",), lambda v, s: -v, VALUE, "x")]),
    *_op_entries("ReLU", A.ReLU, ("x",), _unary()),
    *_op_entries("MatMul", A.MatMul, ("x", "w"), _matmul,
                 bad=[Bad("w: inner size", ("w",), lambda v, s: np.concatenate([v, v]), VALUE,
                          "w"), *MATRIX]),
    *_op_entries("Expand", A.Expand, ("x",), _expand, repeats=3,
                 bad=[Bad("x: no singleton axis", ("x",), lambda v, s: np.concatenate([v, v], 1),
                          VALUE, "x")]),
    *_op_entries("Sum", A.Sum, ("x",), _sum),
    *_op_entries("RowSum", A.RowSum, ("x",), _rowreduce, bad=MATRIX),
    *_op_entries("RowMax", A.RowMax, ("x",), _rowreduce, bad=MATRIX),
    *_op_entries("Normalize", A.Normalize, ("x",), _positive_rows,
                 bad=[*MATRIX, Bad("x: a zero row", ("x",), lambda v, s: v * 0, VALUE, "x")]),
    *_op_entries("LogSoftmax", A.LogSoftmax, ("x",), _unary(), bad=MATRIX),
    Entry("autodiff.Op", _unary(), lambda a: A.Op.do_forward(A.TensorNode(a["x"])), {},
          [Bad("x: any", ("x",), lambda v, s: v, TYPE, "Op")], run_valid=False),
    Entry("autodiff.Op.do_forward", _unary(), lambda a: A.Tanh.do_forward(a["x"]), {},
          [Bad("x: a raw array", ("x",), lambda v, s: v, TYPE, "input 0")], run_valid=False),
    Entry("autodiff.Op.forward", _unary(), lambda a: A.Op.forward({}, a["x"]), {},
          record="the abstract forward: NotImplementedError; Op.do_forward refuses Op itself"),
    Entry("autodiff.Op.backward", _unary(), lambda a: None,
          record="the abstract backward: NotImplementedError; every op defines its own"),
    Entry("autodiff.OpNode", _opnode, _opnode_call, {},
          [Bad("op: a function", ("op",), lambda v, s: np.tanh, TYPE, "op"),
           Bad("context: None", ("context",), lambda v, s: None, TYPE, "context")], kinds=False,
          f32=False),
    Entry("autodiff.OpNode.backward", _tensornode, _tensornode_backward, {}, GOUT, kinds=False,
          f32=False),
    Entry("autodiff.TensorNode", _tensornode, lambda a: A.TensorNode(a["value"]).value,
          {("value",): Arr(kind="numpy", nan="propagate", rank=False, empty="ok")}, kinds=False),
    Entry("autodiff.TensorNode.backward", _tensornode, _tensornode_backward,
          {("goutput",): Arr(kind="numpy", nan="propagate", rank=True, empty="skip",
                             mix=False, optional=True)},  # None: the seed 1 of a scalar node
          GOUT, kinds=False, f32=False),
    Entry("autodiff.TensorNode.zero_grad", _tensornode, _zero_grad, {}, kinds=False, f32=False),
    Entry("autodiff.log_softmax", _graph, lambda a: A.log_softmax(A.TensorNode(a["x"])).value,
          {("x",): Arr(kind="numpy", nan="propagate", label="re:^value must|x", empty="skip")},
          [Bad("x: a vector node", ("x",), lambda v, s: v[0], VALUE, "x")], kinds=False),
    Entry("autodiff.cross_entropy", _graph, _ce,
          {("targets",): Arr(kind="numpy", nan="propagate", mix=False, empty="skip")},
          [Bad("targets: another shape", ("targets",), lambda v, s: np.concatenate([v, v], 1),
               VALUE, "targets")],
          kinds=False, f32=False),
    Entry("autodiff.Linear", _linear, _linear_call,
          {("in_features",): Num(low=1, integer=True), ("out_features",): Num(low=1, integer=True)},
          [Bad("x: the wrong width", ("x",), lambda v, s: np.concatenate([v, v], 1), VALUE, "x")],
          kinds=False, f32=False),
    Entry("autodiff.Linear.__call__", _linear, _linear_call,
          {("x",): Arr(kind="numpy", nan="propagate", label="re:^value must|x", empty="skip",
                       mix=False)},
          kinds=False, f32=False),
    Entry("autodiff.ResidualMLP", _mlp, _mlp_call,
          {("input_size",): Num(low=1, integer=True), ("output_size",): Num(low=1, integer=True),
           ("hidden_mult",): Num(low=1, integer=True)},
          [Bad("residual: an int", ("residual",), lambda v, s: 1, TYPE, "residual")],
          kinds=False, f32=False),
    Entry("autodiff.ResidualMLP.__call__", _mlp, _mlp_call,
          {("x",): Arr(kind="numpy", nan="propagate", label="re:^value must|x", empty="skip",
                       mix=False)},
          kinds=False, f32=False),
]
