"""Fast tests of the building blocks of ``impl/experiments.py`` (the training-experiment harness).

``tests/test_experiments.py`` trains the seeds' networks for up to a minute per test and is
``nightly`` as a whole; these tests check the same code at tiny sizes, each against a witness
written here: parameter counts from the layer sizes by hand, forwards against plain
``torch.nn.functional`` computations with the same weights, ``layer_gradients`` against torch
autograd, ``backprop_bound`` against products of ``torch.linalg.matrix_norm(ord=2)``,
``geometric_rate`` against a least-squares fit by ``numpy.linalg.lstsq``, the regression
gradients against central finite differences, and every ``*_run`` against a training loop
written here with the hyper-parameters its docstring and ``docs/experiments.md`` state (the
seeds' settings: ``000_44446893528eed8a.txt`` Problem 6, ``002_f6a45d0186751a72.txt`` Q1 and
Q4, ``003_6e09f081ee206780.txt`` questions 9–12, ``004_a5042f8004da492f.txt`` §1.2 and §4,
``001`` P3). The runs train on a tiny split (``_tiny_digits``: a fixed construction seeded
explicitly, 40 training rows) put in place of the digits loader, so that even their default
epoch counts take milliseconds.

Randomness comes from Hypothesis (seeds, sizes, values); the tiny split and the default-setting
runs are fixed constructions seeded explicitly, and say so.
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn
from torch.nn import functional as F

from impl import batchnorm as B
from impl import experiments as E

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")

# a training run costs tens of milliseconds: a tenth of the profile's examples (ci: 4)
RUNS = settings(max_examples=max(2, settings.default.max_examples // 10))
SEEDS = st.integers(0, 2**16)
F32 = torch.float32  # the harness's dtype (the suite's default dtype is float64)


def _tiny_digits(n_train: int = 40, n_test: int = 12) -> E.Digits:
    """A fixed stand-in for the digits split (seeded explicitly: generator seed 1234): pixels
    uniform on [0, 1), labels uniform on the ten classes, float32 / int64 like ``digits``."""
    g = torch.Generator().manual_seed(1234)
    x_train = torch.rand(n_train, 64, generator=g, dtype=F32)
    y_train = torch.randint(0, 10, (n_train,), generator=g)
    x_test = torch.rand(n_test, 64, generator=g, dtype=F32)
    y_test = torch.randint(0, 10, (n_test,), generator=g)
    return E.Digits(x_train, y_train, x_test, y_test)


def _evaluate(model, x, y) -> tuple[float, float]:
    with torch.no_grad():
        logits = model(x)
        return (F.cross_entropy(logits, y).item(),
                sum(int(a == b) for a, b in zip(logits.argmax(1).tolist(), y.tolist(),
                                                strict=True)) / len(y))


def _reference_training(model, data, opt, *, epochs, batch_size, seed, y=None):
    """The loop ``train_classifier`` documents, written out: mean cross-entropy; full batch
    when ``batch_size`` is None, else each epoch a permutation drawn by one generator seeded
    with ``seed``, cut into consecutive batches (the last one short); curves recorded before
    any step and after each epoch."""
    y = data.y_train if y is None else y
    n = len(y)
    gen = torch.Generator().manual_seed(seed)
    curves = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}

    def record():
        for part, xs, ys in (("train", data.x_train, y), ("test", data.x_test, data.y_test)):
            loss, acc = _evaluate(model, xs, ys)
            curves[f"{part}_loss"].append(loss)
            curves[f"{part}_acc"].append(acc)

    record()
    for _ in range(epochs):
        if batch_size is None:
            batches = [torch.arange(n)]
        else:
            perm = torch.randperm(n, generator=gen)
            batches = [perm[i:i + batch_size] for i in range(0, n, batch_size)]
        for idx in batches:
            opt.zero_grad()
            F.cross_entropy(model(data.x_train[idx]), y[idx]).backward()
            opt.step()
        record()
    return curves


def _assert_history(hist: E.History, curves: dict, epochs: int) -> None:
    d = hist.as_dict()
    assert set(d) == set(curves)
    for k, v in curves.items():
        assert len(d[k]) == epochs + 1, k  # epoch 0 is recorded before any step
        np.testing.assert_allclose(d[k], v, rtol=1e-5, atol=1e-7, err_msg=k)
    assert d["train_loss"] is hist.train_loss and d["test_acc"] is hist.test_acc


class _Bar:
    """A stand-in for a tqdm bar: counts the update(n) calls."""

    def __init__(self) -> None:
        self.n = 0
        self.calls: list[int] = []

    def update(self, n: int) -> None:
        self.n += n
        self.calls.append(n)


# ----------------------------------------------------------------------------------- data


@pytest.mark.slow
@given(seed=st.integers(0, 1000), test_size=st.sampled_from([None, 0.1, 0.5, 0.3]))
@settings(max_examples=max(2, settings.default.max_examples // 10))
def test_digits_split_sizes_stratification_and_scaling(seed, test_size):
    """scikit-learn's digits: 1797 images of 8×8 pixels valued 0..16 in 10 classes
    (https://scikit-learn.org/stable/datasets/toy_dataset.html#digits-dataset);
    ``train_test_split`` puts ceil(test_size · n) rows in the test set (default 0.25: 450)."""
    from sklearn.datasets import load_digits

    d = E.digits(seed) if test_size is None else E.digits(seed, test_size)
    n_test = math.ceil((0.25 if test_size is None else test_size) * 1797)
    assert d.x_test.shape == (n_test, 64) and d.x_train.shape == (1797 - n_test, 64)
    assert d.y_test.shape == (n_test,) and d.y_train.shape == (1797 - n_test,)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert d.x_test.dtype == torch.float32 and d.y_test.dtype == torch.int64
    raw = load_digits()
    # pixels scaled to [0, 1]: 16 · x gives back the 0..16 counts; rows are the dataset's rows
    full = np.concatenate([d.x_train.numpy(), d.x_test.numpy()]) * 16
    labels = np.concatenate([d.y_train.numpy(), d.y_test.numpy()])
    order = np.lexsort(np.column_stack([labels, full]).T)
    ref = np.lexsort(np.column_stack([raw.target, raw.data]).T)
    np.testing.assert_array_equal(full[order], raw.data[ref])
    np.testing.assert_array_equal(labels[order], raw.target[ref])
    # stratified: each class's share of the test set within one image of its share overall
    frac = n_test / 1797
    for c in range(10):
        assert abs(int((d.y_test == c).sum()) - frac * int((raw.target == c).sum())) <= 1


@pytest.mark.slow
@given(seed=SEEDS)
@settings(max_examples=max(2, settings.default.max_examples // 8))
def test_digits_split_depends_on_the_seed_only(seed):
    a, b = E.digits(seed), E.digits(seed)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)


@pytest.mark.slow
@given(n=st.integers(1, 50), seed=SEEDS, classes=st.one_of(st.none(), st.integers(1, 4)))
def test_random_labels_are_seeded_in_range_and_reach_every_class(n, seed, classes):
    lab = E.random_labels(n, seed) if classes is None else E.random_labels(n, seed, classes)
    k = 10 if classes is None else classes  # the digits' ten classes by default
    assert lab.shape == (n,) and lab.dtype == torch.int64
    assert int(lab.min()) >= 0 and int(lab.max()) < k
    assert torch.equal(lab, E.random_labels(n, seed, k))
    # 3000 draws miss one of ≤ 10 classes with probability ≤ 10 · 0.9^3000 (fixed seed)
    many = E.random_labels(3000, seed, k)
    assert sorted(set(many.tolist())) == list(range(k))


@pytest.mark.slow  # imports scikit-learn (2 s); no claim witnessed
def test_diabetes_is_standardised():
    """scikit-learn's diabetes: 442 patients, 10 features
    (https://scikit-learn.org/stable/datasets/toy_dataset.html#diabetes-dataset)."""
    from sklearn.datasets import load_diabetes
    from sklearn.preprocessing import StandardScaler

    x, y = E.diabetes()
    raw_x, raw_y = load_diabetes(return_X_y=True)
    assert x.shape == (442, 10) and y.shape == (442,)
    assert x.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(x.std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(y.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(), 1, rtol=1e-12)
    # the raw features are already centred to ~1e-17: only a tight tolerance sees the centring
    np.testing.assert_allclose(x, StandardScaler().fit_transform(raw_x), rtol=0, atol=1e-15)
    np.testing.assert_allclose(y, StandardScaler().fit_transform(raw_y[:, None])[:, 0],
                               rtol=1e-12, atol=1e-13)


# --------------------------------------------------------------------------------- models


def _linears(model) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@pytest.mark.slow
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5), n=st.integers(1, 4),
       act=st.sampled_from([None, nn.Sigmoid, nn.Tanh]), data=st.data())
def test_mlp_counts_and_forward_match_a_plain_computation(sizes, n, act, data):
    net = E.mlp(sizes) if act is None else E.mlp(sizes, act)
    lins = _linears(net)
    assert [(m.in_features, m.out_features) for m in lins] == list(itertools.pairwise(sizes))
    assert sum(p.numel() for p in net.parameters()) == sum(
        a * b + b for a, b in itertools.pairwise(sizes))
    assert all(p.dtype == torch.float32 for p in net.parameters())
    x = torch.from_numpy(data.draw(arrays(np.float32, (n, sizes[0]),
                                          elements=st.floats(-3, 3, width=32))))
    f = torch.relu if act is None else (torch.sigmoid if act is nn.Sigmoid else torch.tanh)
    h = x
    for k, m in enumerate(lins):
        h = h @ m.weight.T + m.bias
        if k < len(lins) - 1:
            h = f(h)
    with torch.no_grad():
        torch.testing.assert_close(net(x), h.detach())


@pytest.mark.slow
@given(d_in=st.integers(1, 4), d_out=st.integers(1, 4), residual=st.booleans(),
       mult=st.one_of(st.none(), st.integers(1, 3)), n=st.integers(1, 3), data=st.data())
def test_residual_mlp_counts_and_forward(d_in, d_out, residual, mult, n, data):
    """Seed 003 q10: hidden = hidden_mult · input (the seed's default mult 4)."""
    net = (E.ResidualMLP(d_in, d_out, residual) if mult is None
           else E.ResidualMLP(d_in, d_out, residual, mult))
    h = (4 if mult is None else mult) * d_in
    assert sum(p.numel() for p in net.parameters()) == d_in * h + h + h * h + h + h * d_out + d_out
    x = torch.from_numpy(data.draw(arrays(np.float32, (n, d_in),
                                          elements=st.floats(-3, 3, width=32))))
    w1, w2, w3 = net.layer1, net.layer2, net.layer3
    h1 = torch.sigmoid(x @ w1.weight.T + w1.bias)
    h2 = torch.sigmoid(h1 @ w2.weight.T + w2.bias)
    out = (h2 + h1 if residual else h2) @ w3.weight.T + w3.bias
    with torch.no_grad():
        torch.testing.assert_close(net(x), out.detach())


def test_tanh_net_defaults_are_seed_002_q4():
    """Seed 002 Q4: depth 8, width 50, on the 64 pixels and 10 classes: 9 weight matrices,
    64·50+50 + 7·(50·50+50) + 50·10+10 = 21,610 parameters."""
    net = E.TanhNet()
    assert len(net.linears) == 9
    assert sum(p.numel() for p in net.parameters()) == 64 * 50 + 50 + 7 * 2550 + 510 == 21610


@pytest.mark.slow
@given(d_in=st.integers(1, 4), width=st.integers(1, 4), depth=st.integers(1, 4),
       d_out=st.integers(1, 4), n=st.integers(1, 3), data=st.data())
def test_tanh_net_trace_matches_a_plain_computation(d_in, width, depth, d_out, n, data):
    net = E.TanhNet(d_in, width, depth, d_out)
    assert [(m.in_features, m.out_features) for m in net.linears] == (
        [(d_in, width)] + [(width, width)] * (depth - 1) + [(width, d_out)])
    x = torch.from_numpy(data.draw(arrays(np.float32, (n, d_in),
                                          elements=st.floats(-3, 3, width=32))))
    with torch.no_grad():
        logits, zs, ys = net.forward_trace(x)
        assert len(zs) == len(ys) == depth
        y = x
        for k, m in enumerate(net.linears[:-1]):
            z = y @ m.weight.T + m.bias
            y = torch.tanh(z)
            torch.testing.assert_close(zs[k], z)
            torch.testing.assert_close(ys[k], y)
        expected = y @ net.linears[-1].weight.T + net.linears[-1].bias
        torch.testing.assert_close(logits, expected)
        torch.testing.assert_close(net(x), expected)


@pytest.mark.slow
@given(seed=SEEDS, d=st.one_of(st.just("xavier"), st.floats(1e-3, 5.0)))
@settings(max_examples=max(2, settings.default.max_examples // 4))
def test_init_uniform_bounds_reach_the_half_width_and_zero_the_biases(seed, d):
    """Weights uniform on [−d, d]; Xavier: d = √(6/(fan_in + fan_out)) per layer (seed 002 Q4,
    the formula its write-up gives); biases zero. Fixed layer sizes 30×40 and 40×20: 1200 and
    800 draws, whose largest |w| falls below 0.99 d with probability 0.99^800 < 4e-4."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(30, 40, dtype=F32), nn.Tanh(), nn.Linear(40, 20, dtype=F32))
    E.init_uniform(net, d)
    for m in _linears(net):
        bound = math.sqrt(6 / (m.in_features + m.out_features)) if d == "xavier" else d
        top = float(m.weight.detach().abs().max())
        assert 0.99 * bound <= top <= bound * (1 + 1e-6), (bound, top)
        assert float(m.weight.detach().min()) < 0 < float(m.weight.detach().max())
        assert torch.count_nonzero(m.bias) == 0


@given(seed=SEEDS, d=st.sampled_from(E.INITS))
@settings(max_examples=max(2, settings.default.max_examples // 8))
def test_tanh_net_helper_seeds_then_initialises(seed, d):
    net = E.tanh_net(seed, d)
    torch.manual_seed(seed)
    ref = E.TanhNet()
    E.init_uniform(ref, d)
    for a, b in zip(net.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)
    assert tuple(net.linears[0].weight.shape) == (50, 64) and len(net.linears) == 9


def test_small_cnn_counts_and_forward():
    """Seed 004 §4 at 8×8: 1·16·9+16 + 16·32·9+32 + 128·10+10 = 6,090 parameters; the forward
    against conv2d / relu / max_pool2d / linear with the same weights (a fixed input, seeded
    explicitly)."""
    torch.manual_seed(0)
    net = E.SmallCNN()
    assert sum(p.numel() for p in net.parameters()) == 160 + 4640 + 1290 == 6090
    c1, c2 = net.features[0], net.features[3]
    x = torch.rand(3, 64, generator=torch.Generator().manual_seed(5), dtype=F32)
    h = F.max_pool2d(F.relu(F.conv2d(x.reshape(3, 1, 8, 8), c1.weight, c1.bias, padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, c2.weight, c2.bias, padding=1)), 2)
    expected = h.reshape(3, 128) @ net.classifier.weight.T + net.classifier.bias
    with torch.no_grad():
        torch.testing.assert_close(net(x), expected.detach())


def test_cnn_vs_mlp_hidden_width_gives_7510_parameters():
    """Seed 004 §4's MLP baseline 64-100-10: 64·100+100 + 100·10+10 = 7,510 parameters."""
    assert E.CNN_VS_MLP_HIDDEN == 100
    net = E.mlp([64, E.CNN_VS_MLP_HIDDEN, 10])
    assert sum(p.numel() for p in net.parameters()) == 7510


# ------------------------------------------------------------------------------- training


@pytest.mark.slow
@given(seed=SEEDS, epochs=st.integers(0, 2), batch=st.one_of(st.none(), st.integers(1, 9)),
       lr=st.sampled_from([0.05, 0.5]), relabel=st.booleans(), bar=st.booleans())
@settings(max_examples=max(4, settings.default.max_examples // 4))
def test_train_classifier_matches_a_reference_loop(seed, epochs, batch, lr, relabel, bar):
    torch.manual_seed(seed)
    data = _tiny_digits(7, 5)
    model = E.mlp([64, 3, 10])
    twin = copy.deepcopy(model)
    y = E.random_labels(7, seed + 1) if relabel else None
    progress = _Bar() if bar else None
    hist = E.train_classifier(model, data, torch.optim.SGD(model.parameters(), lr=lr),
                              epochs=epochs, batch_size=batch, seed=seed, y_train=y,
                              progress=progress)
    curves = _reference_training(twin, data, torch.optim.SGD(twin.parameters(), lr=lr),
                                 epochs=epochs, batch_size=batch, seed=seed, y=y)
    _assert_history(hist, curves, epochs)
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    if bar:
        assert progress.calls == [1] * epochs


def test_train_classifier_full_batch_is_one_gradient_step_per_epoch():
    """One epoch full batch with SGD = θ − lr ∇L(θ), the gradient by autograd here (a fixed
    construction seeded explicitly)."""
    torch.manual_seed(3)
    data = _tiny_digits(6, 2)
    model = E.mlp([64, 4, 10])
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    w1, b1, w2, b2 = params
    loss = F.cross_entropy(torch.relu(data.x_train @ w1.T + b1) @ w2.T + b2, data.y_train)
    grads = torch.autograd.grad(loss, params)
    E.train_classifier(model, data, torch.optim.SGD(model.parameters(), lr=0.3), epochs=1,
                       batch_size=None, seed=0)
    for p, q, g in zip(model.parameters(), params, grads, strict=True):
        torch.testing.assert_close(p, q - 0.3 * g)


# ------------------------------------------------------------------- gradients through depth


@st.composite
def _tanh_batches(draw):
    d_in, width, depth, d_out = (draw(st.integers(1, 4)), draw(st.integers(2, 5)),
                                 draw(st.integers(2, 4)), draw(st.integers(2, 4)))
    n = draw(st.integers(1, 4))
    seed = draw(SEEDS)
    scale = draw(st.sampled_from([0.1, 1.0, 3.0]))
    torch.manual_seed(seed)
    net = E.TanhNet(d_in, width, depth, d_out)
    E.init_uniform(net, scale)
    x = torch.from_numpy(draw(arrays(np.float32, (n, d_in), elements=st.floats(-2, 2, width=32))))
    y = torch.tensor(draw(st.lists(st.integers(0, d_out - 1), min_size=n, max_size=n)))
    note(f"d_in={d_in} width={width} depth={depth} d_out={d_out} n={n} d={scale}")
    return net, x, y


@pytest.mark.slow
@given(batch=_tanh_batches())
@settings(max_examples=max(4, settings.default.max_examples // 2))
def test_layer_gradients_match_autograd_and_numpy(batch):
    net, x, y = batch
    g = E.layer_gradients(net, x, y)
    weights = [m.weight for m in net.linears]
    h, zs, ys = x, [], []
    for m in net.linears[:-1]:
        zs.append(h @ m.weight.T + m.bias)
        h = torch.tanh(zs[-1])
        ys.append(h)
    loss = F.cross_entropy(h @ net.linears[-1].weight.T + net.linears[-1].bias, y)
    grads = torch.autograd.grad(loss, weights + ys)
    depth = len(ys)
    np.testing.assert_allclose(g.weight_norms, [float(torch.linalg.norm(gw))
                                                for gw in grads[:depth + 1]], rtol=1e-5)
    np.testing.assert_allclose(g.act_grad_norms, np.stack(
        [np.linalg.norm(ga.double().numpy(), axis=1) for ga in grads[depth + 1:]]),
        rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(g.spectral, [np.linalg.norm(w.detach().double().numpy(), 2)
                                            for w in weights], rtol=1e-10)
    np.testing.assert_allclose(g.tanh_prime_max, np.stack(
        [(1 / np.cosh(z.detach().double().numpy()) ** 2).max(axis=1) for z in zs]),
        rtol=1e-10)
    np.testing.assert_allclose(g.saturated, [float((np.abs(a.detach().numpy()) > 0.99).mean())
                                             for a in ys])
    assert g.act_grad_norms.shape == (depth, len(y))
    assert all(p.grad is None or not bool(p.grad.any()) for p in net.parameters())


def test_layer_gradients_counts_a_unit_at_exactly_0_99_as_not_saturated():
    """``saturated`` is the share of units with |y| > 0.99, strictly (its docstring): with
    W_1 = 0 and b_1 = atanh(0.99), every unit of layer 1 outputs tanh(b_1) = 0.99 exactly in
    float64 (checked first), so none is saturated; at b_1 + 1e-12 all are. A fixed
    construction: no draw."""
    net = E.TanhNet(d_in=3, width=4, depth=2, d_out=2).double()
    x = torch.zeros(2, 3, dtype=torch.float64)
    y = torch.tensor([0, 1])
    b = torch.tensor(math.atanh(0.99), dtype=torch.float64)
    assert float(torch.tanh(b)) == 0.99
    with torch.no_grad():
        net.linears[0].weight.zero_()
        net.linears[0].bias.fill_(b)
    assert E.layer_gradients(net, x, y).saturated[0] == 0.0
    with torch.no_grad():
        net.linears[0].bias.fill_(b + 1e-12)
    assert E.layer_gradients(net, x, y).saturated[0] == 1.0


def test_layer_gradients_refuses_a_network_of_mixed_dtypes():
    """A TanhNet whose layers do not share one dtype is refused, naming both, whichever layer
    x matches (no raw torch error from inside the forward)."""
    whole_layer = E.TanhNet(d_in=3, width=4, depth=2, d_out=2)
    whole_layer.linears[0].double()
    one_bias = E.TanhNet(d_in=3, width=4, depth=2, d_out=2)
    one_bias.linears[1].bias.data = one_bias.linears[1].bias.data.double()
    for net, dtype in itertools.product((whole_layer, one_bias), (torch.float64, torch.float32)):
        with pytest.raises(TypeError, match=r"net's layers must share one dtype, got "
                                            r"torch.float32, torch.float64"):
            E.layer_gradients(net, torch.zeros(2, 3, dtype=dtype), torch.tensor([0, 1]))


@pytest.mark.slow
@given(batch=_tanh_batches())
@settings(max_examples=max(4, settings.default.max_examples // 2))
def test_backprop_bound_is_the_product_of_spectral_norms_and_holds(batch):
    """bound_i = ‖∂L/∂y_L‖ ∏_{k=i+1}^{L} ‖A_k‖₂ max_j tanh′(z_k) (seed 002 Q4, 000 P2), with
    ‖A_k‖₂ by torch.linalg.matrix_norm(ord=2) and tanh′ = 1/cosh² here; it bounds ‖∂L/∂y_i‖."""
    net, x, y = batch
    g = E.layer_gradients(net, x, y)
    bound = E.backprop_bound(g)
    depth = len(net.linears) - 1
    with torch.no_grad():
        _, zs, _ = net.forward_trace(x)
        for i in range(depth):
            factor = torch.ones(len(y), dtype=torch.float64)
            for k in range(i + 1, depth):  # 0-based: layer k+1's weight is linears[k]
                spec = torch.linalg.matrix_norm(net.linears[k].weight.double(), ord=2)
                factor = factor * spec * (1 / torch.cosh(zs[k].double()) ** 2).max(dim=1).values
            np.testing.assert_allclose(bound[i], g.act_grad_norms[-1] * factor.numpy(),
                                       rtol=1e-6)
    assert np.all(g.act_grad_norms <= bound * (1 + 1e-4) + 1e-30)


@pytest.mark.slow
@given(depth=st.integers(1, 5), n=st.integers(1, 3), data=st.data())
def test_backprop_bound_on_drawn_factors(depth, n, data):
    pos = st.floats(0.01, 10)
    act = data.draw(arrays(np.float64, (depth, n), elements=pos))
    spec = data.draw(arrays(np.float64, (depth + 1,), elements=pos))
    tpm = data.draw(arrays(np.float64, (depth, n), elements=st.floats(0.01, 1)))
    g = E.LayerGradients(np.ones(depth + 1), act, spec, tpm, np.zeros(depth))
    expected = np.array([[act[-1, m] * math.prod(spec[k] * tpm[k, m] for k in range(i + 1, depth))
                          for m in range(n)] for i in range(depth)])
    np.testing.assert_allclose(E.backprop_bound(g), expected, rtol=1e-12)


@pytest.mark.slow
@given(norms=arrays(np.float64, st.integers(2, 8), elements=st.floats(1e-6, 1e6)))
def test_geometric_rate_is_exp_of_the_least_squares_slope(norms):
    k = np.arange(len(norms))
    slope = np.linalg.lstsq(np.column_stack([k, np.ones_like(k)]).astype(float),
                            np.log(norms), rcond=None)[0][0]
    assert math.isclose(E.geometric_rate(norms), math.exp(slope), rel_tol=1e-8)


@pytest.mark.slow
@given(r=st.floats(0.01, 10), c=st.floats(0.1, 10), n=st.integers(2, 8))
def test_geometric_rate_of_a_geometric_sequence_is_its_ratio(r, c, n):
    assert math.isclose(E.geometric_rate(c * r ** np.arange(n)), r, rel_tol=1e-9)


# ------------------------------------------------------------------ the seed-002 Q1 regressor


@pytest.mark.slow
@given(seed=SEEDS, d_in=st.one_of(st.none(), st.integers(1, 5)),
       hidden=st.one_of(st.none(), st.integers(1, 5)))
def test_regression_init_is_xavier_uniform_from_default_rng(seed, d_in, hidden):
    """Seed 002 Q1's ``xavier_init``: uniform on ±√(6/(fan_in + fan_out)); W1 (H, D) first,
    then w2 (a 1×H layer), from ``numpy.random.default_rng(seed)``: numpy's uniform(−a, a) is
    −a + 2a·u for the generator's next doubles u. Defaults D = 10 (diabetes), H = 20."""
    kw = {k: v for k, v in (("d_in", d_in), ("hidden", hidden)) if v is not None}
    p = E.regression_init(seed, **kw)
    dd, hh = d_in or 10, hidden or 20
    assert set(p) == {"W1", "b1", "w2", "b2"}
    assert p["W1"].shape == (hh, dd) and p["w2"].shape == (hh,)
    assert p["b1"].shape == (hh,) and p["b2"].shape == ()
    assert not p["b1"].any() and not p["b2"].any()
    u = np.random.default_rng(seed).random(hh * dd + hh)
    a1, a2 = math.sqrt(6 / (hh + dd)), math.sqrt(6 / (hh + 1))
    np.testing.assert_allclose(p["W1"], (-a1 + 2 * a1 * u[:hh * dd]).reshape(hh, dd),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p["w2"], -a2 + 2 * a2 * u[hh * dd:], rtol=1e-12, atol=1e-15)


@pytest.mark.slow
@given(r=arrays(np.float64, st.integers(1, 6), elements=st.floats(-5, 5)),
       y=st.floats(-3, 3))
def test_regression_loss_is_mean_absolute_or_half_mean_square(r, y):
    y_hat = r + y
    ys = np.full_like(r, y)
    assert math.isclose(E.regression_loss(y_hat, ys, "mae"),
                        sum(abs(a - y) for a in y_hat) / len(r), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(E.regression_loss(y_hat, ys, "mse"),
                        sum((a - y) ** 2 for a in y_hat) / (2 * len(r)), rel_tol=1e-9,
                        abs_tol=1e-12)
    t = E.regression_loss(torch.from_numpy(y_hat), torch.from_numpy(ys), "mae")
    assert math.isclose(float(t), float(np.mean(np.abs(y_hat - ys))), rel_tol=1e-9,
                        abs_tol=1e-12)


def _regression_j(x, y, p, loss):
    """The seed's forward, written here: ŷ = w2 · tanh(W1 x + b1) + b2."""
    y_hat = np.tanh(x @ p["W1"].T + p["b1"]) @ p["w2"] + p["b2"]
    r = y_hat - y
    return np.mean(np.abs(r)) if loss == "mae" else 0.5 * np.mean(r ** 2)


@st.composite
def _regression_problems(draw):
    n, d, h = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    f = st.floats(-1.5, 1.5)
    x = draw(arrays(np.float64, (n, d), elements=f))
    y = draw(arrays(np.float64, (n,), elements=f))
    p = {"W1": draw(arrays(np.float64, (h, d), elements=f)),
         "b1": draw(arrays(np.float64, (h,), elements=f)),
         "w2": draw(arrays(np.float64, (h,), elements=f)),
         "b2": np.array(draw(f))}
    return x, y, p, draw(st.sampled_from(["mae", "mse"]))


@pytest.mark.slow
@given(problem=_regression_problems())
def test_regression_gradients_hand_and_autograd_match_finite_differences(problem):
    x, y, p, loss = problem
    y_hat = np.tanh(x @ p["W1"].T + p["b1"]) @ p["w2"] + p["b2"]
    assume(np.abs(y_hat - y).min() > 1e-3)  # |r| is not differentiable at r = 0
    j0 = _regression_j(x, y, p, loss)
    eps = 1e-6
    fd = {}
    for k, v in p.items():
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            plus, minus = copy.deepcopy(p), copy.deepcopy(p)
            plus[k][idx] += eps
            minus[k][idx] -= eps
            g[idx] = (_regression_j(x, y, plus, loss) - _regression_j(x, y, minus, loss)) / (
                2 * eps)
        fd[k] = g
    for fn in (E.hand_regression_gradients, E.autograd_regression_gradients):
        j, grads = fn(x, y, p, loss)
        assert math.isclose(j, j0, rel_tol=1e-12, abs_tol=1e-14), fn.__name__
        assert set(grads) == set(p)
        for k in p:
            assert grads[k].shape == p[k].shape, (fn.__name__, k)
            np.testing.assert_allclose(grads[k], fd[k], rtol=1e-5, atol=1e-7,
                                       err_msg=f"{fn.__name__} {k}")


def _reference_regression(seed, loss, steps, lr, grad_fn):
    """Full-batch gradient descent θ ← θ − lr·∇J on the standardised diabetes data."""
    x, y = E.diabetes()
    p = E.regression_init(seed, 10)
    losses, params = [], []
    for _ in range(steps):
        j, g = grad_fn(x, y, p, loss)
        p = {k: p[k] - lr * g[k] for k in p}
        losses.append(j)
        params.append(p)
    losses.append(grad_fn(x, y, p, loss)[0])
    return losses, params


@pytest.mark.slow
@given(seed=SEEDS, gradients=st.sampled_from(["hand", "autograd"]),
       loss=st.sampled_from(["mae", "mse"]), steps=st.integers(0, 3),
       lr=st.sampled_from([0.05, 0.3]), bar=st.booleans())
@settings(max_examples=max(2, settings.default.max_examples // 4))
def test_regression_run_is_gradient_descent_with_the_other_twin(seed, gradients, loss, steps,
                                                                 lr, bar):
    """Each run against a loop written here with the *other* gradient function (the hand run
    against autograd, and the other way round)."""
    other = (E.autograd_regression_gradients if gradients == "hand"
             else E.hand_regression_gradients)
    progress = _Bar() if bar else None
    run = E.regression_run(gradients, seed=seed, loss=loss, steps=steps, lr=lr,
                           progress=progress)
    losses, params = _reference_regression(seed, loss, steps, lr, other)
    assert len(run.losses) == steps + 1 and len(run.params) == steps
    np.testing.assert_allclose(run.losses, losses, rtol=1e-10)
    for a, b in zip(run.params, params, strict=True):
        for k in b:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-12)
    if bar:
        assert progress.calls == [1] * steps


@pytest.mark.slow
def test_regression_run_defaults_are_the_seed_setting():
    """Seed 002 Q1 as ``docs/experiments.md`` runs it: seed 0, MAE, 200 steps of lr 0.05
    (a fixed run, seeded explicitly)."""
    run = E.regression_run("hand")
    losses, params = _reference_regression(0, "mae", 200, 0.05, E.autograd_regression_gradients)
    assert len(run.losses) == 201
    np.testing.assert_allclose(run.losses, losses, rtol=1e-9)
    for k in params[-1]:
        np.testing.assert_allclose(run.params[-1][k], params[-1][k], rtol=1e-8, atol=1e-12)


# ----------------------------------------------------------------------- the training runs


def _with_tiny_digits(mp, n_train=40, n_test=12):
    tiny = _tiny_digits(n_train, n_test)
    seen = []

    def fake(seed=0, test_size=0.25):
        seen.append(seed)
        return tiny

    mp.setattr(E, "digits", fake)
    return tiny, seen


@pytest.mark.slow
@given(seed=SEEDS, random=st.booleans(), n_train=st.integers(1, 40), bar=st.booleans())
@RUNS
def test_memorisation_run_is_full_batch_adam_on_the_first_n_train(seed, random, n_train, bar):
    """Seed 000 P6 as ``memorisation_run`` documents it: a 64-h-h-10 ReLU MLP seeded with
    ``torch.manual_seed(seed)``, Adam lr 3e-3, full batch, 150 epochs by default; random
    labels from ``random_labels(n_train, seed)``; tested on the whole test split."""
    with pytest.MonkeyPatch.context() as mp:
        tiny, seen = _with_tiny_digits(mp)
        progress = _Bar() if bar else None
        hist = E.memorisation_run(seed, random=random, hidden=3, n_train=n_train,
                                  progress=progress)
        assert seen == [seed]
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 3, dtype=F32), nn.ReLU(), nn.Linear(3, 3, dtype=F32),
                          nn.ReLU(), nn.Linear(3, 10, dtype=F32))
    data = E.Digits(tiny.x_train[:n_train], tiny.y_train[:n_train], tiny.x_test, tiny.y_test)
    y = E.random_labels(n_train, seed) if random else None
    curves = _reference_training(model, data, torch.optim.Adam(model.parameters(), lr=3e-3),
                                 epochs=150, batch_size=None, seed=seed, y=y)
    _assert_history(hist, curves, 150)
    if bar:
        assert progress.n == 150


@pytest.mark.slow
def test_memorisation_run_defaults_train_500_images_of_width_256():
    """The default setting (500 training digits, hidden 256) at epoch 0 only (fixed seed 0)."""
    hist = E.memorisation_run(0, random=False, epochs=0)
    full = E.digits(0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256, dtype=F32), nn.ReLU(),
                          nn.Linear(256, 256, dtype=F32), nn.ReLU(), nn.Linear(256, 10, dtype=F32))
    data = E.Digits(full.x_train[:500], full.y_train[:500], full.x_test, full.y_test)
    curves = _reference_training(model, data, torch.optim.Adam(model.parameters()), epochs=0,
                                 batch_size=None, seed=0)
    _assert_history(hist, curves, 0)


@pytest.mark.parametrize("n_train", [0, 41])
def test_memorisation_run_refuses_n_train_outside_the_split(n_train):
    with pytest.MonkeyPatch.context() as mp:
        _with_tiny_digits(mp)
        with pytest.raises(ValueError, match="n_train"):
            E.memorisation_run(0, random=True, n_train=n_train, hidden=2, epochs=1)


def test_memorisation_run_accepts_the_whole_split():
    with pytest.MonkeyPatch.context() as mp:
        _with_tiny_digits(mp)
        hist = E.memorisation_run(0, random=True, n_train=40, hidden=2, epochs=1)
    assert len(hist.train_acc) == 2


@pytest.mark.slow
@given(seed=SEEDS, d=st.sampled_from(E.INITS), bar=st.booleans())
@RUNS
def test_init_run_is_seeded_sgd_on_the_tanh_net(seed, d, bar):
    """Seed 002 Q4 d) as documented: ``TanhNet()`` (64-50×8-10) after ``torch.manual_seed``,
    weights uniform on [−d, d] (Xavier's bound per layer), zero biases, plain SGD lr 0.01,
    batches of 32, 20 epochs by default."""
    with pytest.MonkeyPatch.context() as mp:
        tiny, seen = _with_tiny_digits(mp)
        progress = _Bar() if bar else None
        hist = E.init_run(seed, d, progress=progress)
        assert seen == [seed]
    torch.manual_seed(seed)
    sizes = [64] + [50] * 8 + [10]
    lins = [nn.Linear(a, b, dtype=F32) for a, b in itertools.pairwise(sizes)]
    with torch.no_grad():
        for m in lins:
            bound = math.sqrt(6 / (m.in_features + m.out_features)) if d == "xavier" else d
            m.weight.uniform_(-bound, bound)
            m.bias.zero_()
    layers = []
    for m in lins[:-1]:
        layers += [m, nn.Tanh()]
    model = nn.Sequential(*layers, lins[-1])
    curves = _reference_training(model, tiny, torch.optim.SGD(model.parameters(), lr=0.01),
                                 epochs=20, batch_size=32, seed=seed)
    _assert_history(hist, curves, 20)
    if bar:
        assert progress.n == 20


@pytest.mark.slow
@given(seed=SEEDS, act=st.sampled_from(["relu", "sigmoid"]))
@RUNS
def test_activation_run_is_vugrads_mlp_with_sgd(seed, act):
    """Seed 003 q9 as documented: 64 → 4·64 → 10 with ReLU or sigmoid, SGD lr 0.01, batches
    of 32, 10 epochs by default."""
    with pytest.MonkeyPatch.context() as mp:
        tiny, seen = _with_tiny_digits(mp)
        hist = E.activation_run(seed, act)
        assert seen == [seed]
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 256, dtype=F32),
                          nn.ReLU() if act == "relu" else nn.Sigmoid(),
                          nn.Linear(256, 10, dtype=F32))
    curves = _reference_training(model, tiny, torch.optim.SGD(model.parameters(), lr=0.01),
                                 epochs=10, batch_size=32, seed=seed)
    _assert_history(hist, curves, 10)


class _Residual(nn.Module):
    def __init__(self, residual: bool) -> None:
        super().__init__()
        self.a = nn.Linear(64, 256, dtype=F32)
        self.b = nn.Linear(256, 256, dtype=F32)
        self.c = nn.Linear(256, 10, dtype=F32)
        self.residual = residual

    def forward(self, x):
        h1 = torch.sigmoid(self.a(x))
        h2 = torch.sigmoid(self.b(h1))
        return self.c(h2 + h1 if self.residual else h2)


@pytest.mark.slow
@given(seed=SEEDS, residual=st.booleans(), opt=st.sampled_from([None, "sgd", "adam"]))
@RUNS
def test_residual_run_trains_the_three_layer_sigmoid_mlp(seed, residual, opt):
    """Seed 003 q10 as documented: hidden 4·64, SGD lr 0.01 by default (or Adam), batches of
    32, 10 epochs."""
    with pytest.MonkeyPatch.context() as mp:
        tiny, seen = _with_tiny_digits(mp)
        hist = (E.residual_run(seed, residual) if opt is None
                else E.residual_run(seed, residual, optimiser=opt))
        assert seen == [seed]
    torch.manual_seed(seed)
    model = _Residual(residual)
    o = (torch.optim.Adam(model.parameters(), lr=0.01) if opt == "adam"
         else torch.optim.SGD(model.parameters(), lr=0.01))
    curves = _reference_training(model, tiny, o, epochs=10, batch_size=32, seed=seed)
    _assert_history(hist, curves, 10)


@pytest.mark.slow
@given(seed=SEEDS, opt=st.sampled_from(["sgd", "adam"]), lr=st.sampled_from(E._LR_GRID),
       momentum=st.one_of(st.none(), st.sampled_from(E._MOMENTA)))
@RUNS
def test_optimiser_run_trains_the_64_128_64_10_mlp(seed, opt, lr, momentum):
    """Seed 003 q11–12 as documented: 64-128-64-10 ReLU, SGD with momentum (0 by default) or
    Adam, batches of 32, 10 epochs; the seed's grids lr ∈ {5e-4, 1e-3, 1e-2}, m ∈ {0.9, 0.95}."""
    assert E._LR_GRID == (0.0005, 0.001, 0.01) and E._MOMENTA == (0.9, 0.95)
    kw = {} if momentum is None else {"momentum": momentum}
    with pytest.MonkeyPatch.context() as mp:
        tiny, seen = _with_tiny_digits(mp)
        hist = E.optimiser_run(seed, opt, lr=lr, **kw)
        assert seen == [seed]
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128, dtype=F32), nn.ReLU(),
                          nn.Linear(128, 64, dtype=F32), nn.ReLU(), nn.Linear(64, 10, dtype=F32))
    o = (torch.optim.Adam(model.parameters(), lr=lr) if opt == "adam"
         else torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum or 0.0))
    curves = _reference_training(model, tiny, o, epochs=10, batch_size=32, seed=seed)
    _assert_history(hist, curves, 10)


class _CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1, dtype=F32)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1, dtype=F32)
        self.fc = nn.Linear(128, 10, dtype=F32)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.c1(x.reshape(-1, 1, 8, 8))), 2)
        h = F.max_pool2d(F.relu(self.c2(h)), 2)
        return self.fc(h.reshape(len(h), -1))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cnn", "mlp"])
