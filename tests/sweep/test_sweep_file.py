"""The sweep file: parsing, validation with one-line errors, the points it expands to."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparsesim.errors import SpecError
from sparsesim.spec import load_workload
from sparsesim.sweep import check_path, load_sweep, sweep_from_dict

from .conftest import ROOT, TINY_BASE, write_sweep

SHIPPED = ROOT / "workloads" / "sweep-array-vs-nm.yaml"


def test_the_shipped_sweep():
    sweep = load_sweep(SHIPPED)
    assert sweep.name == "sweep-array-vs-nm" and sweep.size == 18
    assert sweep.output == Path("reports/sweep-array-vs-nm")
    points = sweep.points()
    assert [p.index for p in points] == list(range(1, 19))
    assert points[0].values == {
        "accelerator.rows": 8,
        "accelerator.cols": 16,
        "sparsity.n": 1,
        "sparsity.m": 4,
    }
    assert points[-1].values == {
        "accelerator.rows": 32,
        "accelerator.cols": 32,
        "sparsity.n": 2,
        "sparsity.m": 8,
    }
    base = load_workload(ROOT / "workloads" / "tiny-cnn-nm-2of4.yaml")
    assert sweep.base.to_dict() == base.to_dict()
    for p in points:
        assert p.workload.accelerator.rows == p.values["accelerator.rows"]
        assert (p.workload.sparsity.n, p.workload.sparsity.m) == (
            p.values["sparsity.n"],
            p.values["sparsity.m"],
        )
        assert p.key == p.workload.spec_hash()
    assert len({p.key for p in points}) == 18


def test_cartesian_order_last_axis_fastest_and_zip_groups(tmp_path):
    sweep = sweep_from_dict(
        {
            "base": TINY_BASE,
            "axes": {"accelerator.rows": [8, 16], "task.batch_size": [4, 8, 16]},
            "zip": [{"sparsity.n": [1, 2], "sparsity.m": [4, 8]}],
        },
        base_dir=tmp_path,
    )
    values = [p.values for p in sweep.points()]
    assert len(values) == 12
    assert values[:3] == [
        {"accelerator.rows": 8, "task.batch_size": 4, "sparsity.n": 1, "sparsity.m": 4},
        {"accelerator.rows": 8, "task.batch_size": 4, "sparsity.n": 2, "sparsity.m": 8},
        {"accelerator.rows": 8, "task.batch_size": 8, "sparsity.n": 1, "sparsity.m": 4},
    ]


def test_base_file_is_relative_to_the_sweep_file_and_sections_are_values(tmp_path):
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "base.yaml").write_text("model: tiny_mlp\nsparsity: dense\ntarget: sat\n")
    path = write_sweep(
        tmp_path / "w",
        {"base": "base.yaml", "axes": {"sparsity": ["dense", {"pattern": "bdwp", "n": 2, "m": 8}]}},
        name="s.yaml",
    )
    sweep = load_sweep(path)
    assert sweep.name == "s" and sweep.output == Path("reports/s")
    a, b = sweep.points()
    assert a.workload.sparsity.pattern == "dense"
    assert (b.workload.sparsity.pattern, b.workload.sparsity.n, b.workload.sparsity.m) == ("bdwp", 2, 8)


@pytest.mark.parametrize(
    "data,fragment",
    [
        ({"axes": {}}, "base: required field is missing"),
        ({"base": TINY_BASE, "axis": {}}, "axis: unknown field"),
        (
            {"base": TINY_BASE, "axes": {"accelerator.rowz": [8]}},
            "axes['accelerator.rowz']: 'accelerator.rowz' is not a workload field (did you mean 'accelerator.rows'?",
        ),
        ({"base": TINY_BASE, "axes": {"target.x": [1]}}, "'target' is a value, not a section"),
        (
            {"base": TINY_BASE, "axes": {"accelerator.rows": []}},
            "axes['accelerator.rows']: needs at least one value",
        ),
        (
            {"base": TINY_BASE, "axes": {"accelerator.rows": 8}},
            "axes['accelerator.rows']: input should be a valid list (got 8)",
        ),
        (
            {"base": TINY_BASE, "zip": [{"sparsity.n": [1, 2], "sparsity.m": [4]}]},
            "zip[0]: the lists must have one length (got sparsity.n: 2, sparsity.m: 1)",
        ),
        (
            {"base": TINY_BASE, "axes": {"sparsity.n": [1]}, "zip": [{"sparsity.n": [1], "sparsity.m": [4]}]},
            "zip[0]: 'sparsity.n' is swept twice",
        ),
        (
            {"base": {**TINY_BASE, "sparsity": {"pattern": "nm", "n": 5, "m": 4}}},
            "base.sparsity.n: must be <= sparsity.m (got n=5, m=4)",
        ),
        ({"base": "missing.yaml"}, "base: "),
    ],
    ids=[
        "no-base",
        "unknown-key",
        "unknown-path",
        "leaf-path",
        "empty-axis",
        "not-a-list",
        "zip-lengths",
        "twice",
        "bad-base",
        "missing-base",
    ],
)
def test_bad_sweep_files_are_one_line_errors(tmp_path, data, fragment):
    path = write_sweep(tmp_path, data)
    with pytest.raises(SpecError) as err:
        load_sweep(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    assert fragment in message


def test_an_invalid_point_fails_the_sweep_naming_the_axis_and_value(tmp_path):
    path = write_sweep(tmp_path, {"base": TINY_BASE, "axes": {"sparsity.n": [1, 8]}})
    sweep = load_sweep(path)
    with pytest.raises(SpecError) as err:
        sweep.points()
    assert str(err.value) == (
        f"{path}: point 2/2 (sparsity.n=8): sparsity.n: must be <= sparsity.m (got n=8, m=4) "
        "(set skip_invalid: true to skip such points)"
    )


def test_an_nm_the_array_cannot_run_is_caught_before_running(tmp_path):
    sweep = sweep_from_dict({"base": TINY_BASE, "axes": {"sparsity.m": [8, 16]}}, base_dir=tmp_path)
    with pytest.raises(
        SpecError, match=r"point 2/2 \(sparsity.m=16\): accelerator.max_m: the array cannot run 2:16"
    ):
        sweep.points()


def test_skip_invalid_keeps_the_point_with_its_reason(tmp_path):
    sweep = sweep_from_dict(
        {"base": TINY_BASE, "axes": {"sparsity.n": [1, 8, 2]}, "skip_invalid": True}, base_dir=tmp_path
    )
    points = sweep.points()
    assert [p.key is None for p in points] == [False, True, False]
    assert points[1].error == "sparsity.n: must be <= sparsity.m (got n=8, m=4)"


def test_check_path_accepts_free_form_mappings():
    check_path("sparsity.overrides")
    check_path("model.kwargs.width")
    check_path("accelerator.optimisations.interleave")
    with pytest.raises(SpecError, match="did you mean 'accelerator.optimisations.interleave'"):
        check_path("accelerator.optimisations.interleav")
