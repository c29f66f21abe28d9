"""VGG-16 (configuration D, no batch norm), layer for layer torchvision's `vgg16`.

Names and state_dict keys match torchvision (features.0 ... features.28, classifier.0/3/6). The dropouts are
kept only so the classifier indices match; in eval mode they are identities.
"""

from __future__ import annotations

from torch import Tensor, nn

from ._checks import check_image_size, check_positive
from ._init import build_seeded

# Output channels per conv, "M" = 2x2 max-pool (Simonyan & Zisserman, table 1, column D).
CFG_D: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


class VGG(nn.Module):
    def __init__(self, cfg: tuple[int | str, ...], num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                assert isinstance(v, int)
                layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU()]
                in_channels = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(),
            nn.Dropout(p=0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(p=0.5),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def build_vgg16(
    *, num_classes: int = 1000, input_size: int = 224, seq_len: int | None = None, seed: int = 0
) -> VGG:
    """VGG-16 (138.36 M parameters, 15.47 G MACs at 224). Needs >= 32 pixels: five 2x2 pools halve it."""
    check_positive("model.num_classes", num_classes, "vgg16")
    check_image_size(input_size, "vgg16", minimum=32)
    return build_seeded(lambda: VGG(CFG_D, num_classes), seed=seed, style="cnn")
