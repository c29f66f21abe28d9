"""The workload.yaml schema: defaults, shorthands, one-line errors naming the YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sparsesim.errors import SpecError
from sparsesim.spec import ZOO_NAMES, load_workload, workload_from_dict


def _write(tmp_path: Path, text: str, name: str = "w.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_three_line_file_is_valid_and_defaults_resolve(tmp_path):
    wl = load_workload(_write(tmp_path, "model: resnet18\nsparsity: dense\ntarget: sat\n"))
    assert wl.name == "w" and wl.model.name == "resnet18" and wl.model.source == "zoo"
    assert wl.task.mode == "train" and wl.task.batch_size == 32  # sat trains by default
    assert wl.sparsity.pattern == "dense" and wl.sparsity.density == 1.0
    assert wl.output_dir() == Path("reports") / "w"
    mob = load_workload(_write(tmp_path, "model: tiny_cnn\nsparsity: dense\ntarget: mobile\n", "m.yaml"))
    assert mob.task.mode == "infer" and mob.task.batch_size == 1
    # The resolved spec round-trips through YAML.
    again = workload_from_dict(yaml.safe_load(wl.to_yaml()), base_dir=tmp_path)
    assert again.to_dict() == wl.to_dict() and again.spec_hash() == wl.spec_hash()


def test_zoo_names_agree_with_the_zoo():
    from sparsesim.models import ZOO

    assert set(ZOO_NAMES) == set(ZOO)


@pytest.mark.parametrize(
    "body,expected",
    [
        (
            "model: resnet50\nsparsity: {pattern: bdwp, n: 5, m: 4}\ntarget: sat\n",
            "sparsity.n: must be <= sparsity.m (got n=5, m=4)",
        ),
        (
            "model: resnet50\nsparsity: {pattern: nm, n: 2, m: 6}\ntarget: sat\n",
            "sparsity.m: must be a power of two",
        ),
        ("model: resnet50\nsparsity: {pattern: bdwp, m: 8}\ntarget: sat\n", "sparsity.n: required"),
        (
            "model: resnet5\nsparsity: dense\ntarget: sat\n",
            "model.name: unknown model 'resnet5' (did you mean 'resnet50'?",
        ),
        ("model: resnet50\nsparsity: dense\ntarget: gpu\n", "target: must be one of: 'sat' or 'mobile'"),
        (
            "model: resnet50\nsparsity: {pattern: group}\ntarget: mobile\n",
            "sparsity.sparsity: required for pattern 'group'",
        ),
        (
            "model: resnet50\nsparsity: {pattern: bdwp, n: 2, m: 8, N: 3}\ntarget: sat\n",
            "sparsity.N: unknown field (did you mean 'n'?",
        ),
        ("model: resnet50\nsparsity: dense\n", "target: required field is missing"),
        (
            "model: resnet50\nsparsity: dense\ntarget: sat\naccelerator: {rows: 0}\n",
            "accelerator.rows: input should be greater than or equal to 1",
        ),
        (
            "model: resnet50\nsparsity: dense\ntarget: sat\ntask: {batch_size: two}\n",
            "task.batch_size: input should be a valid integer",
        ),
        (
            "model: resnet50\nsparsity: {pattern: bdwp, n: 2, m: 8, overrides: {'layer4.*': {n: 9}}}\ntarget: sat\n",
            "sparsity.overrides['layer4.*'].n: must be <= sparsity.m (got n=9, m=8)",
        ),
        ("model: net.onnx\nsparsity: dense\ntarget: sat\n", "model.name: ONNX file not found"),
        ("model: [\n", "invalid YAML"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("", "empty workload"),
    ],
)
def test_errors_are_one_line_with_the_yaml_path(tmp_path, body, expected):
    with pytest.raises(SpecError) as exc:
        load_workload(_write(tmp_path, body))
    msg = str(exc.value)
    assert expected in msg and "\n" not in msg
    assert msg.startswith(str(tmp_path / "w.yaml"))


def test_file_level_errors(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_workload(tmp_path / "nope.yaml")
    binary = tmp_path / "b.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SpecError, match="binary file"):
        load_workload(binary)
    with pytest.raises(SpecError, match="is a folder"):
        load_workload(tmp_path)


def test_with_updates_applies_dotted_paths_and_revalidates(tmp_path):
    wl = load_workload(
        _write(tmp_path, "model: resnet18\nsparsity: {pattern: nm, n: 2, m: 8}\ntarget: sat\n")
    )
    new = wl.with_updates({"accelerator.rows": 16, "sparsity.m": 4})
    assert new.accelerator.rows == 16 and new.sparsity.m == 4 and wl.sparsity.m == 8
    assert new.spec_hash() != wl.spec_hash()
    with pytest.raises(SpecError, match="sparsity.n: must be <= sparsity.m"):
        wl.with_updates({"sparsity.n": 16})


def test_shipped_workloads_validate():
    root = Path(__file__).resolve().parents[1] / "workloads"
    files = sorted(root.glob("*.yaml"))
    assert len(files) >= 7
    for f in files:
        if f.stem.startswith(("sweep-", "search-")):  # sweep and search files: tests/sweep, tests/search
            continue
        wl = load_workload(f)
        if "train" in f.stem or wl.target == "sat":
            assert wl.task.batch_size == 32 or "batch" in f.stem
