"""The examples of issue 14, one test each: every public kernel answers right or refuses
clearly (``ValueError``/``TypeError`` naming the argument as the caller wrote it), never
mutates its argument, and never returns its own cache. The generic layer over every public
name is ``tests/test_error_inputs.py``; these are the reported cases, kept by name.

These check this project's conventions (validation, aliasing), not mathematics.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from impl import autodiff as A
from impl import batchnorm as B
from impl import conv as C
from impl import experiments as E
from impl import momentum as M
from impl import receptive_field as R
from impl.custom_batchnorm import CustomBatchNormManualFunction, CustomBatchNormManualModule
from impl.fully_conv import fully_convolutional
from impl.mlp import ModuleMLP, sigmoid_mlp_forward
from impl.modules import LinearModule, SoftMaxModule

pytestmark = pytest.mark.conventions


def raises(error, match, call):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------ devices before values

_W = torch.ones(3, 2, 3, 3)
_G = torch.ones(2, 3, 3, 3)
_X = torch.ones(2, 2, 5, 5)


@pytest.mark.parametrize(("call", "name"), [
    (lambda: C.conv2d_input_grad((2, 2, 5, 5), _W, _G.to("meta"), 1, 0, 1), "grad_output"),
    (lambda: C.conv2d_weight_grad(_X, (3, 2, 3, 3), _G.to("meta")), "grad_output"),
    (lambda: C.conv2d(_X.to("meta"), _W), "input"),
    (lambda: C.conv2d(_X, _W.to("meta")), "weight"),
    (lambda: sigmoid_mlp_forward(torch.ones(3, 1).to("meta"), [torch.ones(2, 3)],
                                 [torch.ones(2, 1)]), "x"),
    (lambda: B.batchnorm_forward(torch.ones(4, 3).to("meta"), torch.ones(3), torch.zeros(3)),
     "x"),
], ids=["conv2d_input_grad", "conv2d_weight_grad", "conv2d input", "conv2d weight",
        "sigmoid_mlp_forward", "batchnorm_forward"])
def test_a_meta_tensor_is_refused_before_its_values_are_read(call, name):
    """Not garbage from uninitialised memory, not "Tensor.item() cannot be called on meta
    tensors": a ValueError naming the argument."""
    raises(ValueError, rf"{name} must be a CPU tensor", call)


# ------------------------------------------------------------------ fully_convolutional


def test_fully_convolutional_leaves_its_argument_untouched():
    """A training-mode BatchNorm2d before the Flatten: the conversion ran the network in
    training mode and changed its running statistics. Now it works on an eval-mode copy."""
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8, 3))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    out = fully_convolutional(net, (1, 4, 4))
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert not out.training


def test_fully_convolutional_refuses_an_unconvertible_batchnorm1d_at_conversion():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 3),
                        nn.BatchNorm1d(3, track_running_stats=False))
    raises(ValueError, "BatchNorm1d layer 1 after the Flatten has no running statistics",
           lambda: fully_convolutional(net, (1, 4, 4)))


def test_fully_convolutional_names_its_arguments():
    raises(TypeError, "network must be an nn.Sequential",
           lambda: fully_convolutional(nn.Linear(2, 2), (1, 4, 4)))
    raises(TypeError, "input_size", lambda: fully_convolutional(nn.Sequential(), None))


# ------------------------------------------------------------------ receptive fields


@pytest.mark.parametrize(("layers", "match"), [
    ([{"kernel": 3, "strides": 2}], r"layers\[0\] has unknown key\(s\) 'strides' \(did you "
                                    r"mean 'stride'\?\)"),
    ([{"kernal": 3}], r"layers\[0\] has unknown key\(s\) 'kernal' \(did you mean 'kernel'\?\)"),
    ([{"stride": 2}], r"layers\[0\] must have the key 'kernel'"),
    ([{"kernel": 3, "padding_mode": "circ"}], r"layers\[0\] padding_mode must be one of"),
])
def test_a_misspelt_or_missing_layer_key_is_a_value_error(layers, match):
    """No KeyError, no silent ignore."""
    raises(ValueError, match, lambda: R.output_size(layers, (8, 8)))


