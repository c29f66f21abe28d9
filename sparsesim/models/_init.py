"""Seeded, deterministic weight initialisation shared by every zoo factory.

Models are constructed on the ``meta`` device (no memory, no random draws), then materialised with
``to_empty`` and filled here from one private ``torch.Generator``. This makes the weights a pure function of
the seed, leaves the caller's global RNG untouched, and initialises each tensor exactly once (default
``reset_parameters`` would draw 138 M numbers for VGG-16 only to overwrite them).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Literal, Protocol, TypeVar, runtime_checkable

import torch
from torch import nn

InitStyle = Literal["cnn", "transformer"]
M = TypeVar("M", bound=nn.Module)


@runtime_checkable
class OwnsTensors(Protocol):
    """A custom module with parameters/buffers of its own (e.g. ViT's cls token) initialises them itself."""

    def init_own_tensors(self, generator: torch.Generator) -> None: ...


# Set inside `deferred_init()`: build_seeded allocates the tensors and leaves the drawing to
# `ensure_initialised` (the model keeps the pending call under _PENDING).
_DEFER_INIT: ContextVar[bool] = ContextVar("sparsesim_defer_init", default=False)
_PENDING = "_sparsesim_pending_init"


@contextlib.contextmanager
def deferred_init() -> Iterator[None]:
    """Models built by `build_seeded` inside this block have their tensors allocated but not yet drawn:
    `ensure_initialised(model)` draws them (the same values from the same seed, whenever it runs), and
    whoever reads a weight's values must call it first. A simulation reads shapes only (VGG-16's 138 M
    draws take a second); sparsesim.pipeline guards the weights it hands on (graph.layergraph.Weights)."""
    token = _DEFER_INIT.set(True)
    try:
        yield
    finally:
        _DEFER_INIT.reset(token)


def has_pending_init(model: nn.Module) -> bool:
    return _PENDING in model.__dict__


def ensure_initialised(model: nn.Module) -> None:
    """Draw a model's weights if `deferred_init` left them pending (once; nothing otherwise)."""
    pending = model.__dict__.pop(_PENDING, None)
    if pending is not None:
        pending()


def build_seeded(construct: Callable[[], M], *, seed: int, style: InitStyle) -> M:
    """Construct a model on the meta device, materialise it on the CPU and initialise it from `seed`
    (inside `deferred_init()`: later, by `ensure_initialised`)."""
    with torch.device("meta"):
        model = construct()
    _materialise(model)
    generator = torch.Generator().manual_seed(int(seed))
    if _DEFER_INIT.get():
        model.__dict__[_PENDING] = functools.partial(init_weights, model, generator, style)
    else:
        init_weights(model, generator, style)
    return model.eval()


def _materialise(model: nn.Module) -> None:
    """`model.to_empty(device="cpu")` without its cost: to_empty calls torch.empty_like on meta tensors,
    which runs a Python reference that imports sympy (longer than building ResNet-50). Each parameter and
    buffer is replaced by an uninitialised CPU tensor of its shape and dtype, tied tensors stay tied."""
    fresh: dict[int, torch.Tensor] = {}

    def cpu(t: torch.Tensor) -> torch.Tensor:
        if id(t) not in fresh:
            fresh[id(t)] = torch.empty(t.shape, dtype=t.dtype, device="cpu")
        return fresh[id(t)]

    for module in model.modules():
        for name, param in list(module.named_parameters(recurse=False)):
            if param.is_meta:
                if id(param) not in fresh:
                    fresh[id(param)] = nn.Parameter(cpu(param), requires_grad=param.requires_grad)
                setattr(module, name, fresh[id(param)])
        for name, buf in list(module.named_buffers(recurse=False)):
            if buf is not None and buf.is_meta:
                module._buffers[name] = cpu(buf)


def init_weights(model: nn.Module, generator: torch.Generator, style: InitStyle) -> None:
    """Fill every parameter and buffer of `model` (all of them, or raise: to_empty leaves garbage behind).

    "cnn" follows torchvision's ResNet/VGG/MobileNetV2 recipe (Kaiming-normal fan-out convs, N(0, 0.01)
    linears, BN at identity); "transformer" follows BERT and DeiT: N(0, 0.02) weights, LayerNorm at identity.
    (DeiT calls timm's trunc_normal_ with its default bounds of +-2, which at std 0.02 truncates nothing;
    plain normal_ gives that distribution ten times faster than trunc_normal_'s erfinv.)
    """
    seen: set[int] = set()
    std_linear = 0.01 if style == "cnn" else 0.02

    def normal(tensor: torch.Tensor, std: float) -> None:
        nn.init.normal_(tensor, 0.0, std, generator=generator)

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                if style == "cnn":
                    nn.init.kaiming_normal_(
                        module.weight, mode="fan_out", nonlinearity="relu", generator=generator
                    )
                else:
                    normal(module.weight, 0.02)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Linear):
                normal(module.weight, std_linear)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.fill_(1.0)
                module.bias.zero_()
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
                module.num_batches_tracked.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                normal(module.weight, 0.02)
            elif isinstance(module, OwnsTensors):
                module.init_own_tensors(generator)
            else:
                continue  # no direct tensors expected; the final check catches any that exist
            seen.update(id(t) for t in itertools.chain(module.parameters(False), module.buffers(False)))

    missed = [
        n for n, t in itertools.chain(model.named_parameters(), model.named_buffers()) if id(t) not in seen
    ]
    if missed:  # a programming error in the zoo, not a user error
        raise RuntimeError(f"init_weights left tensors uninitialised: {', '.join(missed)}")
