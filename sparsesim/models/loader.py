"""Turn `workload.model` into a torch module plus an example input (or a validated ONNX file).

Three sources, chosen by the shape of `model.name`:
  * a zoo name (`resnet50`)           -> seeded random weights (or `model.checkpoint`), example input at the
                                         resolved input size / sequence length;
  * `"pkg.module:factory"`            -> imported with the workload's folder on sys.path; the factory returns
                                         a module (then `model.input_shape` gives the input) or
                                         `(module, example_input)`;
  * a path ending in `.onnx`          -> checked with onnx.checker only; converting it is the graph's job.
Every failure a user can cause is a one-line `ModelError` naming the `model.*` field to fix.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
import pathlib
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import torch
from torch import nn

from sparsesim.errors import ModelError

from .zoo import COMMON_ARGS, ZOO

ExampleInput = torch.Tensor | tuple[torch.Tensor, ...]


class ModelSpecLike(Protocol):
    """The fields of `sparsesim.spec.ModelSpec` the loader reads (a protocol: tests pass a namespace)."""

    name: str
    input_size: int | None
    seq_len: int | None
    num_classes: int | None
    checkpoint: str | None
    seed: int
    input_shape: list[int] | None
    kwargs: dict[str, Any]


@dataclass
class LoadedModel:
    """A model ready to trace: `module` in eval mode and a batch-1 `example_input`, or an ONNX file."""

    name: str
    source: Literal["zoo", "module", "onnx"]
    module: nn.Module | None
    example_input: ExampleInput | None
    onnx_path: pathlib.Path | None


def load_model(spec: ModelSpecLike, base_dir: pathlib.Path) -> LoadedModel:
    """Load the model `spec` describes; relative paths (ONNX, checkpoint, user modules) are under `base_dir`.

    Knobs that do not apply to a model (seq_len for an image model, input_size for BERT, input_shape for a
    zoo model) are ignored, so one sweep can vary the model name alone.
    """
    base_dir = pathlib.Path(base_dir)
    name = spec.name.strip()
    if name.endswith(".onnx"):
        return _load_onnx(spec, name, base_dir)
    loaded = _load_module(spec, name, base_dir) if ":" in name else _load_zoo(spec, name)
    assert loaded.module is not None
    if spec.checkpoint:
        from ._init import ensure_initialised

        ensure_initialised(loaded.module)  # a checkpoint may set some tensors only: the rest are drawn
        load_checkpoint(loaded.module, spec.checkpoint, base_dir)
    loaded.module.eval()
    return loaded


# ---------------------------------------------------------------------------------------------------- zoo
def unknown_model_message(name: str) -> str:
    """The 'unknown model' line, with a close match when there is one (same wording as the spec's)."""
    known = sorted(ZOO)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return (
        f"unknown model '{name}' ({hint}known: {', '.join(known)}; or 'pkg.module:factory', or a .onnx file)"
    )


def _load_zoo(spec: ModelSpecLike, name: str) -> LoadedModel:
    entry = ZOO.get(name)
    if entry is None:
        raise ModelError(unknown_model_message(name), path="model.name")
    kwargs = dict(spec.kwargs or {})
    reserved = sorted(set(kwargs) & set(COMMON_ARGS))
    if reserved:
        raise ModelError(
            f"set {', '.join(reserved)} as model.{reserved[0]}, not inside model.kwargs", path="model.kwargs"
        )
    allowed = entry.extra_kwargs()
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ModelError(
            f"{name} does not take {', '.join(repr(k) for k in unknown)} "
            f"(it takes: {', '.join(allowed) if allowed else 'no extra arguments'})",
            path="model.kwargs",
        )
    module = entry.build(
        num_classes=spec.num_classes,
        input_size=spec.input_size,
        seq_len=spec.seq_len,
        seed=spec.seed,
        **kwargs,
    )
    example = entry.example_input(module, input_size=spec.input_size, seq_len=spec.seq_len, seed=spec.seed)
    return LoadedModel(name=name, source="zoo", module=module, example_input=example, onnx_path=None)


# ----------------------------------------------------------------------------------------- user module
@contextlib.contextmanager
def _on_sys_path(folder: pathlib.Path) -> Iterator[None]:
    """Put `folder` first on sys.path for the duration, then restore sys.path exactly."""
    saved = list(sys.path)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()  # the folder may have gained files since the last import scan
    try:
        yield
    finally:
        sys.path[:] = saved


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _short(exc: BaseException, limit: int = 160) -> str:
    """`Type: first sentence of the message`: one console line (torch and onnx errors run to pages)."""
    text = " ".join(_ANSI.sub("", str(exc)).split())
    if len(text) > limit and ". " in text:
        text = text.split(". ", 1)[0]
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _load_module(spec: ModelSpecLike, name: str, base_dir: pathlib.Path) -> LoadedModel:
    module_name, _, attr_path = name.partition(":")
    module_name, attr_path = module_name.strip(), attr_path.strip()
    if not module_name or not attr_path or ":" in attr_path:
        raise ModelError(f"'{name}' must look like 'pkg.module:factory'", path="model.name")
    kwargs = dict(spec.kwargs or {})
    with _on_sys_path(base_dir):
        try:
            py_module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if missing and module_name != missing and not module_name.startswith(missing + "."):
                # The user's module was found but itself imports something that is not installed.
                raise ModelError(
                    f"importing '{module_name}' failed: it needs '{missing}', which is not installed",
                    path="model.name",
                ) from exc
            raise ModelError(
                f"cannot import '{module_name}' ({_short(exc)}); put it in {base_dir} or install it",
                path="model.name",
            ) from exc
        except SystemExit as exc:  # the user's module calls sys.exit() at import: an error, never our exit
            raise ModelError(
                f"importing '{module_name}' called sys.exit({exc.code!r}); a model module must not exit",
                path="model.name",
            ) from None
        except Exception as exc:  # the user's module raised while importing
            raise ModelError(f"importing '{module_name}' failed: {_short(exc)}", path="model.name") from exc
        factory: Any = py_module
        for part in attr_path.split("."):
            if not hasattr(factory, part):
                names = [n for n in dir(factory) if not n.startswith("_")]
                close = difflib.get_close_matches(part, names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ModelError(f"'{module_name}' has no attribute '{attr_path}'{hint}", path="model.name")
            factory = getattr(factory, part)
        if not callable(factory):
            raise ModelError(
                f"'{name}' is a {type(factory).__name__}, not a callable factory", path="model.name"
            )
        _check_factory_kwargs(factory, name, kwargs)
        # Seeded so that a factory relying on torch's default init is reproducible, without touching the
        # caller's RNG state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            try:
                result = factory(**kwargs)
            except SystemExit as exc:  # e.g. model: "sys:exit"; a factory must return a model, not exit
                raise ModelError(
                    f"factory '{name}' called sys.exit({exc.code!r}); it must return an nn.Module or a "
                    "(module, example_input) tuple",
                    path="model.name",
                ) from None
            except Exception as exc:
                raise ModelError(f"factory '{name}' raised {_short(exc)}", path="model.name") from exc
    module, example = _unpack_factory_result(result, name, spec)
    return LoadedModel(
        name=name, source="module", module=module.eval(), example_input=example, onnx_path=None
    )


def _check_factory_kwargs(factory: Any, name: str, kwargs: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        raise ModelError(
            f"factory '{name}' cannot be called with {sorted(kwargs)}: {exc}", path="model.kwargs"
        ) from exc


def _unpack_factory_result(result: Any, name: str, spec: ModelSpecLike) -> tuple[nn.Module, ExampleInput]:
    if isinstance(result, nn.Module):
        if not spec.input_shape:
            raise ModelError(
                f"factory '{name}' returned only a module, so the input shape is unknown: set "
                "model.input_shape (per sample, without batch, e.g. [3, 224, 224]) or return "
                "(module, example_input)",
                path="model.input_shape",
            )
        generator = torch.Generator().manual_seed(int(spec.seed))
        return result, torch.randn(1, *spec.input_shape, generator=generator)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.Module):
        module, example = result
        tensors = (example,) if isinstance(example, torch.Tensor) else example
        if (
            not isinstance(tensors, tuple)
            or not tensors
            or not all(isinstance(t, torch.Tensor) for t in tensors)
        ):
            raise ModelError(
                f"factory '{name}' returned an example input of type {type(example).__name__}; "
                "it must be a tensor or a tuple of tensors",
                path="model.name",
            )
        for tensor in tensors:
            if tensor.dim() == 0 or tensor.shape[0] != 1:
                raise ModelError(
                    f"factory '{name}' returned an example input of shape {list(tensor.shape)}; "
                    "its first (batch) dimension must be 1",
                    path="model.name",
                )
        return module, example
    kind = type(result).__name__ if not isinstance(result, tuple) else f"tuple of {len(result)}"
    raise ModelError(
        f"factory '{name}' returned a {kind}; it must return an nn.Module or a (module, example_input) tuple",
        path="model.name",
    )


# ------------------------------------------------------------------------------------------- checkpoint
def _resolve(path: str, base_dir: pathlib.Path) -> pathlib.Path:
    p = pathlib.Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def _listing(keys: list[str], limit: int = 3) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def _checkpoint_problem(exc: BaseException) -> str:
    """The useful part of a torch.load failure (its message is a page of advice around one fact)."""
    text = _ANSI.sub("", str(exc))
    if "WeightsUnpickler error:" in text:
        after = text.split("WeightsUnpickler error:", 1)[1]
        paragraph = next((p for p in re.split(r"\n\s*\n", after) if p.strip()), "")
        detail = " ".join(paragraph.split()).split(". ", 1)[0].rstrip(".")
        if detail.startswith("Unsupported global"):
            return f"it pickles Python objects, which weights_only loading refuses: {detail}"
        return f"not a torch.save file: {detail}"
    if isinstance(exc, EOFError):
        return "the file is empty or truncated"
    return _short(exc, 120)


def load_checkpoint(module: nn.Module, checkpoint: str, base_dir: pathlib.Path) -> None:
    """Load a torch.save'd state_dict into `module` strictly (every key present, every shape equal).

    `weights_only=True` because a checkpoint named in a workload must not run code when unpickled.
    """
    path = _resolve(checkpoint, base_dir)
    if not path.is_file():
        raise ModelError(f"file not found: {path}", path="model.checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(
            f"{path} is not a loadable torch checkpoint ({_checkpoint_problem(exc)}); save one with "
            "torch.save(model.state_dict(), path)",
            path="model.checkpoint",
        ) from exc
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelError(
            f"{path} holds a {type(state).__name__}, not a state_dict of tensors; "
            "save one with torch.save(model.state_dict(), path)",
            path="model.checkpoint",
        )
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k} {list(state[k].shape)} in file vs {list(v.shape)} in model"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = [
        f"{label}: {_listing(keys)}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", wrong_shape))
        if keys
    ]
    if problems:
        raise ModelError(
            f"{path} does not match the model ({'; '.join(problems)}); was it saved from the same model "
            "with the same num_classes / input_size?",
            path="model.checkpoint",
        )
    module.load_state_dict(state, strict=True)


# ------------------------------------------------------------------------------------------------- onnx
def _load_onnx(spec: ModelSpecLike, name: str, base_dir: pathlib.Path) -> LoadedModel:
    import onnx  # imported here: only ONNX workloads pay for it

    if spec.checkpoint:
        raise ModelError(
            "an ONNX model carries its own weights; remove model.checkpoint", path="model.checkpoint"
        )
    if spec.kwargs:
        raise ModelError("an ONNX model takes no factory arguments; remove model.kwargs", path="model.kwargs")
    path = _resolve(name, base_dir)
    if not path.is_file():
        raise ModelError(f"ONNX file not found: {path}", path="model.name")
    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except Exception as exc:
        raise ModelError(f"{path} is not a valid ONNX model ({_short(exc, 120)})", path="model.name") from exc
    return LoadedModel(name=path.stem, source="onnx", module=None, example_input=None, onnx_path=path)
