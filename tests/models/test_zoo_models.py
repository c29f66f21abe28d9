"""Every zoo model: builds, fx-traces, runs, and matches the published parameter and MAC counts.

Each model is built once (a module-scoped fixture parametrised by name, so pytest runs all tests of one
model before building the next and VGG-16/BERT never coexist with a second copy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
import torch
import torch.fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.overrides import TorchFunctionMode

from sparsesim.errors import ModelError
from sparsesim.models import ZOO, ZooEntry, build_bert_base, build_vit_small

# name -> (exact parameter count of the reference implementation, published figure in millions).
# References: torchvision (resnet18/50, vgg16, mobilenet_v2), Keras MobileNet (trainable params),
# timm deit_small_patch16_224, Hugging Face bert-base-uncased BertModel (with pooler) + our 768x2 classifier.
PARAMS: dict[str, tuple[int, float]] = {
    "resnet18": (11_689_512, 11.69),
    "resnet50": (25_557_032, 25.56),
    "vgg16": (138_357_544, 138.36),
    "mobilenet_v1": (4_231_976, 4.23),
    "mobilenet_v2": (3_504_872, 3.50),
    "vit_small": (22_050_664, 22.05),
    "bert_base": (109_482_240 + 768 * 2 + 2, 109.48),
    "tiny_cnn": (6_522, 0.006522),
    "tiny_mlp": (26_122, 0.026122),
}


def _bert_macs(layers: int = 12, s: int = 128, h: int = 768, ffn: int = 3072, classes: int = 2) -> int:
    """Per layer: q,k,v,out projections 4sh^2, QK^T and PV 2s^2h, FFN 2shf; then pooler h^2, classifier."""
    return layers * (4 * s * h * h + 2 * s * s * h + 2 * s * h * ffn) + h * h + h * classes


# name -> (published forward MACs at the default input, relative tolerance).
MACS: dict[str, tuple[float, float]] = {
    "resnet50": (4.09e9, 0.01),
    "resnet18": (1.82e9, 0.015),
    "vgg16": (15.5e9, 0.01),
    "mobilenet_v1": (569e6, 0.01),
    "mobilenet_v2": (300e6, 0.015),
    "vit_small": (4.6e9, 0.01),  # DeiT paper, table 1
    "bert_base": (_bert_macs(), 1e-9),  # closed form at seq_len 128
    "tiny_cnn": (32 * 32 * 16 * 27 + 16 * 16 * 32 * 144 + 16 * 16 * 32 * 32 + 320, 1e-9),
    "tiny_mlp": (64 * 128 + 128 * 128 + 128 * 10, 1e-9),
}


class MatmulCounter(TorchFunctionMode):
    """Counts MACs of torch.matmul calls (attention's QK^T and PV), which module hooks cannot see."""

    def __init__(self) -> None:
        super().__init__()
        self.macs = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if func is torch.matmul:
            self.macs += out.numel() * args[0].shape[-1]
        return out


def forward_macs(model: nn.Module, example: torch.Tensor) -> tuple[int, torch.Tensor]:
    """MACs of Conv2d, Linear and matmul in one forward (batch 1), and the output."""
    macs = 0

    def hook(module: nn.Module, _inputs: Any, out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs += out.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, nn.Linear):
            macs += out.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    counter = MatmulCounter()
    try:
        with torch.no_grad(), counter:
            out = model(example)
    finally:
        for handle in handles:
            handle.remove()
    return macs + counter.macs, out


@dataclass
class Built:
    entry: ZooEntry
    model: nn.Module
    example: torch.Tensor
    output: torch.Tensor
    macs: int
    build_seconds: float


@pytest.fixture(scope="module", params=sorted(ZOO))
def built(request: pytest.FixtureRequest) -> Built:
    entry = ZOO[request.param]
    start = time.perf_counter()
    model = entry.build()
    build_seconds = time.perf_counter() - start
    example = entry.example_input(model)
    macs, output = forward_macs(model, example)
    return Built(entry, model, example, output, macs, build_seconds)


def test_registry_names_and_entries() -> None:
    assert sorted(ZOO) == sorted(PARAMS)
    for name, entry in ZOO.items():
        assert entry.name == name
        assert entry.kind in ("image", "tokens", "vector")
        assert entry.description
    assert ZOO["resnet50"].default_input_size == 224
    assert ZOO["tiny_cnn"].default_input_size == 32
    assert ZOO["bert_base"].default_input_size is None and ZOO["bert_base"].default_seq_len == 128
    assert ZOO["tiny_mlp"].default_input_size is None
    with pytest.raises(AttributeError):
        ZOO["tiny_cnn"].name = "x"  # type: ignore[misc]


def test_forward_shape_and_eval_mode(built: Built) -> None:
    assert not any(m.training for m in built.model.modules())
    assert built.output.shape == (1, built.entry.default_num_classes)
    assert torch.isfinite(built.output).all()
    if built.entry.kind == "tokens":
        assert built.example.dtype == torch.long and built.example.shape == (1, 128)
    elif built.entry.kind == "image":
        size = built.entry.default_input_size
        assert built.example.shape == (1, 3, size, size)
    else:
        assert built.example.shape == (1, 64)


def test_fx_trace_matches_eager(built: Built) -> None:
    gm = torch.fx.symbolic_trace(built.model)
    with torch.no_grad():
        traced_out = ShapeProp(gm).propagate(built.example)
    torch.testing.assert_close(traced_out, built.output)
    # Every weight layer is a call_module node under its module path, so layer names are stable.
    weight_layers = {n for n, m in built.model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)}
    called = {node.target for node in gm.graph.nodes if node.op == "call_module"}
    assert weight_layers <= called
    assert all("tensor_meta" in node.meta for node in gm.graph.nodes if node.op == "call_module")
    # Attention is explicit matmul / softmax nodes (two GEMMs and one softmax per block), not one fused op.
    targets = [node.target for node in gm.graph.nodes if node.op == "call_function"]
    blocks = 12 if built.entry.name in ("vit_small", "bert_base") else 0
    assert targets.count(torch.matmul) == 2 * blocks
    assert targets.count(torch.softmax) == blocks
    assert torch.nn.functional.scaled_dot_product_attention not in targets


