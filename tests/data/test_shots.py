import numpy as np
import pytest

from kgantl.data.shots import select_shots


def test_matches_the_benchmark_rule_exactly():
    labels = np.random.default_rng(5).integers(0, 3, 300)
    got = select_shots(labels, [2], shots=7, seed=4)
    idx = np.flatnonzero(labels == 2)
    expected = idx[np.random.default_rng(4).permutation(len(idx))[:7]]
    np.testing.assert_array_equal(got, expected)


def test_smaller_shot_sets_are_nested_in_larger_ones():
    labels = np.random.default_rng(0).integers(0, 2, 500)
    ten, hundred = select_shots(labels, [1], 10, seed=1), select_shots(labels, [1], 100, seed=1)
    assert set(ten) <= set(hundred)
    np.testing.assert_array_equal(ten, hundred[:10])


def test_several_classes_use_the_same_seed_per_class():
    labels = np.array([0, 1] * 50)
    both = select_shots(labels, [0, 1], 5, seed=2)
    np.testing.assert_array_equal(both[:5], select_shots(labels, [0], 5, seed=2))
    np.testing.assert_array_equal(both[5:], select_shots(labels, [1], 5, seed=2))


def test_too_many_shots_names_class_and_limit():
    with pytest.raises(ValueError, match=r"^shots must be <= 3 for class 1\. Received: shots=4$"):
        select_shots(np.array([0, 1, 1, 1]), [1], 4)


@pytest.mark.parametrize("shots", [0, -1, 2.5, True])
def test_shots_must_be_positive_int(shots):
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        select_shots(np.array([0, 0]), [0], shots)
