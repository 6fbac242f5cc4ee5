"""The Jacobian of f(x) = W_F tanh(W_L ⋯ tanh(W_1 x)) with the signature of
``002_f6a45d0186751a72.txt`` Problem 2, ``(x, L, param_dict)`` (torch tensors), written for
this suite's grading tests: ``--impl jacobian=…`` accepts it through the contract's
seed-signature adapter (docs/grading.md)."""

import torch


def _hidden(x, L, param_dict):
    hs, h = [], x
    for i in range(1, L + 1):
        h = torch.tanh(param_dict[f"W{i}"] @ h)
        hs.append(h)
    return hs


def jacobian_reverse(x, L, param_dict):
    hs = _hidden(x, L, param_dict)
    g = param_dict["WF"] * (1 - hs[-1] ** 2)
    for i in range(L, 1, -1):
        g = (g @ param_dict[f"W{i}"]) * (1 - hs[i - 2] ** 2)
    return g @ param_dict["W1"]


def jacobian_forward(x, L, param_dict):
    hs = _hidden(x, L, param_dict)
    t = param_dict["W1"]
    for i in range(2, L + 1):
        t = param_dict[f"W{i}"] @ ((1 - hs[i - 2] ** 2)[:, None] * t)
    return param_dict["WF"] @ ((1 - hs[-1] ** 2)[:, None] * t)
