"""The model zoo of the counting tests and of the cross-tool table, written with ``torch.nn``.

torchvision's wheel does not load against the CPU torch of this machine, so its architectures
are written out here layer for layer as torchvision defines them (``torchvision/models/
resnet.py``, ``vgg.py``, ``alexnet.py``, ``vision_transformer.py``): same layers, same
order, same parameter shapes, so parameter counts can be compared with torchvision's
published ``num_params`` exactly. Besides: a transformer encoder layer, a ViT-style block
whose attention is written with tensors (``q @ k.transpose(-2, -1)``), an LSTM, a
grouped/depthwise network, and the seeds' networks (``001_d80f36ddf3b5193b.txt`` Problem 2's
AlexNet at 227×227, ``000_44446893528eed8a.txt`` Problem 5's two modules,
``001_d80f36ddf3b5193b.txt`` Problem 3's batch-norm network).

``python -m tests.zoo resnet18`` prints the per-module table of ``impl.flops.count``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

# --------------------------------------------------------------------------- ResNet


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


def conv1x1(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions and the identity (or a 1×1 projection), added, then ReLU; the
    same ``relu`` module runs twice, as in torchvision."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(c_in, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity  # the residual: counted on this block's row
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (carrying the stride: ResNet v1.5), 1×1 expand ×4, residual, ReLU."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(c_in, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int],
                 classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._stage(block, 64, layers[0])
        self.layer2 = self._stage(block, 128, layers[1], stride=2)
        self.layer3 = self._stage(block, 256, layers[2], stride=2)
        self.layer4 = self._stage(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, classes)

    def _stage(self, block, width: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != width * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, width * block.expansion, stride),
                                       nn.BatchNorm2d(width * block.expansion))
        layers = [block(self.inplanes, width, stride, downsample)]
        self.inplanes = width * block.expansion
        layers += [block(self.inplanes, width) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18() -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2])


def resnet50() -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3])


# --------------------------------------------------------------------------- VGG, AlexNet

VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
             512, 512, 512, "M")


class VGG(nn.Module):
    def __init__(self, cfg=VGG16_CFG, classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, stride=2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def vgg16() -> VGG:
    return VGG()


class AlexNet(nn.Module):
    """torchvision's variant (one-GPU "One weird trick" AlexNet: 64/192/384/256/256)."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def seed_alexnet() -> nn.Sequential:
    """AlexNet with the shape flow of ``001_d80f36ddf3b5193b.txt`` Problem 2 at 3×227×227:
    the first conv without padding (227 → 55)."""
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(),
        nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
        nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, 1000),
    )


# --------------------------------------------------------------------------- the seeds' modules


class Parallel(nn.Module):
    """Branches applied to the same input, outputs concatenated along the channels."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


def conv_act(c_in: int, c_out: int, k: int) -> nn.Sequential:
    """Every convolution has a bias, 'same' padding and an activation (the problem statement)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=True), nn.ReLU())


def module_one(one_by_one: int = 128) -> Parallel:
    """Module I (naive), 000 Problem 5: 1×1 256→128 | 3×3 256→192 | 5×5 256→96 | 3×3
    max-pool, concatenated."""
    return Parallel(conv_act(256, one_by_one, 1), conv_act(256, 192, 3), conv_act(256, 96, 5),
                    nn.MaxPool2d(3, stride=1, padding=1))


def module_two(one_by_one: int = 128) -> Parallel:
    """Module II (bottleneck), 000 Problem 5: 1×1 256→128 | 1×1 256→64, 3×3 64→192 |
    1×1 256→64, 5×5 64→96 | 3×3 max-pool, 1×1 256→64, concatenated."""
    return Parallel(
        conv_act(256, one_by_one, 1),
        nn.Sequential(conv_act(256, 64, 1), conv_act(64, 192, 3)),
        nn.Sequential(conv_act(256, 64, 1), conv_act(64, 96, 5)),
        nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_act(256, 64, 1)),
    )


