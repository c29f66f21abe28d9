"""load_model: zoo names, user factories, checkpoints and ONNX files, and the one-line errors for each."""

from __future__ import annotations

import os
import pathlib
import sys
import uuid
import warnings
from types import SimpleNamespace
from typing import Any

import onnx
import onnx.helper
import pytest
import torch

from sparsesim.errors import ModelError
from sparsesim.models import ZOO, LoadedModel, load_model

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
USER = "sparsesim_test_user_nets"
SMALL_BERT = dict(num_layers=1, hidden_size=64, num_heads=4, intermediate_size=128, vocab_size=1000)


def spec(name: str, **fields: Any) -> SimpleNamespace:
    """Stand-in for sparsesim.spec.ModelSpec with its defaults."""
    values: dict[str, Any] = {
        "input_size": None, "seq_len": None, "num_classes": None, "checkpoint": None, "seed": 0,
        "input_shape": None, "kwargs": {},
    }  # fmt: skip
    values.update(fields)
    return SimpleNamespace(name=name, **values)


def model_error(spec_: SimpleNamespace, base_dir: pathlib.Path, field: str) -> str:
    """Load, expect a ModelError on `field`, and return its (single-line) message."""
    with pytest.raises(ModelError) as info:
        load_model(spec_, base_dir)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{field}: "), message
    return message


def forward(loaded: LoadedModel) -> torch.Tensor:
    assert loaded.module is not None
    example = loaded.example_input
    args = example if isinstance(example, tuple) else (example,)
    with torch.no_grad():
        return loaded.module(*args)


# --------------------------------------------------------------------------------------------------- zoo
def test_zoo_defaults(tmp_path: pathlib.Path) -> None:
    loaded = load_model(spec("tiny_cnn"), tmp_path)
    assert (loaded.name, loaded.source, loaded.onnx_path) == ("tiny_cnn", "zoo", None)
    assert isinstance(loaded.example_input, torch.Tensor) and loaded.example_input.shape == (1, 3, 32, 32)
    assert not any(m.training for m in loaded.module.modules())
    assert forward(loaded).shape == (1, 10)


def test_zoo_overrides(tmp_path: pathlib.Path) -> None:
    loaded = load_model(spec("tiny_cnn", input_size=48, num_classes=7, kwargs={"width": 8}), tmp_path)
    assert loaded.example_input.shape == (1, 3, 48, 48)
    assert loaded.module.conv1.out_channels == 8
    assert forward(loaded).shape == (1, 7)


def test_zoo_tokens_and_vectors(tmp_path: pathlib.Path) -> None:
    bert = load_model(spec("bert_base", seq_len=16, kwargs=SMALL_BERT), tmp_path)
    ids = bert.example_input
    assert ids.dtype == torch.long and ids.shape == (1, 16)
    assert 0 <= int(ids.min()) and int(ids.max()) < 1000
    assert forward(bert).shape == (1, 2)
    mlp = load_model(spec("tiny_mlp"), tmp_path)
    assert mlp.example_input.shape == (1, 64) and forward(mlp).shape == (1, 10)
    # input_size of a vector model is its feature count; seq_len does not apply and is ignored.
    wide = load_model(spec("tiny_mlp", input_size=20, seq_len=99), tmp_path)
    assert wide.example_input.shape == (1, 20) and forward(wide).shape == (1, 10)


def test_zoo_is_reproducible(tmp_path: pathlib.Path) -> None:
    a, b = (load_model(spec("tiny_cnn", seed=5), tmp_path) for _ in range(2))
    assert torch.equal(a.example_input, b.example_input)
    for (key, x), y in zip(a.module.state_dict().items(), b.module.state_dict().values()):
        assert torch.equal(x, y), key


def test_unknown_zoo_name(tmp_path: pathlib.Path) -> None:
    known = ", ".join(sorted(ZOO))
    message = model_error(spec("resnet19"), tmp_path, "model.name")
    assert message == (
        f"model.name: unknown model 'resnet19' (did you mean 'resnet18'? known: {known}; "
        "or 'pkg.module:factory', or a .onnx file)"
    )
    message = model_error(spec("foo"), tmp_path, "model.name")
    tail = "or 'pkg.module:factory', or a .onnx file)"
    assert message == f"model.name: unknown model 'foo' (known: {known}; {tail}"


def test_zoo_kwargs_errors(tmp_path: pathlib.Path) -> None:
    message = model_error(spec("tiny_cnn", kwargs={"depth": 3}), tmp_path, "model.kwargs")
    assert "tiny_cnn does not take 'depth' (it takes: width)" in message
    message = model_error(spec("tiny_cnn", kwargs={"num_classes": 3}), tmp_path, "model.kwargs")
    assert "model.num_classes" in message
    model_error(spec("vit_small", input_size=100), tmp_path, "model.input_size")