@given(seed=SEEDS)
@RUNS
def test_cnn_vs_mlp_run_trains_both_with_the_same_adam(model, seed):
    """Seed 004 §4 as documented: ``SmallCNN`` or 64-100-10 ReLU, Adam lr 1e-3, batches of 32,
    15 epochs, ``torch.manual_seed(seed)``."""
    with pytest.MonkeyPatch.context() as mp:
        tiny, seen = _with_tiny_digits(mp)
        hist = E.cnn_vs_mlp_run(seed, model)
        assert seen == [seed]
    torch.manual_seed(seed)
    net = _CNN() if model == "cnn" else nn.Sequential(
        nn.Linear(64, 100, dtype=F32), nn.ReLU(), nn.Linear(100, 10, dtype=F32))
    curves = _reference_training(net, tiny, torch.optim.Adam(net.parameters(), lr=1e-3),
                                 epochs=15, batch_size=32, seed=seed)
    _assert_history(hist, curves, 15)


def _numpy_reference(seed, hidden, std, steps, lr, batch, data):
    """The practical's numpy MLP written with torch autograd in float64: weights N(0, std²)
    (out, in) drawn layer after layer from ``default_rng(seed)``, zero biases, then per step a
    batch drawn without replacement from the same generator, θ ← θ − lr ∇ mean CE."""
    x, y = data.x_train.double(), data.y_train
    rng = np.random.default_rng(seed)
    sizes = [64, *hidden, 10]
    ws = [torch.tensor(rng.normal(0.0, std, (b, a)), requires_grad=True)
          for a, b in itertools.pairwise(sizes)]
    bs = [torch.zeros(b, dtype=torch.float64, requires_grad=True) for b in sizes[1:]]

    def forward(inp):
        for k, (w, b) in enumerate(zip(ws, bs, strict=True)):
            inp = inp @ w.T + b
            if k < len(ws) - 1:
                inp = torch.relu(inp)
        return inp

    for _ in range(steps):
        idx = torch.from_numpy(rng.choice(len(y), size=batch, replace=False))
        grads = torch.autograd.grad(F.cross_entropy(forward(x[idx]), y[idx]), ws + bs)
        with torch.no_grad():
            for p, g in zip(ws + bs, grads, strict=True):
                p -= lr * g
    with torch.no_grad():
        logits = forward(x)
        return {"train_acc": float((logits.argmax(1) == y).double().mean()),
                "test_acc": float((forward(data.x_test.double()).argmax(1) == data.y_test)
                                  .double().mean()),
                "train_loss": float(F.cross_entropy(logits, y)),
                "max_abs_logit": float(logits.abs().max())}