def seed_bn_network() -> nn.Sequential:
    """001 Problem 3's network for 3×32×32 inputs (as the problem statement gives it)."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 32 * 32, 32 * 32), nn.BatchNorm1d(32 * 32), nn.ReLU(),
        nn.Linear(32 * 32, 10), nn.ReLU())


# --------------------------------------------------------------------------- sequence models


class EncoderLayer(nn.Module):
    """``nn.TransformerEncoderLayer`` (post-norm, ReLU, batch first, no dropout)."""

    def __init__(self, width: int = 512, heads: int = 8, feedforward: int = 2048) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(width, heads, feedforward, dropout=0.0,
                                                batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class ViTBlock(nn.Module):
    """A pre-norm ViT encoder block with the attention written with tensors:
    x + proj(softmax(q kᵀ/√d) v), then x + MLP(LN(x)) with GELU. Its parameters have the
    shapes of torchvision's ``EncoderBlock`` (one 3E×E in-projection, an E×E out-projection)."""

    def __init__(self, width: int = 768, heads: int = 12, mlp: int = 3072) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(width, eps=1e-6)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, mlp), nn.GELU(), nn.Linear(mlp, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, width = x.shape
        head = width // self.heads
        qkv = self.qkv(self.ln_1(x)).reshape(b, length, 3, self.heads, head)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        weights = ((q @ k.transpose(-2, -1)) * head ** -0.5).softmax(dim=-1)
        y = (weights @ v).transpose(1, 2).reshape(b, length, width)
        x = x + self.proj(y)
        return x + self.mlp(self.ln_2(x))


class ViT(nn.Module):
    """torchvision's ``vit_b_16`` layout with :class:`ViTBlock`: patch convolution, class
    token, position embedding, blocks, final LayerNorm, head on the class token."""

    def __init__(self, image: int = 224, patch: int = 16, layers: int = 12, width: int = 768,
                 heads: int = 12, mlp: int = 3072, classes: int = 1000) -> None:
        super().__init__()
        self.patch = patch
        self.conv_proj = nn.Conv2d(3, width, patch, stride=patch)
        seq = (image // patch) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embedding = nn.Parameter(torch.zeros(1, seq, width))
        self.layers = nn.Sequential(*[ViTBlock(width, heads, mlp) for _ in range(layers)])
        self.ln = nn.LayerNorm(width, eps=1e-6)
        self.heads = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.ln(self.layers(x + self.pos_embedding))
        return self.heads(x[:, 0])


class LSTMModel(nn.Module):
    """``nn.LSTM`` (batch first) returning its output sequence."""

    def __init__(self, features: int = 64, hidden: int = 128, layers: int = 2,
                 bias: bool = True) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=layers, batch_first=True, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]


def depthwise_net() -> nn.Sequential:
    """MobileNet-style stem: conv, depthwise 3×3 (groups = channels), pointwise 1×1, a grouped
    3×3 (groups 4) and a dilated 3×3, BN and ReLU6 between them, global pooling, a head."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(),
        nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.BatchNorm2d(32),
        nn.ReLU6(),
        nn.Conv2d(32, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU6(),
        nn.Conv2d(64, 64, 3, stride=2, padding=1, groups=4, bias=False), nn.BatchNorm2d(64),
        nn.ReLU6(),
        nn.Conv2d(64, 64, 3, padding=2, dilation=2), nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


# --------------------------------------------------------------------------- the zoo


@dataclass(frozen=True)
class Entry:
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    note: str


ZOO: dict[str, Entry] = {
    "resnet18": Entry(resnet18, (3, 224, 224), "torchvision resnet18"),
    "resnet50": Entry(resnet50, (3, 224, 224), "torchvision resnet50 (v1.5)"),
    "vgg16": Entry(vgg16, (3, 224, 224), "torchvision vgg16"),
    "alexnet": Entry(AlexNet, (3, 224, 224), "torchvision alexnet"),
    "vit_b_16": Entry(ViT, (3, 224, 224), "torchvision vit_b_16 layout, tensor attention"),
    "vit_block": Entry(ViTBlock, (197, 768), "one ViT-B block, L=197"),
    "encoder_layer": Entry(EncoderLayer, (128, 512),
                           "nn.TransformerEncoderLayer E=512 F=2048, L=128"),
    "lstm": Entry(LSTMModel, (32, 64), "nn.LSTM 64→128, 2 layers, T=32"),
    "depthwise": Entry(depthwise_net, (3, 64, 64), "depthwise/grouped/dilated convs"),
    "seed_alexnet": Entry(seed_alexnet, (3, 227, 227), "001 P2 AlexNet at 227"),
    "seed_module_one": Entry(module_one, (256, 32, 32), "000 P5 Module I"),
    "seed_module_two": Entry(module_two, (256, 32, 32), "000 P5 Module II"),
    "seed_bn_network": Entry(seed_bn_network, (3, 32, 32), "001 P3 BN network"),
}


def build(name: str, *, device: str | None = "meta") -> nn.Module:
    """A zoo model, built on ``device`` (meta: shapes only, no memory, instant)."""
    if name not in ZOO:
        raise ValueError(f"name must be one of {sorted(ZOO)}, got {name!r}")
    with torch.device(device or "cpu"):
        return ZOO[name].build()


def main(argv: list[str] | None = None) -> None:
    from impl.flops import count

    parser = argparse.ArgumentParser(description="Print impl.flops.count's table for a zoo "
                                     "model.")
    parser.add_argument("name", choices=sorted(ZOO))
    parser.add_argument("--all-rows", action="store_true", help="also rows that count nothing")
    args = parser.parse_args(argv)
    entry = ZOO[args.name]
    print(count(build(args.name), entry.input_shape).table(empty_rows=args.all_rows))


if __name__ == "__main__":
    main()
