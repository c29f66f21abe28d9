"""Fuzzing the workload front end (bounded, in-process): hypothesis builds valid workload documents and
damages them (wrong types, huge numbers, inf/nan, bad names, unknown keys, duplicate keys, aliases, deep
nesting). Whatever the document, `sparsesim validate` must keep the error contract: exit 0 with valid JSON
on stdout, or exit 2 with exactly one `error:` line naming the file; never a traceback, never a file written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsesim import cli

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # CI runs the same documents every time; a failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ----------------------------------------------------------------------------------------- valid documents
positive = st.integers(min_value=1, max_value=64)
SECTIONS = {
    "task": st.fixed_dictionaries(
        {},
        optional={
            "mode": st.sampled_from(["train", "infer"]),
            "batch_size": positive,
            "optimizer": st.fixed_dictionaries(
                {}, optional={"lr": st.floats(0.001, 1.0), "momentum": st.floats(0.0, 0.99)}
            ),
        },
    ),
    "accelerator": st.fixed_dictionaries(
        {},
        optional={
            "rows": positive,
            "cols": positive,
            "clock_mhz": st.floats(50, 500),
            "dataflow": st.sampled_from(["auto", "ws", "os"]),
            "act_buffer_kib": st.integers(64, 8192),
            "optimisations": st.fixed_dictionaries({}, optional={"interleave": st.booleans()}),
        },
    ),
    "mobile": st.fixed_dictionaries(
        {},
        optional={
            "threads": st.integers(1, 4),
            "soc": st.sampled_from(["snapdragon835", "snapdragon855"]),
            "dram_efficiency": st.floats(0.1, 1.0),
        },
    ),
}
SPARSITY = st.one_of(
    st.just("dense"),
    st.builds(lambda nm: {"pattern": "nm", "n": nm[0], "m": nm[1]}, st.sampled_from([(1, 2), (2, 4), (2, 8)])),
    st.builds(lambda s: {"pattern": "block", "sparsity": s}, st.floats(0.1, 0.95)),
)


@st.composite
def documents(draw) -> dict:
    target = draw(st.sampled_from(["sat", "mobile"]))
    sparsity = draw(SPARSITY)
    if target == "sat" and isinstance(sparsity, dict) and sparsity["pattern"] == "block":
        sparsity = "dense"  # the sat array runs only N:M: block on sat is a (tested) error, not a valid document
    doc: dict = {
        "model": draw(st.sampled_from(["tiny_cnn", "tiny_mlp", {"name": "tiny_cnn", "seed": 3}])),
        "sparsity": sparsity,
        "target": target,
    }
    for key, strategy in SECTIONS.items():
        if draw(st.booleans()):
            doc[key] = draw(strategy)
    if draw(st.booleans()):
        doc["name"] = draw(st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True))
    return doc


# ------------------------------------------------------------------------------------------------ damage
BAD_VALUES = st.one_of(
    st.booleans(),
    st.none(),
    st.just(float("inf")),
    st.just(float("-inf")),
    st.just(float("nan")),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["../../x", "/abs/path", "..", "a\x00b", "x" * 300, "\x1b[31m", "32", "1e400", ""]),
)


def _paths(doc: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for k, v in doc.items():
        out.append((*prefix, k))
        if isinstance(v, dict):
            out += _paths(v, (*prefix, k))
    return out


@st.composite
def damaged_text(draw) -> str:
    doc = draw(documents())
    kind = draw(st.sampled_from(["value", "value", "unknown-key", "name", "duplicate", "alias", "deep", "none"]))
    if kind in ("value", "unknown-key", "name"):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        node = doc
        for k in path[:-1]:
            node = node[k]
        if kind == "value":
            node[path[-1]] = draw(BAD_VALUES)
        elif kind == "unknown-key":
            node[draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True)) + "_x"] = draw(BAD_VALUES)
        else:
            doc["name"] = draw(BAD_VALUES)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if kind == "duplicate":
        text += f"target: {draw(st.sampled_from(['sat', 'mobile']))}\n"
    elif kind == "alias":
        width = draw(st.integers(2, 12))
        depth = draw(st.integers(1, 9))
        text += "z0: &z0 [" + ", ".join(["1"] * width) + "]\n"
        text += "".join(f"z{i}: &z{i} [{', '.join([f'*z{i - 1}'] * width)}]\n" for i in range(1, depth))
    elif kind == "deep":
        depth = draw(st.integers(1, 3000))
        text += "deep: " + "[" * depth + "]" * depth + "\n"
    return text


def _snapshot(root: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        out.update({os.path.join(dirpath, d): None for d in dirnames})
        out.update({os.path.join(dirpath, f): Path(dirpath, f).read_bytes() for f in filenames})
    return out


def _strict_json(text: str) -> object:
    def reject(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


@SETTINGS
@given(text=damaged_text())
def test_damaged_workloads_keep_the_error_contract(text, tmp_path_factory, capsys, monkeypatch):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "w.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(folder)
    before = _snapshot(folder.parent)
    code = cli.main(["validate", "w.yaml", "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err
    if code == 0:
        _strict_json(out)  # valid JSON: no Infinity/NaN
        assert err == ""
    else:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: w.yaml"), err
        assert out == ""
    assert _snapshot(folder.parent) == before


@SETTINGS
@given(doc=documents())
def test_valid_documents_validate_and_round_trip(doc, tmp_path_factory, capsys, monkeypatch):
    folder = tmp_path_factory.mktemp("valid")
    (folder / "w.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.chdir(folder)
    assert cli.main(["validate", "w.yaml", "--format", "json"]) == 0
    resolved = _strict_json(capsys.readouterr().out)["workload"]
    # The resolved spec (the preset's values filled in) is itself a valid workload, and a fixed point.
    (folder / "again.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False))
    assert cli.main(["validate", "again.yaml", "--format", "json"]) == 0
    assert _strict_json(capsys.readouterr().out)["workload"] == resolved


@settings(SETTINGS, max_examples=100)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_are_rejected_or_accepted_cleanly(data, tmp_path_factory, capsys, monkeypatch):
    folder = tmp_path_factory.mktemp("bytes")
    (folder / "w.yaml").write_bytes(data)
    monkeypatch.chdir(folder)
    code = cli.main(["validate", "w.yaml"])
    out, err = capsys.readouterr()
    assert code == 2 or (code == 0 and err == ""), err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: w.yaml"), err