@pytest.mark.parametrize("hidden", [[], [3], [2, 4]])
@given(seed=SEEDS, steps=st.integers(1, 3), batch=st.integers(1, 40),
       std=st.sampled_from([0.1, 1.0, 1e-4]))
@RUNS
def test_numpy_mlp_run_matches_an_autograd_twin(hidden, seed, steps, batch, std):
    with pytest.MonkeyPatch.context() as mp:
        tiny, _ = _with_tiny_digits(mp)
        out = E.numpy_mlp_run(seed, hidden, weight_std=std, steps=steps, lr=0.5,
                              batch_size=batch)
    ref = _numpy_reference(seed, hidden, std, steps, 0.5, batch, tiny)
    assert set(out) == set(ref)
    for k in ref:
        assert math.isclose(out[k], ref[k], rel_tol=1e-7, abs_tol=1e-12), (k, out[k], ref[k])


@pytest.mark.parametrize("hidden", [[], [3]])
def test_numpy_mlp_run_stops_at_the_first_non_finite_value(hidden):
    """Weights drawn with std 1e300 make the logits overflow, or so large that the softmax
    gives a probability 0 to a true class: a numpy module refuses the value (ValueError: not
    finite, or log 0 in the loss), so no run returns with a NaN or inf in a value it used (the
    40-row stand-in of the digits, seed 0)."""
    with pytest.MonkeyPatch.context() as mp:
        _with_tiny_digits(mp)
        with np.errstate(over="ignore"), pytest.raises(
                ValueError, match=r"must be finite|must be positive wherever y is"):
            E.numpy_mlp_run(0, hidden, weight_std=1e300, steps=1, batch_size=4)


