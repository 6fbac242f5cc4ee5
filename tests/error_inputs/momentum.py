"""Error-input entries of impl/momentum.py."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from impl import momentum as K
from tests.error_inputs import VALUE, Arr, Bad, Entry, Num, as_kind, draw_array

ALPHA, BETA = Num(low=0, low_open=True), Num(low=0, high=1, high_open=True)
VEC = Arr(empty="ok")  # an empty θ included: the update is elementwise
FREE = Arr(empty="ok", rank=False)  # a stepper's θ₀ sets the shape: any shape is valid


def _point(data):
    d = data.draw(st.integers(1, 3), label="d")
    kind = data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    return d, kind, lambda: as_kind(draw_array(data, (d,)), kind)


def _hyper(data):
    return {"alpha": data.draw(st.floats(0.01, 1), label="alpha"),
            "beta": data.draw(st.floats(0, 0.95), label="beta")}


def _step_one(data):
    _, _, v = _point(data)
    return {"theta": v(), "theta_prev": v(), "g": v(), **_hyper(data)}


def _step_two(data):
    _, _, v = _point(data)
    return {"theta": v(), "v": v(), "g": v(), **_hyper(data)}


def _sequence(data):
    d, kind, v = _point(data)
    k = data.draw(st.integers(1, 4), label="k")
    return {"theta0": v(), "grads": as_kind(draw_array(data, (k, d)), kind), **_hyper(data)}


def _stepper(data):
    _, _, v = _point(data)
    return {"theta0": v(), "g": v(), **_hyper(data)}


def _optimiser(data):
    d = data.draw(st.integers(1, 3), label="d")
    return {"theta0": torch.from_numpy(draw_array(data, (d,))),
            "grad": torch.from_numpy(draw_array(data, (d,))),
            "lr": data.draw(st.floats(0, 1), label="lr"),
            "momentum": data.draw(st.floats(0, 0.95), label="momentum")}


def _run_optimiser(cls, a):
    p = torch.nn.Parameter(a["theta0"].detach().clone())
    opt = cls([p], lr=a["lr"], momentum=a["momentum"])
    for _ in range(2):
        p.grad = a["grad"].detach().clone()
        opt.step()
    return p.detach().clone()


SEQ = {("theta0",): FREE, ("grads",): Arr(empty="ok")}
HYPER = {("alpha",): ALPHA, ("beta",): BETA}
OPT = {("lr",): Num(low=0), ("momentum",): Num(low=0, high=1, high_open=True)}
GROUP = [Bad("a param group with lr = -1", ("lr",), lambda v, s: -1.0, VALUE, "lr")]


def _one(a):
    opt = K.MomentumFormOne(a["theta0"], a["alpha"], a["beta"])
    return [opt.step(a["g"]), opt.step(a["g"])]


def _two(a):
    opt = K.MomentumFormTwo(a["theta0"], a["alpha"], a["beta"])
    return [opt.step(a["g"]), opt.step(a["g"])]


STEPPER = {("theta0",): FREE, ("g",): VEC, **HYPER}

ENTRIES = [
    Entry("momentum.momentum_form_one_step", _step_one,
          lambda a: K.momentum_form_one_step(a["theta"], a["theta_prev"], a["g"], a["alpha"],
                                             a["beta"]),
          {("theta",): VEC, ("theta_prev",): VEC, ("g",): VEC, **HYPER}, growth=4),
    Entry("momentum.momentum_form_two_step", _step_two,
          lambda a: K.momentum_form_two_step(a["theta"], a["v"], a["g"], a["alpha"], a["beta"]),
          {("theta",): VEC, ("v",): VEC, ("g",): VEC, **HYPER}, growth=4),
    Entry("momentum.form_one_iterates", _sequence,
          lambda a: K.form_one_iterates(a["theta0"], a["grads"], a["alpha"], a["beta"]),
          {**SEQ, **HYPER}, growth=16),
    Entry("momentum.form_two_iterates", _sequence,
          lambda a: K.form_two_iterates(a["theta0"], a["grads"], a["alpha"], a["beta"]),
          {**SEQ, **HYPER}, growth=16),
    Entry("momentum.closed_form_iterate", _sequence,
          lambda a: K.closed_form_iterate(a["theta0"], a["grads"], a["alpha"], a["beta"]),
          {**SEQ, **HYPER}, growth=16),
    Entry("momentum.MomentumFormOne", _stepper,
          lambda a: K.MomentumFormOne(a["theta0"], a["alpha"], a["beta"]).theta,
          {("theta0",): FREE, **HYPER}),
    Entry("momentum.MomentumFormOne.step", _stepper, _one, STEPPER, growth=8),
    Entry("momentum.MomentumFormTwo", _stepper,
          lambda a: K.MomentumFormTwo(a["theta0"], a["alpha"], a["beta"]).theta,
          {("theta0",): FREE, **HYPER}),
    Entry("momentum.MomentumFormTwo.step", _stepper, _two, STEPPER, growth=8),
    Entry("momentum.FormOneSGD", _optimiser,
          lambda a: K.FormOneSGD([torch.nn.Parameter(a["theta0"].clone())], lr=a["lr"],
                                 momentum=a["momentum"]).defaults["lr"], OPT),
    Entry("momentum.FormOneSGD.step", _optimiser, lambda a: _run_optimiser(K.FormOneSGD, a),
          OPT, GROUP, f32=False),
    Entry("momentum.FormTwoSGD", _optimiser,
          lambda a: K.FormTwoSGD([torch.nn.Parameter(a["theta0"].clone())], lr=a["lr"],
                                 momentum=a["momentum"]).defaults["lr"], OPT),
    Entry("momentum.FormTwoSGD.step", _optimiser, lambda a: _run_optimiser(K.FormTwoSGD, a),
          OPT, GROUP, f32=False),
]
