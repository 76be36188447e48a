import numpy as np
import pytest

from kgantl.metrics.copying import copy_scores, intra_cluster_diversity, leave_one_out_distances, mann_whitney_z


def _digit_pixels():
    from sklearn.datasets import load_digits

    digits = load_digits()
    threes = digits.data[digits.target == 3].astype(np.float64) / 16.0
    return threes[:10], threes[10:]  # 10 shots, the other threes held out


def test_copies_of_the_shots_score_as_copies_and_held_out_real_images_do_not():
    shots, held_out = _digit_pixels()
    rng = np.random.default_rng(0)
    copies = shots[rng.integers(0, len(shots), 160)] + rng.normal(0, 0.02, (160, shots.shape[1]))
    real = copy_scores(held_out, shots)
    copied = copy_scores(copies, shots)
    assert real["copy_z"] > -2.0 and real["copy_ratio"] > 0.8
    assert copied["copy_z"] < -4.0 and copied["copy_ratio"] < 0.25 and copied["shot_near_copy"] == 1.0
    assert copied["intra_diversity"] < 0.25 < real["intra_diversity"]
    half = copy_scores(np.concatenate([held_out[:80], copies[:80]]), shots)
    assert copied["copy_z"] < half["copy_z"] < real["copy_z"]


def test_averages_of_shots_and_samples_far_from_them_are_not_copies():
    shots, held_out = _digit_pixels()
    rng = np.random.default_rng(1)
    averages = shots[rng.integers(0, 10, (160, 3))].mean(axis=1)  # near every shot, a copy of none
    scores = copy_scores(averages, shots)
    assert scores["copy_z"] > -2.0 and scores["copy_ratio"] < 0.9  # closer than real images, yet passes
    far = copy_scores(held_out + 3.0, shots)
    assert far["copy_z"] > 0.0 and far["copy_ratio"] > 2


def test_mann_whitney_z_matches_the_textbook_value_and_handles_ties():
    # U = 0 for x entirely below y; mean 4.5, variance 3 * 3 * 7 / 12.
    assert mann_whitney_z([1, 2, 3], [4, 5, 6]) == pytest.approx(-4.5 / np.sqrt(5.25))
    assert mann_whitney_z([4, 5, 6], [1, 2, 3]) == pytest.approx(4.5 / np.sqrt(5.25))
    assert mann_whitney_z([1, 1, 2], [1, 1, 2]) == pytest.approx(0.0)


def test_leave_one_out_and_intra_diversity_on_points_of_a_line():
    shots = np.array([[0.0], [1.0], [3.0]])
    np.testing.assert_allclose(leave_one_out_distances(shots), [1.0, 1.0, 2.0])
    same = np.array([[0.0], [0.0], [3.0], [3.0]])  # two samples on shot 0, two on shot 3, no spread
    assert intra_cluster_diversity(same, shots) == 0.0
    spread = np.array([[-0.5], [0.4], [3.0], [3.0]])
    assert intra_cluster_diversity(spread, shots) == pytest.approx((0.9 / 2) / 2.0)  # cluster means 0.9 and 0


def test_too_few_shots_or_mismatched_features_are_refused():
    with pytest.raises(ValueError, match="shot features needs at least 3 samples. Received: 2"):
        copy_scores(np.zeros((5, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="same dimension"):
        copy_scores(np.zeros((5, 4)), np.zeros((3, 5)))
