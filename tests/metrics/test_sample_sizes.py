"""The minimum and recommended set sizes of each metric (kgantl.metrics.sample_sizes)."""
import pytest

from kgantl.metrics.sample_sizes import judge_sizes


@pytest.mark.parametrize("n_real, n_fake, skipped, warned", [
    (12, 1000, {"kid", "precision_recall", "fid"}, set()),            # a folder of 12 reference images
    (49, 1000, {"kid", "precision_recall", "fid"}, set()),
    (50, 50, {"fid", "is"}, {"kid", "precision_recall"}),
    (100, 1000, set(), {"kid", "precision_recall", "fid"}),
    (1000, 1000, set(), set()),                                       # the protocol's sizes: no remark
])
def test_each_metric_is_skipped_below_its_minimum_and_warned_below_the_recommended_size(n_real, n_fake, skipped,
                                                                                      warned):
    verdicts = judge_sizes(n_real, n_fake, dimension=64, splits=10)
    assert {name for name, v in verdicts.items() if v.skip} == skipped
    assert {name for name, v in verdicts.items() if v.warn} == warned - skipped


def test_the_reason_names_the_metric_the_minimum_and_what_was_short():
    verdicts = judge_sizes(12, 40, dimension=64, splits=10)
    assert verdicts["kid"].reason == "KID needs at least 50 real and generated images; received 12 real, 40 generated"
    assert verdicts["fid"].reason.startswith("FID in 64 dimensions needs at least 65")
    assert "is" not in judge_sizes(12, 40, dimension=64, splits=10, inception_score=False)
