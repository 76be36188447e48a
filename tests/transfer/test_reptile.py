import numpy as np
import pytest

from kgantl.data.sources import ImageArrays
from kgantl.models import GAN, build_discriminator, build_generator
from kgantl.transfer.reptile import reptile


def _arrays():
    labels = np.repeat([0, 1, 2], 16)
    images = np.broadcast_to((labels * 100.0)[:, None, None, None], (48, 8, 8, 1)).astype("float32")
    return ImageArrays(images, labels, 3, ("a", "b", "c"))


def _gan():
    gan = GAN(build_generator(8, 1, 8, width=4, seed=0), build_discriminator(8, 1, width=4, seed=1), seed=0)
    gan.compile()
    return gan


def test_meta_training_moves_the_weights_and_resets_the_ema():
    gan = _gan()
    start = gan.generator.get_weights()[0].copy()
    losses = reptile(gan, _arrays(), meta_iterations=2, inner_steps=3, meta_step_size=0.5, batch_size=8)
    assert len(losses) == 2 and np.isfinite(losses).all()
    after_meta = gan.generator.get_weights()[0]
    assert not np.array_equal(after_meta, start)
    np.testing.assert_allclose(gan.ema_generator.get_weights()[0], after_meta)


def test_step_size_one_keeps_the_task_weights_and_small_steps_stay_close():
    small, large = _gan(), _gan()
    start = small.generator.get_weights()[0].copy()
    reptile(small, _arrays(), meta_iterations=1, inner_steps=3, meta_step_size=0.01, batch_size=8, seed=0)
    reptile(large, _arrays(), meta_iterations=1, inner_steps=3, meta_step_size=1.0, batch_size=8, seed=0)
    small_move = np.abs(small.generator.get_weights()[0] - start).sum()
    large_move = np.abs(large.generator.get_weights()[0] - start).sum()
    assert small_move == pytest.approx(0.01 * large_move, rel=1e-3)


@pytest.mark.parametrize("kwargs, message", [
    ({"meta_iterations": 0}, "meta_iterations must be a positive integer"),
    ({"meta_step_size": 0}, r"meta_step_size must be in \(0, 1\]"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        reptile(_gan(), _arrays(), **kwargs)


def test_needs_several_classes():
    arrays = _arrays()
    one = ImageArrays(arrays.images[:16], arrays.labels[:16], 3, arrays.class_names)
    with pytest.raises(ValueError, match="at least 2 classes"):
        reptile(_gan(), one)