# ------------------------------------------------------------------------------------------- checkpoint
def test_checkpoint_round_trip(tmp_path: pathlib.Path) -> None:
    source = ZOO["tiny_cnn"].build(seed=1)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    loaded = load_model(spec("tiny_cnn", seed=0, checkpoint="w.pt"), tmp_path)  # relative to base_dir
    for (key, x), y in zip(source.state_dict().items(), loaded.module.state_dict().values()):
        assert torch.equal(x, y), key
    assert not loaded.module.training
    seeded = ZOO["tiny_cnn"].build(seed=0)
    assert not torch.equal(seeded.conv1.weight, loaded.module.conv1.weight)


def test_checkpoint_for_user_module(tmp_path: pathlib.Path) -> None:
    source = load_model(spec(f"{USER}:make_with_input", seed=9), FIXTURES).module
    torch.save(source.state_dict(), tmp_path / "user.pt")
    loaded = load_model(spec(f"{USER}:make_with_input", checkpoint=str(tmp_path / "user.pt")), FIXTURES)
    assert torch.equal(loaded.module[0].weight, source[0].weight)


class NotAWeight:
    pass


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("missing", "file not found: "),
        (bytes(range(256)), "is not a loadable torch checkpoint (not a torch.save file: Unsupported operand"),
        (os.urandom(256), "is not a loadable torch checkpoint ("),
        (b"", "is not a loadable torch checkpoint (the file is empty or truncated)"),
        ("truncated", "is not a loadable torch checkpoint (RuntimeError: PytorchStreamReader failed"),
        ({"w": NotAWeight()}, "(it pickles Python objects, which weights_only loading refuses: Unsupported"),
        ([1, 2, 3], "holds a list, not a state_dict of tensors"),
        ({"conv1.weight": 3}, "holds a dict, not a state_dict of tensors"),
        ("mlp", "does not match the model (missing: conv1.weight, bn1.weight, bn1.bias (+"),
        ("classes5", "shape: fc.weight [5, 32] in file vs [10, 32] in model"),
        ("extra", "unexpected: extra.weight"),
    ],
)
def test_checkpoint_errors(tmp_path: pathlib.Path, content: Any, text: str) -> None:
    path = tmp_path / "bad.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "truncated":
        torch.save(ZOO["tiny_cnn"].build().state_dict(), path)
        path.write_bytes(path.read_bytes()[:500])
    elif content == "mlp":
        torch.save(ZOO["tiny_mlp"].build().state_dict(), path)
    elif content == "classes5":
        torch.save(ZOO["tiny_cnn"].build(num_classes=5).state_dict(), path)
    elif content == "extra":
        state = ZOO["tiny_cnn"].build().state_dict()
        state["extra.weight"] = torch.zeros(1)
        torch.save(state, path)
    elif content != "missing":
        torch.save(content, path)
    message = model_error(spec("tiny_cnn", checkpoint="bad.pt"), tmp_path, "model.checkpoint")
    assert text in message and str(path) in message


# ------------------------------------------------------------------------------------------ user module
def test_user_factory_module_only(tmp_path: pathlib.Path) -> None:
    path_before = list(sys.path)
    loaded = load_model(spec(f"{USER}:make_mlp", input_shape=[4], kwargs={"hidden": 6}), FIXTURES)
    assert sys.path == path_before
    assert (loaded.name, loaded.source, loaded.onnx_path) == (f"{USER}:make_mlp", "module", None)
    assert loaded.module[0].out_features == 6 and not loaded.module.training
    assert loaded.example_input.shape == (1, 4)
    assert forward(loaded).shape == (1, 2)


def test_user_factory_needs_input_shape() -> None:
    message = model_error(spec(f"{USER}:make_mlp"), FIXTURES, "model.input_shape")
    assert "set model.input_shape" in message


def test_user_factory_returns_example() -> None:
    loaded = load_model(spec(f"{USER}:make_with_input"), FIXTURES)
    assert torch.equal(loaded.example_input, torch.ones(1, 4))
    two = load_model(spec(f"{USER}:make_two_inputs"), FIXTURES)
    assert isinstance(two.example_input, tuple) and len(two.example_input) == 2
    assert forward(two).shape == (1, 2)
    nested = load_model(spec(f"{USER}:Factories.build", input_shape=[4]), FIXTURES)
    assert nested.module[0].out_features == 16


def test_user_factory_is_seeded_without_touching_global_rng() -> None:
    rng_before = torch.get_rng_state()
    a = load_model(spec(f"{USER}:make_with_input", seed=1), FIXTURES).module
    b = load_model(spec(f"{USER}:make_with_input", seed=1), FIXTURES).module
    c = load_model(spec(f"{USER}:make_with_input", seed=2), FIXTURES).module
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.equal(a[0].weight, b[0].weight) and not torch.equal(a[0].weight, c[0].weight)