def test_cnns_take_small_images(built: Built) -> None:
    """Adaptive pooling makes the CNNs size-agnostic down to 32 px (VGG's five pools leave one pixel)."""
    if built.entry.kind != "image" or built.entry.name == "vit_small":
        pytest.skip("the position table of vit_small is sized at build time")
    with torch.no_grad():
        out = built.model(torch.randn(1, 3, 32, 32))
    assert out.shape == built.output.shape


def test_parameter_count(built: Built) -> None:
    exact, published_m = PARAMS[built.entry.name]
    count = sum(p.numel() for p in built.model.parameters())
    assert count == pytest.approx(published_m * 1e6, rel=0.01)
    assert count == exact


def test_forward_macs(built: Built) -> None:
    expected, rel = MACS[built.entry.name]
    assert built.macs == pytest.approx(expected, rel=rel)


def test_build_time(built: Built) -> None:
    # Meta-device construction + one init pass: even VGG-16 (138 M weights) builds in a few seconds.
    assert built.build_seconds < 20


def test_torchvision_names() -> None:
    """Module paths (hence state_dict keys) follow the reference implementations: their checkpoints load."""
    keys = {
        "resnet50": ["conv1.weight", "layer1.0.downsample.0.weight", "layer4.2.conv3.weight", "fc.weight"],
        "resnet18": ["layer2.0.downsample.1.running_var", "layer4.1.bn2.weight"],
        "mobilenet_v2": ["features.0.0.weight", "features.1.conv.0.0.weight", "features.2.conv.3.weight",
                         "features.18.1.running_mean", "classifier.1.weight"],
        "mobilenet_v1": ["features.0.0.weight", "features.13.pw_conv.weight", "fc.weight"],
        "tiny_cnn": ["conv1.weight", "bn2.running_mean", "conv3.bias", "fc.weight"],
    }  # fmt: skip
    for name, expected in keys.items():
        state = ZOO[name].build().state_dict()
        assert set(expected) <= set(state), name
    resnet = ZOO["resnet50"].build()
    assert resnet.layer2[0].conv1.stride == (1, 1) and resnet.layer2[0].conv2.stride == (2, 2)  # v1.5