def test_circular_and_reflect_padding_limits_are_torchs():
    raises(ValueError, "circular padding 3 exceeds its input 2",
           lambda: R.output_size([{"kernel": 3, "padding": 3, "padding_mode": "circular"}],
                                 (2, 2)))
    raises(ValueError, "reflect padding 2 must be less than its input 2",
           lambda: R.output_size([{"kernel": 3, "padding": 2, "padding_mode": "reflect"}],
                                 (2, 2)))


# ------------------------------------------------------------------ aliasing


def test_linear_module_forward_keeps_a_copy_of_x():
    lin = LinearModule(2, 1)
    lin.params["weight"] = np.array([[1.0, 1.0]])
    x = np.array([[1.0, 1.0], [1.0, 1.0]])
    lin.forward(x)
    x *= 2
    lin.backward(np.ones((2, 1)))
    np.testing.assert_array_equal(lin.grads["weight"], [[2.0, 2.0]])  # Σ_n x_n, x as seen


def test_softmax_module_forward_returns_a_copy_of_its_cache():
    sm = SoftMaxModule()
    out = sm.forward(np.zeros((1, 2)))
    out[:] = 7.0
    np.testing.assert_allclose(sm.backward(np.array([[1.0, 0.0]])), [[0.25, -0.25]])


# ------------------------------------------------------------------ autodiff


def test_autodiff_relu_propagates_nan():
    y = A.ReLU.do_forward(A.TensorNode(np.array([np.nan, -1.0, 2.0])))
    assert np.isnan(y.value[0]) and y.value[1] == 0 and y.value[2] == 2


def test_autodiff_linear_and_log_softmax_refuse_clearly():
    raises(ValueError, r"in_features must be a positive integer", lambda: A.Linear(0, 3))
    raises(ValueError, r"log_softmax: x must be a non-empty 2-D node",
           lambda: A.log_softmax(A.TensorNode(np.zeros(3))))
    raises(TypeError, r"rng must be a numpy.random.Generator", lambda: A.Linear(3, 2, rng=0))


# ------------------------------------------------------------------ batch norm


def _fold(mean=0.0, var=1.0, eps=1e-5):
    lin, bn = nn.Linear(2, 2), nn.BatchNorm1d(2, eps=eps).eval()
    bn.running_mean.fill_(mean)
    bn.running_var.fill_(var)
    return lin, bn


@pytest.mark.parametrize(("make", "match"), [
    (lambda: _fold(var=-1.0), r"bn.running_var must be ≥ 0"),
    (lambda: _fold(var=float("nan")), r"bn.running_var must be finite"),
    (lambda: _fold(mean=float("inf")), r"bn.running_mean must be finite"),
    (lambda: _fold(var=0.0, eps=0.0), r"bn.eps must be > 0 where bn.running_var is 0"),
])
def test_fold_into_layer_refuses_statistics_that_give_nan_weights(make, match):
    raises(ValueError, match, lambda: B.fold_into_layer(*make()))


def test_fold_batchnorm_of_none_is_a_type_error():
    raises(TypeError, "model must be an nn.Module, got NoneType", lambda: B.fold_batchnorm(None))
    seq = nn.Sequential(*_fold(var=-1.0))
    raises(ValueError, "bn.running_var", lambda: B.fold_batchnorm(seq))


@pytest.mark.parametrize("where", ["gamma", "beta"])
def test_nan_gamma_or_beta_is_refused(where):
    x = np.random.default_rng(0).normal(size=(4, 3))
    p = {"gamma": np.ones(3), "beta": np.zeros(3)}
    p[where] = np.array([1.0, np.nan, 0.0])
    raises(ValueError, rf"{where} must be finite",
           lambda: B.batchnorm_forward(x, p["gamma"], p["beta"]))
    if where == "gamma":
        raises(ValueError, "gamma must be finite",
               lambda: B.batchnorm_backward(x, p["gamma"], np.ones((4, 3))))
    t = {k: torch.from_numpy(v) for k, v in p.items()}
    raises(ValueError, rf"{where} must be finite",
           lambda: CustomBatchNormManualFunction.apply(torch.from_numpy(x), t["gamma"],
                                                       t["beta"]))


