"""N:M masks: exact kept counts, group layout, the tie rule, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesim.errors import SparsityError
from sparsesim.sparsity import nm_group_counts, nm_groups_along, nm_mask, nm_ungroup
from sparsesim.sparsity.nm import topn_group_major


def reference_nm_mask(w: np.ndarray, n: int, m: int, axis: int) -> np.ndarray:
    """Per-group stable descending sort: the definition of the tie rule."""
    groups = np.abs(nm_groups_along(w, m, axis))
    order = np.argsort(-groups, axis=-1, kind="stable")[..., :n]
    keep = np.zeros(groups.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return nm_ungroup(keep, axis)


def test_tie_rule_lower_index_wins() -> None:
    w = np.array([[3, 1, 3, 3, 0, 0, 0, 0, -2, 2, 1, -2]], dtype=np.float32)
    mask = nm_mask(w, 2, 4, axis=1)
    assert mask.tolist() == [[True, False, True, False, True, True, False, False, True, True, False, False]]


def test_tie_rule_signed_and_signed_zero_are_equal() -> None:
    w = np.array([[-0.0, 0.0, -0.0, 0.0], [-1.0, 1.0, 0.5, -1.0]], dtype=np.float32)
    assert nm_mask(w, 1, 4, axis=1).tolist() == [[True, False, False, False], [True, False, False, False]]
    assert nm_mask(w, 3, 4, axis=1)[1].tolist() == [True, True, False, True]


def test_ties_match_reference_both_paths() -> None:
    rng = np.random.default_rng(1)
    for m, n in [(4, 2), (8, 2), (8, 7), (16, 5), (32, 16), (64, 3)]:  # m = 64 takes the sort path
        w = rng.integers(-2, 3, size=(6, 2 * m, 3)).astype(np.float32)  # many ties
        for axis in (1,):
            np.testing.assert_array_equal(nm_mask(w, n, m, axis), reference_nm_mask(w, n, m, axis))
        wt = np.ascontiguousarray(w.transpose(1, 0, 2))
        np.testing.assert_array_equal(nm_mask(wt, n, m, 0), reference_nm_mask(wt, n, m, 0))


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    m=st.sampled_from([1, 2, 4, 8, 16]),
    ndim=st.integers(2, 4),
)
def test_exact_n_per_group_property(data: st.DataObject, m: int, ndim: int) -> None:
    n = data.draw(st.integers(1, m))
    axis = data.draw(st.integers(0, ndim - 1))
    shape = [data.draw(st.integers(1, 3)) for _ in range(ndim)]
    shape[axis] = m * data.draw(st.integers(1, 3))
    seed = data.draw(st.integers(0, 2**32 - 1))
    w = np.random.default_rng(seed).integers(-3, 4, size=shape).astype(np.float32)
    mask = nm_mask(w, n, m, axis)
    assert mask.shape == w.shape and mask.dtype == bool
    assert (nm_group_counts(mask, m, axis) == n).all()
    np.testing.assert_array_equal(mask, reference_nm_mask(w, n, m, axis))
    # kept weights dominate pruned ones in each group
    g, k = np.abs(nm_groups_along(w, m, axis)), nm_groups_along(mask, m, axis)
    kept_min = np.where(k, g, np.inf).min(axis=-1)
    pruned_max = np.where(~k, g, -np.inf).max(axis=-1)
    assert (kept_min >= pruned_max).all()


def test_conv_groups_run_along_cin_at_each_tap() -> None:
    # At every (cout, kh, kw) the Cin values are a distinct pattern; groups are Cin[0:4], Cin[4:8].
    cout, cin, kh, kw = 2, 8, 3, 3
    w = np.zeros((cout, cin, kh, kw), dtype=np.float32)
    for o in range(cout):
        for y in range(kh):
            for x in range(kw):
                w[o, :, y, x] = np.roll(np.arange(1, cin + 1), o + 3 * y + x)
    mask = nm_mask(w, 1, 4, axis=1)
    for o in range(cout):
        for y in range(kh):
            for x in range(kw):
                col = w[o, :, y, x]
                expected = np.zeros(cin, dtype=bool)
                expected[np.argmax(col[:4])] = True
                expected[4 + np.argmax(col[4:])] = True
                assert mask[o, :, y, x].tolist() == expected.tolist()


def test_linear_groups_along_cin() -> None:
    w = np.array([[1, 5, 2, 4, 9, 8, 7, 6]], dtype=np.float32)
    assert nm_mask(w, 2, 4, axis=1).tolist() == [[False, True, False, True, True, True, False, False]]


def test_bp_axis_with_groups() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)  # grouped conv, 2 groups of 8 outputs
    mask = nm_mask(w, 2, 8, axis=0, groups=2)
    assert (nm_group_counts(mask, 8, 0) == 2).all()
    with pytest.raises(SparsityError, match=r"Cout/groups=4 is not a multiple of m=8"):
        nm_mask(rng.standard_normal((16, 3, 1, 1)), 2, 8, axis=0, groups=4)


@pytest.mark.parametrize(
    ("shape", "n", "m", "axis", "message"),
    [
        ((4, 3, 3, 3), 2, 8, 1, r"layer conv1: Cin/groups=3 is not a multiple of m=8"),
        ((4, 12), 2, 8, 1, r"Cin=12 is not a multiple of m=8"),
        ((6, 8), 2, 4, 0, r"Cout=6 is not a multiple of m=4"),
        ((4, 8), 5, 4, 1, r"n=5 is larger than m=4"),
        ((4, 8), 0, 4, 1, r"n=0 must be >= 1"),
        ((4, 8), 2, 4, 3, r"axis 3 is out of range"),
    ],
)
def test_errors(shape: tuple[int, ...], n: int, m: int, axis: int, message: str) -> None:
    with pytest.raises(SparsityError, match=message) as info:
        nm_mask(np.ones(shape, dtype=np.float32), n, m, axis, name="conv1")
    assert "\n" not in str(info.value)


def test_nan_rejected() -> None:
    w = np.ones((2, 4), dtype=np.float32)
    w[0, 1] = np.nan
    with pytest.raises(SparsityError, match="NaN"):
        nm_mask(w, 2, 4)


def test_topn_group_major_n_equals_m() -> None:
    assert topn_group_major(np.zeros((4, 3)), 4).all()


def test_groups_along_round_trip() -> None:
    w = np.arange(2 * 8 * 3 * 3, dtype=np.float32).reshape(2, 8, 3, 3)
    g = nm_groups_along(w, 4, 1)
    assert g.shape == (2, 3, 3, 2, 4)
    np.testing.assert_array_equal(g[1, 2, 0, 1], w[1, 4:8, 2, 0])
    np.testing.assert_array_equal(nm_ungroup(g, 1), w)


def test_int8_most_negative_value_ranks_largest():
    # |-128| = 128 is the largest int8 magnitude; np.abs on int8 wraps it to -128.
    w = np.array([[[[-128]], [[5]], [[-3]], [[127]]]], dtype=np.int8).reshape(1, 4, 1, 1)
    mask = nm_mask(w, 1, 4, axis=1)
    assert mask.reshape(-1).tolist() == [True, False, False, False]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_check_finite_finds_every_nan_and_inf_and_accepts_an_overflowing_sum(dtype):
    from sparsesim.sparsity.nm import check_finite

    big = np.full((4, 64), np.finfo(dtype).max, dtype=dtype)  # finite, but their sum overflows to inf
    check_finite(big)
    check_finite(-big)
    check_finite(np.zeros((0, 8), dtype=dtype))
    for bad in (np.nan, np.inf, -np.inf):
        w = np.ones((4, 64), dtype=dtype)
        w[3, 17] = bad
        with pytest.raises(SparsityError, match="layer fc: weight contains NaN or inf"):
            check_finite(w, name="fc")
    mixed = big.copy()
    mixed[0, 0], mixed[1, 0] = np.inf, -np.inf  # +inf + -inf: a NaN sum, still caught
    with pytest.raises(SparsityError):
        check_finite(mixed)
