"""Error-input entries of impl/experiments.py (runs: refusals only, checked before any work)."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from impl import experiments as E
from tests.error_inputs import TYPE, VALUE, Arr, Bad, Entry, Num

SEED = Num(low=0, integer=True)
EPOCHS = Num(low=0, integer=True)
LR = Num(low=0, low_open=True)
BATCH = Num(low=1, integer=True, optional=True)


def _stub(data):
    n = data.draw(st.integers(2, 6), label="n")
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 100), label="seed"))
    x = torch.rand(n, 64, generator=g, dtype=torch.float32)
    y = torch.randint(0, 10, (n,), generator=g)
    return E.Digits(x, y, x, y)


def _train(data):
    return {"data": _stub(data), "epochs": data.draw(st.integers(0, 2)),
            "batch_size": data.draw(st.none() | st.integers(1, 4)),
            "seed": data.draw(st.integers(0, 10)), "lr": 0.1}


def _train_call(a):
    torch.manual_seed(0)
    model = E.mlp([64, 10])
    opt = torch.optim.SGD(model.parameters(), lr=a["lr"])
    return E.train_classifier(model, a["data"], opt, epochs=a["epochs"],
                              batch_size=a["batch_size"], seed=a["seed"]).as_dict()


def _run_args(data):
    return {"seed": 0, "epochs": 1, "lr": 0.01, "batch_size": 32, "momentum": 0.9, "d": 0.1,
            "hidden": 8, "n_train": 10}


RUN = {("seed",): SEED, ("epochs",): EPOCHS, ("lr",): LR}


def _tanh_net(data):
    return {"d_in": data.draw(st.integers(1, 3)), "width": data.draw(st.integers(1, 3)),
            "depth": data.draw(st.integers(1, 3)), "d_out": data.draw(st.integers(1, 3))}


def _gradients(data):
    a = _tanh_net(data)
    n = data.draw(st.integers(1, 3))
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 100)))
    return {**a, "x": torch.rand(n, a["d_in"], generator=g, dtype=torch.float32),
            "y": torch.randint(0, a["d_out"], (n,), generator=g)}


def _gradients_call(a):
    torch.manual_seed(0)
    net = E.TanhNet(a["d_in"], a["width"], a["depth"], a["d_out"])
    return E.layer_gradients(net, a["x"], a["y"])


Y_BAD = [Bad("y: float labels", ("y",), lambda v, s: v.double(), TYPE, "y"),
         Bad("y: a list", ("y",), lambda v, s: v.tolist(), TYPE, "y"),
         Bad("y: another length", ("y",), lambda v, s: torch.cat([v, v]), VALUE, "y")]

ENTRIES = [
    Entry("experiments.DIGITS_CLASSES", _run_args, lambda a: None,
          record="the int 10, the number of digit classes"),
    Entry("experiments.Digits", _run_args, lambda a: None,
          record="a frozen dataclass of four tensors; train_classifier refuses anything else"),
    Entry("experiments.History", _run_args, lambda a: None,
          record="a dataclass of per-epoch lists that train_classifier fills"),
    Entry("experiments.digits", lambda d: {"seed": d.draw(st.integers(0, 3)),
                                           "test_size": d.draw(st.floats(0.1, 0.5))},
          lambda a: E.digits(a["seed"], a["test_size"]),
          {("seed",): SEED, ("test_size",): Num(low=0, high=1, low_open=True, high_open=True)},
          f32=False),
    Entry("experiments.random_labels", lambda d: {"n": d.draw(st.integers(1, 5)),
                                                  "seed": d.draw(st.integers(0, 3)),
                                                  "classes": d.draw(st.integers(1, 10))},
          lambda a: E.random_labels(a["n"], a["seed"], a["classes"]).double(),
          {("n",): Num(low=1, integer=True), ("seed",): SEED,
           ("classes",): Num(low=1, integer=True)}, f32=False),
    Entry("experiments.diabetes", lambda d: {}, lambda a: E.diabetes(), {}, f32=False),
    Entry("experiments.mlp", lambda d: {"sizes": [d.draw(st.integers(1, 3)) for _ in range(3)]},
          lambda a: [tuple(p.shape) for p in E.mlp(a["sizes"]).parameters()],
          {("sizes", 0): Num(low=1, integer=True)},
          [Bad("sizes: one width", ("sizes",), lambda v, s: v[:1], VALUE, "sizes"),
           Bad("sizes: an int", ("sizes",), lambda v, s: 3, TYPE, "sizes")], f32=False),
    Entry("experiments.TanhNet", _tanh_net,
          lambda a: [tuple(p.shape) for p in E.TanhNet(a["d_in"], a["width"], a["depth"],
                                                       a["d_out"]).parameters()],
          {(k,): Num(low=1, integer=True) for k in ("d_in", "width", "depth", "d_out")},
          f32=False),
    Entry("experiments.TanhNet.forward", _gradients,
          lambda a: (torch.manual_seed(0), E.TanhNet(a["d_in"], a["width"], a["depth"],
                                                     a["d_out"])(a["x"]).detach())[1],
          {}, f32=False),
    Entry("experiments.init_uniform", lambda d: {"d": d.draw(st.floats(0.01, 2))},
          lambda a: (torch.manual_seed(0), E.init_uniform(net := E.TanhNet(2, 2, 1, 2), a["d"]),
                     [p.detach().clone() for p in net.parameters()])[2],
          {("d",): Num(low=0, low_open=True, str_error=VALUE)}, f32=False),
    Entry("experiments.layer_gradients", _gradients, _gradients_call,
          {("x",): Arr(kind="torch", mix=False, dtypes=False, empty="reject")}, Y_BAD,
          f32=False, kinds=False),
    Entry("experiments.backprop_bound", lambda d: {"g": _gradients_call(_gradients(d))},
          lambda a: E.backprop_bound(a["g"]), {},
          [Bad("g: a dict", ("g",), lambda v, s: vars(v), TYPE, "g")], f32=False, kinds=False),
    Entry("experiments.train_classifier", _train, _train_call,
          {("epochs",): EPOCHS, ("batch_size",): BATCH, ("seed",): SEED},
          [Bad("data: a tuple", ("data",), lambda v, s: tuple(vars(v).values()), TYPE, "data"),
           Bad("data: float64 images", ("data",), lambda v, s: E.Digits(
               v.x_train.double(), v.y_train, v.x_test.double(), v.y_test), TYPE, "data")],
          f32=False),
    Entry("experiments.memorisation_run", _run_args,
          lambda a: E.memorisation_run(a["seed"], random=True, epochs=a["epochs"],
                                       hidden=a["hidden"], n_train=a["n_train"], lr=a["lr"]),
          {**RUN, ("hidden",): Num(low=1, integer=True), ("n_train",): Num(low=1, integer=True)},
          run_valid=False),
    Entry("experiments.init_run", _run_args,
          lambda a: E.init_run(a["seed"], a["d"], epochs=a["epochs"], lr=a["lr"],
                               batch_size=a["batch_size"]),
          {**RUN, ("batch_size",): BATCH, ("d",): Num(low=0, low_open=True, str_error=VALUE)},
          run_valid=False),
    Entry("experiments.activation_run", _run_args,
          lambda a: E.activation_run(a["seed"], "relu", epochs=a["epochs"], lr=a["lr"],
                                     batch_size=a["batch_size"]),
          {**RUN, ("batch_size",): BATCH}, run_valid=False),
    Entry("experiments.residual_run", _run_args,
          lambda a: E.residual_run(a["seed"], True, epochs=a["epochs"], lr=a["lr"],
                                   batch_size=a["batch_size"]),
          {**RUN, ("batch_size",): BATCH}, run_valid=False),
    Entry("experiments.optimiser_run", _run_args,
          lambda a: E.optimiser_run(a["seed"], "sgd", lr=a["lr"], momentum=a["momentum"],
                                    epochs=a["epochs"], batch_size=a["batch_size"]),
          {**RUN, ("batch_size",): BATCH, ("momentum",): Num(low=0, high=1, high_open=True)},
          run_valid=False),
    Entry("experiments.SmallCNN", lambda data: {}, lambda a: None,
          record="the 004 §4 CNN module (a torch.nn.Module; torch validates its input)"),
    Entry("experiments.SmallCNN.forward", lambda data: {}, lambda a: None,
          record="torch.nn layers: a wrong input shape or dtype is torch's RuntimeError"),
    Entry("experiments.bn_fold_float32_differences", lambda data: {}, lambda a: None,
          record="an experiment runner of fixed settings (seeds named); no kernel"),
    Entry("experiments.cnn_vs_mlp_run", lambda data: {}, lambda a: None,
          record="an experiment runner of fixed settings (seeds named); no kernel"),
    Entry("experiments.numpy_mlp_run", lambda data: {}, lambda a: None,
          record="an experiment runner of fixed settings (seeds named); no kernel"),
]