def test_custom_batchnorm_module_accepts_float64_and_float32_input():
    """Its γ and β are made in the default dtype and used in the input's dtype."""
    for dtype in (torch.float64, torch.float32):
        x = torch.arange(12, dtype=dtype).reshape(4, 3)
        y = CustomBatchNormManualModule(3)(x)
        assert y.dtype == dtype
        torch.testing.assert_close(y.mean(0), torch.zeros(3, dtype=dtype))


def test_custom_batchnorm_messages_name_input_not_x():
    raises(ValueError, r"input must hold a batch of N ≥ 2 rows",
           lambda: CustomBatchNormManualModule(3)(torch.zeros(1, 3)))


# ------------------------------------------------------------------ momentum


def test_closed_form_iterate_rejects_nan_like_form_one_iterates():
    grads = np.array([[np.nan, 0.0]])
    for fn in (M.form_one_iterates, M.closed_form_iterate):
        raises(ValueError, "grads must be finite", lambda fn=fn: fn(np.zeros(2), grads, 0.1, 0.5))


def test_momentum_form_one_step_validates_shapes():
    raises(ValueError, r"theta_prev must have the shape of theta \(3,\), got \(2, 1\)",
           lambda: M.momentum_form_one_step(np.zeros(3), np.zeros((2, 1)), np.zeros(3), 0.1,
                                            0.5))
    raises(ValueError, r"g must have the shape of theta",
           lambda: M.momentum_form_two_step(np.zeros(3), np.zeros(3), np.zeros(2), 0.1, 0.5))


@pytest.mark.parametrize("opt", [M.FormOneSGD, M.FormTwoSGD])
@pytest.mark.parametrize(("group", "match"), [
    ({"lr": float("nan")}, r"lr \(param group 1\) must be a finite number ≥ 0"),
    ({"lr": -1.0}, r"lr \(param group 1\) must be a finite number ≥ 0"),
    ({"momentum": 1.5}, r"momentum \(param group 1\) must be a finite number ≥ 0 and < 1"),
    ({"momentum": -0.1}, r"momentum \(param group 1\)"),
])
def test_optimisers_check_every_group_like_torch_optim(opt, group, match):
    """Per-group values are checked as torch.optim checks its defaults (lr ≥ 0, momentum
    ≥ 0; here also < 1), and the messages say lr/momentum, not alpha/beta."""
    a, b = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(2))
    raises(ValueError, match, lambda: opt([{"params": [a]}, {"params": [b], **group}], lr=0.1,
                                          momentum=0.5))
    raises(ValueError, r"^lr must", lambda: opt([a], lr=-1.0, momentum=0.5))


def test_an_optimiser_with_lr_zero_is_valid_as_in_torch():
    p = nn.Parameter(torch.ones(2))
    opt = M.FormOneSGD([p], lr=0.0, momentum=0.5)
    p.grad = torch.ones(2)
    opt.step()
    assert torch.equal(p.detach(), torch.ones(2))


def test_a_group_changed_after_construction_is_checked_at_step():
    p = nn.Parameter(torch.ones(2))
    opt = M.FormTwoSGD([p], lr=0.1, momentum=0.5)
    opt.param_groups[0]["lr"] = float("nan")
    p.grad = torch.ones(2)
    raises(ValueError, r"lr \(param group 0\)", opt.step)


# ------------------------------------------------------------------ training helpers


def test_module_mlp_and_linear_module_refuse_nan_hyper_parameters():
    raises(ValueError, "lr must be a finite number ≥ 0", lambda: ModuleMLP(2, [], 2).sgd_step(
        float("nan")))
    raises(ValueError, "weight_std must be a finite number ≥ 0",
           lambda: LinearModule(3, 2, weight_std=float("nan")))
    raises(TypeError, r"rng must be a numpy.random.Generator .* got int",
           lambda: LinearModule(3, 2, rng=0))


