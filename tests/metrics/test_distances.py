import numpy as np
import pytest

from kgantl.metrics.distances import (fid_from_features, frechet_distance, gaussian_statistics, inception_score,
                                      kernel_inception_distance, kid_subset_size, precision_recall, unbiased_mmd2)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected)


def test_frechet_distance_matches_scipy_sqrtm_for_non_commuting_covariances():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(scipy_linalg.sqrtm(s1 @ s2)))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_of_rotated_covariances():
    # Same covariance up to rotation and same mean: tr(S1 + S2 - 2 sqrt(S1 S2)) with S2 = R S1 R^T.
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    sigma = a @ a.T + np.eye(4)
    assert frechet_distance(np.zeros(4), sigma, np.zeros(4), sigma) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(np.zeros(4), sigma, np.ones(4), sigma) == pytest.approx(4.0)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_shift():
    features = np.random.default_rng(1).standard_normal((600, 8))
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-8)
    assert fid_from_features(features, features + 0.5) == pytest.approx(8 * 0.25, rel=1e-6)


def test_fid_refuses_meaningless_inputs():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match=r"more samples than feature dimensions.*Received: 10 samples of dimension 16"):
        fid_from_features(rng.standard_normal((10, 16)), rng.standard_normal((100, 16)))
    constant = rng.standard_normal((100, 4))
    constant[:, 2] = 1.0
    with pytest.raises(ValueError, match="covariance of generated features is singular"):
        fid_from_features(rng.standard_normal((100, 4)), constant)
    with pytest.raises(ValueError, match="must not contain NaN"):
        gaussian_statistics(np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match=r"2-D array \(samples, features\)"):
        fid_from_features(np.zeros((10, 2, 2)), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="same dimension"):
        fid_from_features(rng.standard_normal((50, 3)), rng.standard_normal((50, 4)))


def test_kid_is_near_zero_for_one_distribution_and_grows_with_shift():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    same_mean, same_std = kernel_inception_distance(a, b, subsets=20, subset_size=200)
    assert abs(same_mean) < 3 * same_std + 1e-3
    shifts = [kernel_inception_distance(a, b + s, subsets=5, subset_size=200)[0] for s in (0.25, 0.5, 1.0)]
    assert same_mean < shifts[0] < shifts[1] < shifts[2]


def test_kid_can_be_slightly_negative_and_caps_the_subset_size():
    rng = np.random.default_rng(4)
    values = [kernel_inception_distance(rng.standard_normal((20, 4)), rng.standard_normal((30, 4)), subsets=1,
                                        subset_size=1000, seed=s)[0] for s in range(20)]
    assert min(values) < 0 < max(values)


def test_kid_spread_is_estimated_when_the_subset_size_covers_a_whole_set():
    rng = np.random.default_rng(6)
    real, fake = rng.standard_normal((100, 8)), rng.standard_normal((100, 8)) + 0.3
    # Subsets of the whole sets would all be equal (std 0): half-size subsets differ, so their spread means something.
    assert kid_subset_size(1000, 100, 100, subsets=20) == kid_subset_size(100, 100, 300, subsets=20) == 50
    assert kid_subset_size(60, 100, 100, subsets=20) == 60  # smaller than both sets: used as asked
    assert kid_subset_size(1000, 100, 100, subsets=1) == 100  # one subset has no spread: use everything
    mean, std = kernel_inception_distance(real, fake, subsets=20, subset_size=100)
    assert std > 0
    full = unbiased_mmd2(real, fake)
    assert abs(mean - full) < 3 * std


def test_unbiased_mmd2_matches_the_written_out_formula():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((9, 3))
    k = lambda a, b: (a @ b / 3 + 1.0) ** 3  # noqa: E731
    xx = np.mean([k(x[i], x[j]) for i in range(6) for j in range(6) if i != j])
    yy = np.mean([k(y[i], y[j]) for i in range(9) for j in range(9) if i != j])
    xy = np.mean([k(a, b) for a in x for b in y])
    assert unbiased_mmd2(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)
    assert isinstance(unbiased_mmd2(x, y), float)


def test_precision_recall():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((300, 4))
    assert precision_recall(real, real) == (1.0, 1.0)
    near = precision_recall(real, rng.standard_normal((300, 4)) + 1.0)
    far = precision_recall(real, rng.standard_normal((300, 4)) + 4.0)
    assert far[0] < near[0] < 1.0 and far[1] < near[1] < 1.0
    copies = precision_recall(real, np.repeat(real[:3], 100, axis=0) + 1e-6)  # memorised few samples
    assert copies[0] == 1.0 and copies[1] < 0.1


def test_inception_score_bounds():
    constant = np.tile([0.2, 0.3, 0.5], (100, 1))
    assert inception_score(constant, splits=5)[0] == pytest.approx(1.0)
    confident = np.eye(4)[np.arange(100) % 4]
    assert inception_score(confident, splits=5)[0] == pytest.approx(4.0, rel=1e-6)
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(np.ones((10, 3)))
    with pytest.raises(ValueError, match="splits must be between 1 and the sample count 10"):
        inception_score(np.eye(2)[np.arange(10) % 2], splits=11)


@pytest.mark.parametrize("call, message", [
    (lambda: kernel_inception_distance(np.zeros((5, 3)), np.full((5, 3), np.nan)), "must not contain NaN"),
    (lambda: kernel_inception_distance(np.zeros((1, 3)), np.zeros((5, 3))), "needs at least 2 samples"),
    (lambda: kernel_inception_distance(np.zeros(5), np.zeros((5, 3))), "2-D array"),
    (lambda: precision_recall(np.zeros((3, 2)), np.zeros((10, 2))), "needs at least 4 samples"),
    (lambda: inception_score(np.zeros((4, 2, 2))), "2-D array"),
    (lambda: frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(3)), "means must be"),
])
def test_bad_inputs_give_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