@pytest.mark.slow
def test_numpy_mlp_run_defaults_are_the_practicals():
    """Seed 004 §1.2: std 1e-4, lr 2e-3, batch 200, 1500 steps (a fixed run, seeded
    explicitly; one linear layer on a 240-row stand-in split, its softmax cross-entropy step
    written in numpy here: ∇_W = (p − onehot)ᵀ x / B)."""
    with pytest.MonkeyPatch.context() as mp:
        tiny, _ = _with_tiny_digits(mp, 240, 12)
        out = E.numpy_mlp_run(2, [])
    x, y = tiny.x_train.double().numpy(), tiny.y_train.numpy()
    rng = np.random.default_rng(2)
    w, b = rng.normal(0.0, 1e-4, (10, 64)), np.zeros(10)
    onehot = np.eye(10)

    def probs(inp):
        z = inp @ w.T + b
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return z, e / e.sum(axis=1, keepdims=True)

    for _ in range(1500):
        idx = rng.choice(len(y), size=200, replace=False)
        _, p = probs(x[idx])
        d = (p - onehot[y[idx]]) / 200
        w, b = w - 2e-3 * d.T @ x[idx], b - 2e-3 * d.sum(axis=0)
    z, p = probs(x)
    zt, _ = probs(tiny.x_test.double().numpy())
    ref = {"train_acc": float((z.argmax(1) == y).mean()),
           "test_acc": float((zt.argmax(1) == tiny.y_test.numpy()).mean()),
           "train_loss": float(-np.log(p[np.arange(len(y)), y]).mean()),
           "max_abs_logit": float(np.abs(z).max())}
    for k in ref:
        assert math.isclose(out[k], ref[k], rel_tol=1e-7, abs_tol=1e-12), (k, out[k], ref[k])


