"""The cache key of a point is the hash of its resolved spec: changing any field changes it."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from sparsesim.spec import Workload, workload_from_dict
from sparsesim.sweep import sweep_from_dict

from .conftest import TINY_BASE


def leaves(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(leaves(v, path + "."))
        else:
            out[path] = v
    return out


def annotation(path: str) -> Any:
    model: type[BaseModel] = Workload
    ann: Any = None
    for key in path.split("."):
        ann = model.model_fields[key].annotation
        nested = [
            a for a in typing.get_args(ann) or (ann,) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        model = nested[0] if nested else model
    return ann


def literal_choices(ann: Any) -> list[Any]:
    if typing.get_origin(ann) is Literal:
        return list(typing.get_args(ann))
    out = []
    for a in typing.get_args(ann):
        out += literal_choices(a)
    return out


def candidates(path: str, value: Any) -> list[Any]:
    """Other values for a field, most of which the schema accepts."""
    ann = annotation(path)
    if isinstance(value, list):
        extra = [c for c in literal_choices(ann) if c not in value]
        return [value[:-1], value + extra[:1], ["conv*"], [3, 32, 32]]
    choices = [c for c in literal_choices(ann) if c != value]
    if choices:
        return choices
    if path == "model.name":
        return ["tiny_cnn"]
    if path == "model.checkpoint":
        return ["weights.pt"]  # exists in the base folder (the spec checks)
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value * 2, value - 1]
    if isinstance(value, float):
        return [value * 1.5, value * 0.5, value + 0.25]
    if isinstance(value, dict):
        return [{"fc*": {"n": 1}}, {"width": 2}]
    if value is None:
        return [8, 16, 0.5, 100.0, "x", [3, 32, 32], 400, 2400, True]  # True: an unset bool switch
    return [f"{value}-other"]


def test_changing_any_field_changes_the_cache_key(tmp_path):
    (tmp_path / "weights.pt").write_bytes(b"")
    base = workload_from_dict(dict(TINY_BASE), base_dir=tmp_path)
    base_dict = base.to_dict()
    keys = {base.spec_hash(): "(base)"}
    unchangeable = []
    for path, value in leaves(base_dict).items():
        changed = None
        for cand in candidates(path, value):
            try:
                wl = base.with_updates({path: cand})
            except Exception:
                continue
            if leaves(wl.to_dict()).get(path) != value:
                changed = wl
                break
        if changed is None:
            unchangeable.append(path)
            continue
        key = changed.spec_hash()
        assert key not in keys, f"{path}: same key as {keys.get(key)}"
        keys[key] = path
    # The only fields with no other valid value are single-choice literals, and accelerator.scalesim, which
    # this training base cannot take (it needs dense inference and an existing .cfg; test below).
    assert unchangeable == ["task.optimizer.kind", "accelerator.preset", "accelerator.scalesim"]
    assert len(keys) > 60


def test_points_share_keys_with_the_same_spec_reached_another_way(tmp_path):
    a = sweep_from_dict({"base": TINY_BASE, "axes": {"accelerator.rows": [8, 16]}}, base_dir=tmp_path)
    b = sweep_from_dict(
        {"base": {**TINY_BASE, "accelerator": {"rows": 16}}, "axes": {"task.batch_size": [32, 64]}},
        base_dir=tmp_path,
    )
    ka = [p.key for p in a.points()]
    kb = [p.key for p in b.points()]
    assert ka[1] == kb[0] and ka[0] not in kb and kb[1] not in ka


def test_the_scalesim_config_is_part_of_the_cache_key():
    data = Path(__file__).resolve().parents[1] / "sat" / "data" / "scalesim"
    from sparsesim.spec import load_workload

    ws = load_workload(data / "resnet18-ws32.yaml")
    os_ = ws.with_updates({"accelerator.scalesim": str(data / "os32.cfg")})
    assert ws.spec_hash() != os_.spec_hash()
