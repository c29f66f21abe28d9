"""Shape propagation on meta tensors: the same shapes as running the model for real, the real weights
untouched, and no torch._dynamo import (which PyTorch's Python meta kernels would trigger)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
import torch.fx as fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata
from torch.nn import functional as F

from sparsesim.graph.trace import propagate_shapes, trace_module
from sparsesim.models import ZOO

# Small inputs keep the real reference run cheap; every layer type of each model still runs.
SMALL = {
    "bert_base": {"seq_len": 16},
    "mobilenet_v1": {"input_size": 64},
    "mobilenet_v2": {"input_size": 64},
    "resnet18": {"input_size": 64},
    "resnet50": {"input_size": 64},
    "tiny_cnn": {},
    "tiny_mlp": {},
    "vgg16": {"input_size": 32},
    "vit_small": {"input_size": 32},
}


def _shapes(gm: fx.GraphModule) -> dict[str, object]:
    """node name -> (shape, dtype) of every tensor output (tuples of tensors recorded element-wise)."""

    def describe(meta: object) -> object:
        if isinstance(meta, TensorMetadata):  # a NamedTuple: test it before tuples of several outputs
            return (tuple(meta.shape), meta.dtype)
        if isinstance(meta, tuple | list):
            return [describe(m) for m in meta]
        return None

    return {n.name: describe(n.meta.get("tensor_meta")) for n in gm.graph.nodes}


def test_every_zoo_model_is_covered():
    assert sorted(SMALL) == sorted(ZOO)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_meta_shapes_equal_real_shapes(name):
    entry = ZOO[name]
    module = entry.build(**SMALL[name])
    x = entry.example_input(module, **SMALL[name])
    before = {k: v.clone() for k, v in module.state_dict().items()}

    meta_gm = fx.symbolic_trace(module)
    propagate_shapes(meta_gm, (x,))
    real_gm = fx.symbolic_trace(module)
    with torch.no_grad():
        ShapeProp(real_gm).propagate(x)  # the reference: the model run on its real weights and input

    meta, real = _shapes(meta_gm), _shapes(real_gm)
    assert sum(v is not None for v in real.values()) > 5
    assert meta == real
    after = module.state_dict()
    assert all(not t.is_meta for t in after.values())
    assert all(torch.equal(before[k], after[k]) for k in before)


class _ReadsAValue(nn.Module):
    """A forward that needs a tensor's value (`.item()`): meta tensors have none."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * x.sum().item()


def test_a_forward_that_reads_values_falls_back_to_the_real_input():
    module = _ReadsAValue()
    gm = fx.symbolic_trace(module)
    propagate_shapes(gm, (torch.ones(1, 4),))
    out = next(n for n in gm.graph.nodes if n.op == "output").args[0]
    assert tuple(out.meta["tensor_meta"].shape) == (1, 3)
    g = trace_module(module, torch.ones(1, 4))
    assert g.nodes["fc"]["out_shape"] == (1, 3)


@pytest.mark.parametrize("case", ["cat", "div", "cumsum", "adaptive"])
def test_shape_rules_agree_with_torch(case):
    """The ops whose meta outputs trace.py makes itself, checked against real execution (odd shapes)."""

    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.AdaptiveAvgPool2d((None, 3))

        def forward(self, x: torch.Tensor, i: torch.Tensor) -> object:
            if case == "cat":
                return torch.cat([x, x[:, :1]], dim=1) * 2, torch.cat((x, x.int()), -1), torch.concat([i, i])
            if case == "div":
                return i / 2, i // 2, x / i.unsqueeze(-1).unsqueeze(-1), 3 - i
            if case == "cumsum":
                return i.cumsum(1), (i > 0).cumsum(1), x.cumsum(2)
            return self.pool(x)

    inputs = (torch.randn(2, 5, 7, 9), torch.arange(10).reshape(2, 5))
    meta_gm, real_gm = fx.symbolic_trace(M()), fx.symbolic_trace(M())
    propagate_shapes(meta_gm, inputs)
    ShapeProp(real_gm).propagate(*inputs)
    assert _shapes(meta_gm) == _shapes(real_gm)