_SEED_NETWORK = B.seed_network


def _small_seed_network(dtype=None):
    return _SEED_NETWORK(channels=2, hidden=8, dtype=dtype)


@pytest.mark.slow
@given(seed=SEEDS, steps=st.integers(0, 2), batch=st.integers(2, 3), images=st.integers(1, 3),
       default=st.booleans())
@RUNS
def test_bn_fold_float32_differences_against_a_written_out_run(seed, steps, batch, images,
                                                              default):
    """Seed 001 P3 as documented: ``torch.manual_seed(seed)``, the network, SGD lr 0.05 for
    ``steps`` steps on uniform images and labels from one generator seeded with ``seed``
    (defaults 2 steps of 8, then 16 test images), folded and compared in eval mode; on a
    narrow network (2 channels, hidden 8) put in place of the seed's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(B, "seed_network", _small_seed_network)
        out = (E.bn_fold_float32_differences(seed) if default else
               E.bn_fold_float32_differences(seed, steps=steps, batch=batch, images=images))
    if default:
        steps, batch, images = 2, 8, 16
    torch.manual_seed(seed)
    net = _small_seed_network(dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    net.train()
    for _ in range(steps):
        xb = torch.rand(batch, 3, 32, 32, generator=gen, dtype=F32)
        labels = torch.randint(0, 10, (batch,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(net(xb), labels).backward()
        opt.step()
    net.eval()
    folded = B.fold_batchnorm(net)
    x = torch.rand(images, 3, 32, 32, generator=gen, dtype=F32)
    with torch.no_grad():
        ref, fold = net(x), folded(x)
    diff = (fold - ref).abs()
    assert out["max_abs_output"] == pytest.approx(float(ref.abs().max()), rel=1e-6)
    assert out["max"] == pytest.approx(float(diff.max()), rel=1e-6, abs=1e-12)
    assert out["mean"] == pytest.approx(float(diff.mean()), rel=1e-6, abs=1e-12)


# --------------------------------------------------------------------------- the figures CLI


class _Axes:
    """Records what is drawn: (method, args, kwargs) per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
        return record

    def lines(self, method="plot"):
        return [a for m, a, _ in self.calls if m == method]

    def label(self, key):
        return " ".join(k[key] for m, _, k in self.calls if m == "set" and key in k)


