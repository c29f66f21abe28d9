"""MobileNet v1 (Howard et al. 2017) and v2 (torchvision's `mobilenet_v2`).

v2's module names and state_dict keys match torchvision (features.0.0, features.1.conv.0.0, classifier.1).
v1 has no torchvision reference; its layout mirrors v2's: `features.0` is the stem (conv, bn, relu) and
`features.1` ... `features.13` are the depthwise-separable blocks (dw_conv/dw_bn, pw_conv/pw_bn).
"""

from __future__ import annotations

from torch import Tensor, nn

from sparsesim.errors import ModelError

from ._checks import check_image_size, check_positive
from ._init import build_seeded


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a scaled channel count to a multiple of `divisor`, losing at most 10% (torchvision's rule)."""
    new_value = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def conv_bn_act(
    in_ch: int, out_ch: int, kernel: int, stride: int, groups: int, act: type[nn.Module]
) -> nn.Sequential:
    """Conv (no bias) + BN + activation, as torchvision's Conv2dNormActivation (same child indices 0/1/2)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        act(),
    )


# ------------------------------------------------------------------------------------------------ v1
class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv + BN + ReLU, then 1x1 pointwise conv + BN + ReLU."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.dw_conv = nn.Conv2d(in_ch, in_ch, 3, stride, 1, groups=in_ch, bias=False)
        self.dw_bn = nn.BatchNorm2d(in_ch)
        self.dw_relu = nn.ReLU()
        self.pw_conv = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(out_ch)
        self.pw_relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        x = self.dw_relu(self.dw_bn(self.dw_conv(x)))
        return self.pw_relu(self.pw_bn(self.pw_conv(x)))


# (output channels, stride) of the 13 depthwise-separable blocks (paper, table 1).
V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)  # fmt: skip


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int, width_mult: float = 1.0) -> None:
        super().__init__()
        in_ch = make_divisible(32 * width_mult)
        layers: list[nn.Module] = [conv_bn_act(3, in_ch, 3, 2, 1, nn.ReLU)]
        for out, stride in V1_BLOCKS:
            out_ch = make_divisible(out * width_mult)
            layers.append(DepthwiseSeparable(in_ch, out_ch, stride))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.fc(x.flatten(1))


# ------------------------------------------------------------------------------------------------ v2
class InvertedResidual(nn.Module):
    """1x1 expand (skipped when t=1) + 3x3 depthwise + linear 1x1 project; residual when shapes allow."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_bn_act(inp, hidden, 1, 1, 1, nn.ReLU6))
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, hidden, nn.ReLU6),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:  # fixed at construction, so not data-dependent
            return x + self.conv(x)
        return self.conv(x)


# (expansion t, output channels c, repeats n, first stride s) (Sandler et al. 2018, table 2).
V2_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)  # fmt: skip


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int, width_mult: float = 1.0) -> None:
        super().__init__()
        in_ch = make_divisible(32 * width_mult)
        last_ch = make_divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [conv_bn_act(3, in_ch, 3, 2, 1, nn.ReLU6)]
        for t, c, n, s in V2_SETTING:
            out_ch = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(in_ch, out_ch, s if i == 0 else 1, t))
                in_ch = out_ch
        layers.append(conv_bn_act(in_ch, last_ch, 1, 1, 1, nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(last_ch, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _check_width(width_mult: float, name: str) -> float:
    if isinstance(width_mult, bool) or not isinstance(width_mult, int | float) or not 0 < width_mult <= 4:
        raise ModelError(
            f"{name} width_mult must be a number in (0, 4] (got {width_mult!r})", path="model.kwargs"
        )
    return float(width_mult)


def build_mobilenet_v1(
    *,
    num_classes: int = 1000,
    input_size: int = 224,
    seq_len: int | None = None,
    seed: int = 0,
    width_mult: float = 1.0,
) -> MobileNetV1:
    """MobileNet v1 (4.23 M parameters, 569 M MACs at 224 for width 1.0). `seq_len` is ignored."""
    check_positive("model.num_classes", num_classes, "mobilenet_v1")
    check_image_size(input_size, "mobilenet_v1")
    width = _check_width(width_mult, "mobilenet_v1")
    return build_seeded(lambda: MobileNetV1(num_classes, width), seed=seed, style="cnn")


def build_mobilenet_v2(
    *,
    num_classes: int = 1000,
    input_size: int = 224,
    seq_len: int | None = None,
    seed: int = 0,
    width_mult: float = 1.0,
) -> MobileNetV2:
    """MobileNet v2 (3.50 M parameters, 301 M MACs at 224 for width 1.0). `seq_len` is ignored."""
    check_positive("model.num_classes", num_classes, "mobilenet_v2")
    check_image_size(input_size, "mobilenet_v2")
    width = _check_width(width_mult, "mobilenet_v2")
    return build_seeded(lambda: MobileNetV2(num_classes, width), seed=seed, style="cnn")