@pytest.mark.parametrize(
    "conv,shape",
    [
        (nn.Conv2d(3, 8, 3, stride=2, padding=1), (2, 3, 17, 12)),
        (nn.Conv2d(4, 6, (3, 5), stride=(1, 3), padding=(2, 0), dilation=(2, 1), groups=2), (1, 4, 11, 16)),
        (nn.Conv2d(5, 5, 3, padding="same", dilation=2, groups=5, padding_mode="reflect"), (5, 9, 9)),
        (nn.Conv2d(2, 3, 4, padding="valid", bias=False), (1, 2, 7, 6)),
        (nn.Conv1d(3, 4, 5, stride=3, padding=2), (2, 3, 20)),
        (nn.Conv3d(2, 2, (1, 3, 3), stride=(1, 2, 2)), (1, 2, 3, 9, 8)),
    ],
)
def test_conv_shapes_agree_with_torch(conv, shape):
    """Convolutions' meta outputs come from the output-size formula (trace.py), checked against real runs:
    strides, dilations, asymmetric and 'same'/'valid' padding, groups, an unbatched input, 1-D and 3-D."""
    x = torch.randn(shape)
    net = nn.Sequential(conv)  # traced as a call of the module (a bare module traces into its F.conv2d)
    meta_gm, real_gm = fx.symbolic_trace(net), fx.symbolic_trace(net)
    propagate_shapes(meta_gm, (x,))
    with torch.no_grad():
        ShapeProp(real_gm).propagate(x)
    assert _shapes(meta_gm) == _shapes(real_gm)


class _Attention(nn.Module):
    """Embedding, linear on 3-D tokens, batched matmul with broadcast, softmax and ones_like/full_like."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(11, 6)
        self.q = nn.Linear(6, 6)

    def forward(self, i: torch.Tensor, y: torch.Tensor) -> object:
        x = self.emb(i)  # (2, 5, 6)
        scores = torch.matmul(self.q(x), x.transpose(1, 2))  # (2, 5, 5)
        mixed = F.softmax(scores, dim=-1) @ x + torch.ones_like(x) + torch.full_like(x, 2.0)
        return mixed.softmax(-1), y.matmul(x.unsqueeze(0)).sum(), x.bmm(x.transpose(1, 2))


@pytest.mark.parametrize(
    "module,inputs",
    [
        (nn.MaxPool2d(3, stride=2, padding=1), (torch.randn(1, 2, 15, 10),)),
        (nn.MaxPool2d((3, 2), stride=(2, 3), ceil_mode=True), (torch.randn(2, 3, 14, 11),)),
        (nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True), (torch.randn(2, 9, 13),)),
        (nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), (torch.randn(1, 2, 8, 9),)),
        (nn.AvgPool1d(4, stride=3), (torch.randn(2, 3, 17),)),
        (nn.MaxPool1d(2, ceil_mode=True), (torch.randn(2, 3, 9),)),
        (nn.MaxPool2d(2, stride=4, padding=1, ceil_mode=True), (torch.randn(1, 1, 6, 6),)),  # last window dropped
        (_Attention(), (torch.randint(0, 11, (2, 5)), torch.randn(3, 1, 4, 5))),
    ],
)
def test_made_shapes_agree_with_torch(module, inputs):
    """Pooling (strides, padding, dilation, ceil_mode), embeddings, linears, matmul, softmax and *_like ops
    get their meta outputs from trace.py's own shape rules: checked against real runs."""
    net = module if isinstance(module, _Attention) else nn.Sequential(module)  # traced as a module call
    meta_gm, real_gm = fx.symbolic_trace(net), fx.symbolic_trace(net)
    propagate_shapes(meta_gm, inputs)
    with torch.no_grad():
        ShapeProp(real_gm).propagate(*inputs)
    assert _shapes(meta_gm) == _shapes(real_gm)


def test_a_conv_on_the_wrong_channels_still_fails_as_torch_does():
    with pytest.raises(RuntimeError):
        propagate_shapes(fx.symbolic_trace(nn.Sequential(nn.Conv2d(3, 4, 3))), (torch.randn(1, 5, 8, 8),))


def test_tracing_the_zoo_does_not_import_dynamo():
    """PyTorch's Python meta kernels import torch._dynamo on first use (about as slow as torch itself), and
    its meta convolution's checks import sympy (a third of a second): neither is needed for shapes."""
    code = textwrap.dedent(
        f"""
        import sys
        from sparsesim.models import ZOO
        from sparsesim.graph.trace import trace_module
        for name, kw in {SMALL!r}.items():
            entry = ZOO[name]
            module = entry.build(**kw)
            trace_module(module, entry.example_input(module, **kw), name=name)
            assert "torch._dynamo" not in sys.modules, name
            assert "sympy" not in sys.modules, name
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
