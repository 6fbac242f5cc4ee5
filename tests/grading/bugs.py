"""Classic bugs planted one at a time in ``student_modules.py`` by ``tests/test_grading.py``:
(name, the line as written, the line with the bug, the claim the suite must blame)."""

BUGS = [
    ("weight gradient missing a transpose", 'self.grads["weight"] = dout.T @ self.x',
     'self.grads["weight"] = self.x.T @ dout', "modules.linear_weight_jacobian"),
    ("bias gradient averaged, not summed, over the batch",
     'self.grads["bias"] = dout.sum(axis=0)', 'self.grads["bias"] = dout.mean(axis=0)',
     "modules.linear_bias_jacobian"),
    ("ReLU backward masked by the output values instead of the indicator",
     "return dout * (self.x > 0)", "return dout * np.maximum(self.x, 0)",
     "modules.relu_jacobian"),
    ("softmax Jacobian without its diagonal term",
     "return s * (dout - (dout * s).sum(axis=1, keepdims=True))",
     "return -s * (dout * s).sum(axis=1, keepdims=True)", "softmax.vjp"),
    ("cross-entropy backward with the wrong sign", "return -y / x / x.shape[0]",
     "return y / x / x.shape[0]", "cross_entropy.batch_mean"),
    ("cross-entropy backward without the batch mean's 1/N", "return -y / x / x.shape[0]",
     "return -y / x", "cross_entropy.batch_mean"),
]


def plant(source: str, written: str, bug: str) -> str:
    assert source.count(written) == 1, f"{written!r} must occur once"
    return source.replace(written, bug)