class _Figure:
    def tight_layout(self):
        pass

    def savefig(self, path, dpi=None):
        path.write_bytes(b"png")


class _TqdmBar(_Bar):
    def __init__(self, total=None, **_):
        super().__init__()
        self.total = total
        _TqdmBar.made.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.slow
def test_figures_train_every_run_once_and_plot_what_they_return(tmp_path):
    """``python -m impl.experiments figures`` with each run replaced by a stub that ticks the
    bar once per epoch (its own default when not given) and returns marked curves, and pyplot
    replaced by recorders (a fixed construction: seed 0, the tiny split). The files are the
    five experiment figures committed in docs/figures; the bar's total is the epochs ticked;
    each axis label states the settings its runs were called with; the plotted curves are the
    runs' own."""
    import inspect

    import matplotlib.pyplot as plt
    import tqdm

    calls: list[tuple[str, tuple, dict]] = []

    def stub(name):
        real = getattr(E, name)
        sig = inspect.signature(real)

        def run(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            calls.append((name, args, kwargs))
            n = bound.arguments.get("epochs", bound.arguments.get("steps"))
            for _ in range(n):
                kwargs["progress"].update(1)
            tag = float(len(calls))
            if name == "regression_run":
                p = {"a": np.array([tag]), "b": np.zeros(2)}
                return E.RegressionRun([tag] * (n + 1), [p] * n)
            return E.History([tag] * (n + 1), [tag + 0.5] * (n + 1), [tag + 0.25] * (n + 1),
                             [tag + 0.75] * (n + 1))
        return run

    axes: list[_Axes] = []

    def subplots(nrows=1, ncols=1, **_):
        made = [_Axes() for _ in range(nrows * ncols)]
        axes.extend(made)
        return _Figure(), (made[0] if len(made) == 1 else tuple(made))

    _TqdmBar.made = []
    with pytest.MonkeyPatch.context() as mp:
        tiny, _ = _with_tiny_digits(mp, n_train=300)  # more than the 256 the figure uses
        for name in ("memorisation_run", "init_run", "activation_run", "residual_run",
                     "optimiser_run", "regression_run"):
            mp.setattr(E, name, stub(name))
        mp.setattr(plt, "subplots", subplots)
        mp.setattr(plt, "close", lambda fig: None)
        mp.setattr(tqdm, "tqdm", _TqdmBar)
        written = E._figures(tmp_path, 0)
    committed = {"memorisation.png", "init_gradient_norms.png", "init_training.png",
                 "activation_residual.png", "optimisers.png", "regression_hand_vs_autograd.png"}
    assert committed <= {p.name for p in (Path("docs") / "figures").glob("*.png")}
    assert {p.name for p in written} == committed and all(p.exists() for p in written)
    (bar,) = _TqdmBar.made
    assert bar.n == bar.total and bar.calls == [1] * bar.n
    by = {}
    for name, args, kwargs in calls:
        by.setdefault(name, []).append((args, kwargs))
    # 000 P6: random and true labels, the seed's 150 epochs (000_44446893528eed8a.txt, epochs)
    assert sorted(k["random"] for _, k in by["memorisation_run"]) == [False, True]
    assert all("epochs" not in k for _, k in by["memorisation_run"])
    assert inspect.signature(E.memorisation_run).parameters["epochs"].default == 150
    mem = axes[0]
    assert [list(a[0]) for a in mem.lines()] == [[1.5] * 151, [1.75] * 151,
                                                  [2.5] * 151, [2.75] * 151]
    assert [a[0] for a in mem.lines("axhline")] == [1 / 10]  # chance on ten classes
    # 002 Q4: the four initialisations; gradient norms against layer k = 1, 2, … (1 = input)
    grads, bound_ax = axes[1], axes[2]
    assert "1 = input" in grads.label("xlabel")
    for d, w, a, b in zip(E.INITS, grads.lines("semilogy"), bound_ax.lines("semilogy")[::2],
                          bound_ax.lines("semilogy")[1::2], strict=True):
        # docs/experiments.md: "gradient norms at initialisation on the first 256 training images"
        g = E.layer_gradients(E.tanh_net(0, d), tiny.x_train[:256], tiny.y_train[:256])
        assert list(w[0]) == list(range(1, 10)) and np.array_equal(w[1], g.weight_norms)
        assert list(a[0]) == list(range(1, 9)) == list(b[0])
        np.testing.assert_allclose(a[1], np.sqrt((g.act_grad_norms ** 2).sum(axis=1)))
        np.testing.assert_allclose(b[1], np.sqrt((E.backprop_bound(g) ** 2).sum(axis=1)))
    assert sorted(map(str, (a[1] for a, _ in by["init_run"]))) == sorted(map(str, E.INITS))
    training = axes[3]
    assert "lr 0.01" in training.label("xlabel") and "batch 32" in training.label("xlabel")
    assert all(k.get("lr", 0.01) == 0.01 and k.get("batch_size", 32) == 32
               for _, k in by["init_run"])
    # docs/experiments.md: "training by initialisation over 20 epochs"
    assert [k["epochs"] for _, k in by["init_run"]] == [20] * len(E.INITS)
    # 003 q9–q12: the labels state lr 0.1 (q9) and Adam lr 1e-3 (q10); ten epochs each
    act_ax, res_ax = axes[4], axes[5]
    assert "lr 0.1" in act_ax.label("xlabel") and "Adam lr 1e-3" in res_ax.label("xlabel")
    assert [(a[1], k["lr"], k["epochs"]) for a, k in by["activation_run"]] == [
        ("relu", 0.1, 10), ("sigmoid", 0.1, 10)]
    assert [(a[1], k["lr"], k["optimiser"], k["epochs"]) for a, k in by["residual_run"]] == [
        (True, 1e-3, "adam", 10), (False, 1e-3, "adam", 10)]
    opt = [(a[1], k["lr"], k.get("momentum"), k["epochs"]) for a, k in by["optimiser_run"]]
    assert opt == [("sgd", lr, m, 10) for lr in (0.0005, 0.001, 0.01) for m in (0.9, 0.95)] + [
        ("adam", 1e-3, None, 10)]
    # 002 Q1: hand and autograd for MAE and MSE; step k's difference plotted at k = 1, 2, …
    assert [(a[0], k["loss"]) for a, k in by["regression_run"]] == [
        ("hand", "mae"), ("autograd", "mae"), ("hand", "mse"), ("autograd", "mse")]
    loss_ax, diff_ax = axes[-2], axes[-1]
    assert len(loss_ax.lines()) == 4
    for line in diff_ax.lines("semilogy"):  # the stubs' hand and autograd tags differ by 1
        assert list(line[0]) == list(range(1, 201))
        np.testing.assert_allclose(line[1], 1.0)
    assert len(diff_ax.lines("semilogy")) == 2


def test_the_figures_command_trains_on_one_thread_with_seed_zero_by_default(tmp_path, capsys):
    """``python -m impl.experiments figures --out DIR``: its help states the default seed 0; the
    runs train on one intra-op thread (the figures are the same on any machine); each written
    path is printed, and the command exits 0. ``_figures`` is replaced by a recorder."""
    seen = []

    def record(out, seed):
        seen.append((out, seed, torch.get_num_threads()))
        return [out / "a.png"]

    threads = torch.get_num_threads()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(E, "_figures", record)
            assert E.main(["figures", "--out", str(tmp_path)]) == 0
            assert E.main(["figures", "--out", str(tmp_path), "--seed", "3"]) == 0
    finally:
        torch.set_num_threads(threads)
    assert seen == [(tmp_path, 0, 1), (tmp_path, 3, 1)]
    assert capsys.readouterr().out.split() == [str(tmp_path / "a.png")] * 2


def test_the_initialisation_grid_is_seed_002s():
    """``002_f6a45d0186751a72.txt`` Q4 trains with ``d_list = [0.01, 0.1, 2.0, "xavier"]``."""
    assert E.INITS == (0.01, 0.1, 2.0, "xavier")


@pytest.mark.parametrize("n_train", [1, 40])
def test_memorisation_run_accepts_one_image_to_the_whole_split_and_width_one(n_train):
    with pytest.MonkeyPatch.context() as mp:
        _with_tiny_digits(mp)
        hist = E.memorisation_run(0, random=True, n_train=n_train, hidden=1, epochs=1)
    assert len(hist.train_acc) == 2


@pytest.mark.slow
@given(seed=SEEDS, momentum=st.sampled_from([0.0, 0.5, 0.999]))
@settings(max_examples=max(2, settings.default.max_examples // 10))
def test_runs_accept_batches_of_one_and_momentum_in_zero_one(seed, momentum):
    """The schedule's bounds as documented: epochs ≥ 0, batch_size ≥ 1, momentum in [0, 1)."""
    with pytest.MonkeyPatch.context() as mp:
        tiny, _ = _with_tiny_digits(mp, 3, 2)
        hist = E.optimiser_run(seed, "sgd", lr=0.01, momentum=momentum, epochs=1, batch_size=1)
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(64, 128, dtype=F32), nn.ReLU(),
                              nn.Linear(128, 64, dtype=F32), nn.ReLU(),
                              nn.Linear(64, 10, dtype=F32))
        curves = _reference_training(
            model, tiny, torch.optim.SGD(model.parameters(), lr=0.01, momentum=momentum),
            epochs=1, batch_size=1, seed=seed)
    _assert_history(hist, curves, 1)


@pytest.mark.slow
@given(seed=st.one_of(st.none(), st.integers(0, 1000)))
@settings(max_examples=max(2, settings.default.max_examples // 10))
def test_digits_is_sklearns_stratified_split_with_random_state_seed(seed):
    """As documented: ``train_test_split(…, test_size=0.25, random_state=seed, stratify=y)``
    of the pixels / 16; the suite's default seed is 0 (the figures CLI's ``--seed 0``)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = E.digits() if seed is None else E.digits(seed)
    raw = load_digits()
    xtr, xte, ytr, yte = train_test_split(raw.data, raw.target, test_size=0.25,
                                          random_state=seed or 0, stratify=raw.target)
    np.testing.assert_array_equal(d.x_train.numpy() * 16, xtr)
    np.testing.assert_array_equal(d.x_test.numpy() * 16, xte)
    np.testing.assert_array_equal(d.y_train.numpy(), ytr)
    np.testing.assert_array_equal(d.y_test.numpy(), yte)


def test_activation_run_refuses_an_unknown_activation_by_name():
    with pytest.raises(ValueError, match="activation"):
        E.activation_run(0, "tanh", epochs=0)


@pytest.mark.slow
def test_bn_fold_float32_differences_defaults_are_two_steps_of_eight_and_sixteen_images():
    """The documented defaults (``steps=2``, ``batch=8``, ``images=16``) against the run
    written out with them, on the narrow network (fixed seed 3, explicit)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(B, "seed_network", _small_seed_network)
        default = E.bn_fold_float32_differences(3)
        explicit = E.bn_fold_float32_differences(3, steps=2, batch=8, images=16)
        other = [E.bn_fold_float32_differences(3, steps=s, batch=b, images=i)
                 for s, b, i in ((3, 8, 16), (2, 9, 16), (2, 8, 17))]
    assert default == explicit
    assert all(o != default for o in other)