def _digits_stub() -> E.Digits:
    x = torch.zeros(4, 64)
    y = torch.zeros(4, dtype=torch.long)
    return E.Digits(x, y, x, y)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"batch_size": -5}, ValueError, "batch_size must be a positive integer"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ({"epochs": -1}, ValueError, "epochs must be a non-negative integer"),
    ({"epochs": 1.5}, TypeError, "epochs must be an integer"),
    ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
])
def test_train_classifier_refuses_a_schedule_that_takes_no_step(kwargs, error, match):
    """batch_size = −5 took no step and returned a History; epochs = −1 likewise."""
    model = E.mlp([64, 10])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    args = {"epochs": 1, "batch_size": 2, "seed": 0, **kwargs}
    raises(error, match, lambda: E.train_classifier(model, _digits_stub(), opt, **args))


# ------------------------------------------------------------------ raw errors → clear ones


def test_correlate1d_on_a_strided_view_is_the_correlation():
    y = torch.arange(14, dtype=torch.float64)[::2]  # 0, 2, …, 12
    torch.testing.assert_close(C.correlate1d(y, torch.ones(2, dtype=torch.float64)),
                               y[:-1] + y[1:])


def test_messages_use_the_callers_names():
    raises(ValueError, r"^lr", lambda: M.FormOneSGD([nn.Parameter(torch.zeros(1))], lr=-1,
                                                    momentum=0.5))
    raises(ValueError, r"^input must be 4-D", lambda: C.conv2d(torch.ones(2, 5, 5), _W))
    raises(TypeError, r"^targets must be a numpy array",
           lambda: ModuleMLP(2, [], 2).loss(np.zeros((1, 2)), [[1.0, 0.0]]))


# ---------------------------------------------------------- mutants killed (docs/mutation.md)


def test_cross_entropy_module_ignores_x_where_the_target_is_zero():
    """0·log x = 0 for every x where y = 0, zero and negative x included: only x ≤ 0 where
    y > 0 leaves the loss undefined (mutants y > 0 → y ≥ 0 gave NaN here)."""
    from impl.modules import CrossEntropyModule

    x = np.array([[0.0, 1.0], [-0.5, 0.5]])
    y = np.array([[0.0, 1.0], [0.0, 1.0]])
    ce = CrossEntropyModule()
    np.testing.assert_allclose(ce.forward(x, y), -np.log(0.5) / 2)
    np.testing.assert_array_equal(ce.backward(x, y), [[0.0, -0.5], [0.0, -1.0]])


@pytest.mark.parametrize(("y", "ok"), [
    (np.array([[1.0 + 1.5e-12]]), False),  # |Σy − 1| > 1e-12·C with C = 1
    (np.array([[0.25, 0.25, 0.25, 0.25 + 2e-12]]), True),  # ≤ 1e-12·C with C = 4
    (np.array([[1.0 + 1.5e-6]], dtype=np.float32), False),  # float32: 1e-6·C
    (np.array([[0.25, 0.25, 0.25, 0.25 + 2.5e-6]], dtype=np.float32), True),
])
def test_cross_entropy_module_target_tolerance_is_per_dtype_times_classes(y, ok):
    """Target rows must sum to 1 within 1e-12·C (float64) or 1e-6·C (float32)."""
    from impl.modules import CrossEntropyModule

    x = np.full(y.shape, 0.5, dtype=y.dtype)
    if ok:
        CrossEntropyModule().forward(x, y)
    else:
        raises(ValueError, "y rows must be probability distributions",
               lambda: CrossEntropyModule().forward(x, y))


def test_linear_module_initialisation_is_the_practicals():
    """W ~ N(0, 1e-4²) drawn from np.random.default_rng(0) unless rng is given, b = 0 (the
    docstring's promise: construction is deterministic)."""
    lin = LinearModule(3, 2)
    np.testing.assert_array_equal(lin.params["weight"],
                                  np.random.default_rng(0).normal(0.0, 1e-4, (2, 3)))
    np.testing.assert_array_equal(lin.params["bias"], np.zeros(2))


@pytest.mark.parametrize("bias", [np.zeros(3), [0.0, 0.0]])
def test_linear_module_refuses_a_replaced_bias_of_the_wrong_kind_or_shape(bias):
    lin = LinearModule(3, 2)
    lin.params["bias"] = bias
    raises(ValueError, r"params\['bias'\] must be a numpy array of shape \(out_features,\)",
           lambda: lin.forward(np.zeros((1, 3))))


