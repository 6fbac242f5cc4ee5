"""A correct plain-numpy submission of the practical's modules, written for this suite's own
grading tests (``tests/test_grading.py``) the way a student would write it: the interface of
``004_a5042f8004da492f.txt`` §1.2 (see docs/grading.md, contract ``modules``), no validation,
no keyword arguments beyond the practical's.

The grading tests copy this file and plant one bug in one backward pass to check that the
suite blames the right claim.
"""

import numpy as np


class LinearModule:
    def __init__(self, in_features, out_features):
        # the practical initialises N(0, 1e-4²) with the global generator; the tests overwrite
        # params before use, so no test depends on these draws
        self.params = {"weight": np.random.normal(0.0, 1e-4, (out_features, in_features)),  # noqa: NPY002
                       "bias": np.zeros(out_features)}
        self.grads = {"weight": np.zeros((out_features, in_features)),
                      "bias": np.zeros(out_features)}

    def forward(self, x):
        self.x = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, dout):
        self.grads["weight"] = dout.T @ self.x
        self.grads["bias"] = dout.sum(axis=0)
        return dout @ self.params["weight"]


class ReLUModule:
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dout):
        return dout * (self.x > 0)


class SoftMaxModule:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out

    def backward(self, dout):
        s = self.out
        return s * (dout - (dout * s).sum(axis=1, keepdims=True))


class CrossEntropyModule:
    def forward(self, x, y):
        return -np.sum(y * np.log(x)) / x.shape[0]

    def backward(self, x, y):
        return -y / x / x.shape[0]
