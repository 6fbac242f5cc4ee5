"""Error-input entries of impl/least_squares.py."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from impl import least_squares as K
from tests.error_inputs import VALUE, Arr, Bad, Entry, Num, as_kind, draw_array


def problem(data):
    """A well-conditioned X (n ≥ d, identity plus small noise on top), y, w, α < 2/λ_max."""
    d = data.draw(st.integers(1, 3), label="d")
    n = d + data.draw(st.integers(0, 2), label="n - d")
    kind = data.draw(st.sampled_from(["numpy", "torch"]), label="kind")
    X = np.vstack([np.eye(d), np.zeros((n - d, d))]) + draw_array(data, (n, d), lo=-0.2,
                                                                  hi=0.2)
    return {"X": as_kind(X, kind), "y": as_kind(draw_array(data, (n,)), kind),
            "w": as_kind(draw_array(data, (d,)), kind)}


def _xwy(data):
    return problem(data)


def _xy(data):
    p = problem(data)
    return {"X": p["X"], "y": p["y"]}


def _gd(data):
    p = problem(data)
    return {"X": p["X"], "y": p["y"], "w0": p["w"], "alpha": data.draw(st.floats(0.05, 0.3)),
            "k": data.draw(st.integers(0, 4))}


def _x(data):
    return {"X": problem(data)["X"]}


def _x_alpha(data):
    return {"X": problem(data)["X"], "alpha": data.draw(st.floats(0.05, 0.3))}


VEC = Arr(empty="skip")  # a 1-D vector: its emptiness is a shape mismatch with X (rank less → 0-d)
XYW = {("X",): Arr(), ("y",): VEC, ("w",): VEC}
ALPHA = Num(low=0, low_open=True)
K_STEPS = Num(low=0, integer=True)
RANK = [Bad("X: rank deficient", ("X",), lambda v, s: v * 0, VALUE, "X")]

ENTRIES = [
    Entry("least_squares.least_squares_loss", _xwy,
          lambda a: K.least_squares_loss(a["X"], a["w"], a["y"]), XYW, growth=4),
    Entry("least_squares.least_squares_gradient", _xwy,
          lambda a: K.least_squares_gradient(a["X"], a["w"], a["y"]), XYW, growth=8),
    Entry("least_squares.least_squares_minimiser", _xy,
          lambda a: K.least_squares_minimiser(a["X"], a["y"]),
          {("X",): Arr(), ("y",): VEC}, RANK, growth=16),
    Entry("least_squares.gradient_descent", _gd,
          lambda a: K.gradient_descent(a["X"], a["y"], a["w0"], a["alpha"], a["k"]),
          {("X",): Arr(), ("y",): VEC, ("w0",): VEC, ("alpha",): ALPHA, ("k",): K_STEPS},
          growth=16),
    Entry("least_squares.gd_iterate_closed_form", _gd,
          lambda a: K.gd_iterate_closed_form(a["X"], a["y"], a["w0"], a["alpha"], a["k"]),
          {("X",): Arr(), ("y",): VEC, ("w0",): VEC, ("alpha",): ALPHA, ("k",): K_STEPS},
          growth=16),
    Entry("least_squares.step_size_limit", _x, lambda a: K.step_size_limit(a["X"]),
          {("X",): Arr()}, [Bad("X: zero", ("X",), lambda v, s: v * 0, VALUE, "X")], growth=8),
    Entry("least_squares.iteration_spectral_radius", _x_alpha,
          lambda a: K.iteration_spectral_radius(a["X"], a["alpha"]),
          {("X",): Arr(), ("alpha",): ALPHA}, growth=8),
]