def test_fully_convolutional_refuses_exactly_what_it_cannot_convert():
    """Each refusal says why (mutants of these checks fell through to a later, vaguer error)."""
    conv = nn.Conv2d(1, 2, 3)
    raises(ValueError, r"the Flatten must flatten dims 1 … −1", lambda: fully_convolutional(
        nn.Sequential(conv, nn.Flatten(0), nn.Linear(8, 3)), (1, 4, 4)))
    raises(ValueError, r"^input_size must be \(C, H, W\) of positive ints", lambda:
           fully_convolutional(nn.Sequential(conv, nn.Flatten(), nn.Linear(8, 3)), (4, 4)))
    raises(ValueError, r"^input_size must be \(C, H, W\) of positive ints", lambda:
           fully_convolutional(nn.Sequential(conv, nn.Flatten(), nn.Linear(8, 3)), (1, 0, 4)))
    # 1×2 and 2×1 maps: a Softmax/BatchNorm1d on the flattened map before any Linear is refused
    for size in ((1, 3, 4), (1, 4, 3)):
        for head in (nn.Softmax(dim=1), nn.BatchNorm1d(4)):
            raises(ValueError, r"acts on the flattened map before any Linear layer",
                   lambda head=head, size=size: fully_convolutional(
                       nn.Sequential(conv, nn.Flatten(), head, nn.Linear(4, 3)), size))


def test_fully_convolutional_keeps_a_head_on_a_one_by_one_map():
    """On a 1×1 map the flattened features are the channels: a Softmax before the Linear
    layer converts, and Net2 gives Net1's answer."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 4), nn.Flatten(), nn.Softmax(dim=1), nn.Linear(2, 3))
    x = torch.rand(2, 1, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(fully_convolutional(net, (1, 4, 4))(x).flatten(1), net(x))


def test_custom_batchnorm_default_eps_is_the_practicals():
    """eps = 1e-5 by default in the modules and the Function (004 §3: the interface)."""
    x = torch.tensor([[0.0, 1.0], [0.004, 1.002], [0.001, 1.003]])  # σ² ≈ 1e-6: ε matters
    g, b = torch.ones(2), torch.zeros(2)
    want = CustomBatchNormManualFunction.apply(x, g, b, 1e-5)
    assert torch.equal(CustomBatchNormManualFunction.apply(x, g, b), want)
    from impl.custom_batchnorm import CustomBatchNormAutograd

    for module in (CustomBatchNormAutograd(2), CustomBatchNormManualModule(2)):
        assert module.eps == 1e-5
        torch.testing.assert_close(module(x), want)


# ------------------------------------------------------------- the shared checks themselves


@pytest.mark.parametrize("call", [
    lambda: CustomBatchNormManualModule(3)(np.ones((4, 3))),
    lambda: B.seed_network(channels=2, size=4, hidden=3)(np.ones((1, 3, 4, 4))),
], ids=["CustomBatchNormManualModule", "SeedNetwork"])
def test_a_torch_only_kernel_given_numpy_asks_for_a_torch_tensor(call):
    """A kernel that takes torch tensors only says so: "must be a torch tensor", not the
    "a numpy array or a torch tensor" of the kernels that take both."""
    with pytest.raises(TypeError, match=r"must be a torch tensor, got ndarray") as info:
        call()
    assert "numpy" not in str(info.value), info.value


def test_require_number_bounds_are_closed_unless_declared_open():
    """``require_number``'s range: ``low``/``high`` are included unless ``low_open``/``high_open``
    (as its docstring states; momentum's β uses [0, 1), test_size (0, 1))."""
    from impl._validate import require_number

    assert require_number("v", 1.0, low=0, high=1) == 1.0
    assert require_number("v", 0, low=0, high=1) == 0.0
    for kwargs in ({"high_open": True}, {"low_open": True}):
        edge = 1.0 if "high_open" in kwargs else 0.0
        with pytest.raises(ValueError, match=r"v must be a finite number"):
            require_number("v", edge, low=0, high=1, **kwargs)
