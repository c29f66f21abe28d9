"""Two tiny models for fast tests and quick end-to-end runs.

Inner layers have channel/feature counts that are multiples of 8, so N:M patterns with M = 4 or 8 apply to
every layer except the first (3 input channels), which sparsity rules usually keep dense anyway.
"""

from __future__ import annotations

from torch import Tensor, nn

from ._checks import check_image_size, check_positive
from ._init import build_seeded


class TinyCNN(nn.Module):
    """conv3x3 3->w, BN, ReLU; conv3x3/2 w->2w, BN, ReLU; conv1x1 2w->2w, ReLU; avgpool; fc 2w->classes."""

    def __init__(self, num_classes: int, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(2 * width, 2 * width, 1)
        self.relu3 = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.relu3(self.conv3(x))
        return self.fc(self.avgpool(x).flatten(1))


class TinyMLP(nn.Module):
    """in -> hidden -> hidden -> classes with ReLUs."""

    def __init__(self, in_features: int, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.in_features = in_features  # the loader's example input is [1, in_features]
        self.fc1 = nn.Linear(in_features, hidden)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(hidden, hidden)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc3(self.relu2(self.fc2(self.relu1(self.fc1(x)))))


def build_tiny_cnn(
    *, num_classes: int = 10, input_size: int = 32, seq_len: int | None = None, seed: int = 0, width: int = 16
) -> TinyCNN:
    """Tiny CNN for 3 x input_size x input_size images (CIFAR-sized by default). `seq_len` is ignored."""
    check_positive("model.num_classes", num_classes, "tiny_cnn")
    check_positive("model.kwargs.width", width, "tiny_cnn")
    check_image_size(input_size, "tiny_cnn", minimum=2)
    return build_seeded(lambda: TinyCNN(num_classes, width), seed=seed, style="cnn")


def build_tiny_mlp(
    *,
    num_classes: int = 10,
    input_size: int | None = None,
    seq_len: int | None = None,
    seed: int = 0,
    hidden: int = 128,
) -> TinyMLP:
    """Tiny MLP on feature vectors; `input_size` is the number of input features (default 64)."""
    in_features = 64 if input_size is None else input_size
    check_positive("model.num_classes", num_classes, "tiny_mlp")
    check_positive("model.input_size", in_features, "tiny_mlp")
    check_positive("model.kwargs.hidden", hidden, "tiny_mlp")
    return build_seeded(lambda: TinyMLP(in_features, hidden, num_classes), seed=seed, style="cnn")