@pytest.mark.parametrize(
    ("name", "fields", "field", "text"),
    [
        ("no_such_mod_xyz:build", {}, "model.name", "cannot import 'no_such_mod_xyz' (ModuleNotFoundError"),
        (f"{USER}:nope", {}, "model.name", f"'{USER}' has no attribute 'nope'"),
        (f"{USER}:make_mlpp", {}, "model.name", "(did you mean 'make_mlp'?)"),
        (f"{USER}:NOT_CALLABLE", {}, "model.name", "is a int, not a callable factory"),
        (f"{USER}:explode", {}, "model.name", f"factory '{USER}:explode' raised ValueError: boom"),
        (f"{USER}:not_a_module", {}, "model.name", "returned a int; it must return an nn.Module or a"),
        (f"{USER}:make_batch4", {}, "model.name", "shape [4, 4]; its first (batch) dimension must be 1"),
        (f"{USER}:make_bad_example", {}, "model.name", "example input of type list"),
        (f"{USER}:make_mlp", {"kwargs": {"width": 3}}, "model.kwargs", "cannot be called with ['width']"),
        (f"{USER}:", {}, "model.name", "must look like 'pkg.module:factory'"),
        (":make_mlp", {}, "model.name", "must look like 'pkg.module:factory'"),
    ],
)
def test_user_factory_errors(name: str, fields: dict[str, Any], field: str, text: str) -> None:
    path_before = list(sys.path)
    message = model_error(spec(name, **fields), FIXTURES, field)
    assert text in message, message
    assert sys.path == path_before


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("raise RuntimeError('at import')\n", "RuntimeError: at import"),
        ("def broken(:\n", "SyntaxError"),
        ("import not_installed_dep_xyz\n", "it needs 'not_installed_dep_xyz', which is not installed"),
    ],
)
def test_user_module_failing_import(tmp_path: pathlib.Path, source: str, text: str) -> None:
    module = f"broken_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(source)
    message = model_error(spec(f"{module}:build"), tmp_path, "model.name")
    assert f"importing '{module}' failed: {text}" in message


# ------------------------------------------------------------------------------------------------- onnx
@pytest.fixture(scope="module")
def exported_onnx(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """tiny_cnn exported by torch's TorchScript exporter (the dynamo one needs onnxscript)."""
    path = tmp_path_factory.mktemp("onnx") / "tiny_cnn.onnx"
    entry = ZOO["tiny_cnn"]
    model = entry.build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter announces its deprecation
        torch.onnx.export(model, (entry.example_input(model),), str(path), dynamo=False)
    return path


def test_onnx_valid_export(exported_onnx: pathlib.Path) -> None:
    loaded = load_model(spec(exported_onnx.name), exported_onnx.parent)
    assert loaded == LoadedModel("tiny_cnn", "onnx", None, None, exported_onnx)


def test_onnx_valid_helper_graph(tmp_path: pathlib.Path) -> None:
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    (tmp_path / "nets").mkdir()
    onnx.save(model, str(tmp_path / "nets" / "relu.onnx"))
    loaded = load_model(spec("nets/relu.onnx"), tmp_path)
    assert (loaded.source, loaded.name, loaded.onnx_path) == ("onnx", "relu", tmp_path / "nets" / "relu.onnx")


def test_onnx_missing(tmp_path: pathlib.Path) -> None:
    message = model_error(spec("missing.onnx"), tmp_path, "model.name")
    assert message == f"model.name: ONNX file not found: {tmp_path / 'missing.onnx'}"


@pytest.mark.parametrize("damage", ["random", "truncated", "empty-graph"])
def test_onnx_corrupt(tmp_path: pathlib.Path, exported_onnx: pathlib.Path, damage: str) -> None:
    path = tmp_path / "bad.onnx"
    if damage == "random":
        path.write_bytes(os.urandom(4096))
    elif damage == "truncated":
        data = exported_onnx.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        onnx.save(onnx.ModelProto(), str(path))  # parses, but is no model
    message = model_error(spec("bad.onnx"), tmp_path, "model.name")
    assert message.startswith(f"model.name: {path} is not a valid ONNX model (") and message.endswith(")")


def test_onnx_rejects_checkpoint_and_kwargs(exported_onnx: pathlib.Path) -> None:
    base = exported_onnx.parent
    model_error(spec(exported_onnx.name, checkpoint="w.pt"), base, "model.checkpoint")
    model_error(spec(exported_onnx.name, kwargs={"a": 1}), base, "model.kwargs")


def test_user_factory_in_a_package(tmp_path: pathlib.Path) -> None:
    package = f"pkg_{uuid.uuid4().hex}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "nets.py").write_text(
        "import torch\n\ndef build(width=3):\n    return torch.nn.Linear(2, width), torch.zeros(1, 2)\n"
    )
    loaded = load_model(spec(f"{package}.nets:build", kwargs={"width": 5}), tmp_path)
    assert forward(loaded).shape == (1, 5)