def test_transformer_names_small_variants() -> None:
    vit = build_vit_small(depth=1, input_size=32)
    vit_keys = {
        "cls_token",
        "pos_embed",
        "patch_embed.proj.weight",
        "blocks.0.attn.qkv.weight",
        "head.weight",
    }
    assert vit_keys <= set(vit.state_dict())
    assert vit.pos_embed.shape == (1, 1 + (32 // 16) ** 2, 384)
    bert = build_bert_base(num_layers=1, hidden_size=64, num_heads=4, intermediate_size=128, vocab_size=100)
    assert {"embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
            "encoder.layer.0.output.LayerNorm.weight", "pooler.dense.weight", "classifier.weight"} <= set(
        bert.state_dict()
    )  # fmt: skip


def test_bert_long_sequences_get_a_longer_position_table() -> None:
    model = build_bert_base(
        seq_len=600, num_layers=1, hidden_size=32, num_heads=2, intermediate_size=64, vocab_size=50
    )
    assert model.embeddings.position_embeddings.num_embeddings == 600
    ids = torch.randint(0, 50, (1, 600))
    gm = torch.fx.symbolic_trace(model)
    with torch.no_grad():
        torch.testing.assert_close(gm(ids), model(ids))
        # Positions really are learned per index: permuting tokens changes the output.
        assert not torch.allclose(model(ids), model(ids.flip(1)))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("tiny_cnn", {}),
        ("tiny_mlp", {}),
        ("resnet18", {}),
        ("mobilenet_v2", {}),
        ("vit_small", {"depth": 1}),
        ("bert_base", {"num_layers": 1}),
    ],
)
def test_seed_determinism(name: str, kwargs: dict[str, Any]) -> None:
    rng_before = torch.get_rng_state()
    a = ZOO[name].build(seed=3, **kwargs).state_dict()
    b = ZOO[name].build(seed=3, **kwargs).state_dict()
    c = ZOO[name].build(seed=4, **kwargs).state_dict()
    assert torch.equal(torch.get_rng_state(), rng_before), "building must not touch the global RNG"
    assert a.keys() == b.keys() == c.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    random_weights = [k for k, v in a.items() if k.endswith("weight") and v.dim() > 1]
    assert random_weights
    assert all(not torch.equal(a[k], c[k]) for k in random_weights)


@pytest.mark.parametrize(
    ("build", "field", "text"),
    [
        (lambda: ZOO["vit_small"].build(input_size=100), "model.input_size", "multiple of 16 pixels (got"),
        (lambda: ZOO["vgg16"].build(input_size=16), "model.input_size", "at least 32 pixels"),
        (lambda: ZOO["tiny_cnn"].build(num_classes=0), "model.num_classes", "positive integer (got 0)"),
        (lambda: ZOO["bert_base"].build(seq_len=0), "model.seq_len", "positive integer"),
        (lambda: ZOO["bert_base"].build(num_heads=5), "model.kwargs", "not divisible by num_heads 5"),
        (lambda: ZOO["mobilenet_v1"].build(width_mult=0), "model.kwargs", "width_mult must be"),
    ],
)
def test_factory_argument_errors(build: Any, field: str, text: str) -> None:
    with pytest.raises(ModelError) as info:
        build()
    message = str(info.value)
    assert message.startswith(f"{field}: ") and text in message and "\n" not in message
