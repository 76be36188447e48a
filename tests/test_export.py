import subprocess
import sys
import textwrap

import numpy as np

from kgantl.export import export_generator
from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator

LOADER = textwrap.dedent("""
    import sys, numpy as np, tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    inputs = {"noise": tf.constant(np.ones((3, 8), np.float32))}
    if len(sys.argv) > 2:
        inputs["labels"] = tf.constant([0, 1, 2])
    images = model.serve(**inputs)["images"].numpy()
    assert "kgantl" not in sys.modules
    np.save(sys.argv[-1] if len(sys.argv) > 3 else sys.argv[1] + ".npy", images)
""")


def _run_loader(*args):
    subprocess.run([sys.executable, "-c", LOADER, *args], check=True, capture_output=True, timeout=120)


def test_unconditional_generator_loads_without_kgantl(tmp_path):
    import tensorflow as tf

    gan = GAN(build_generator(8, 1, 8, width=4, seed=0), build_discriminator(8, 1, width=4), ema_decay=0.9)
    gan.compile()
    gan.fit(tf.data.Dataset.from_tensor_slices(np.zeros((8, 8, 8, 1), "float32")).batch(4), epochs=1, verbose=0)
    path = export_generator(gan, tmp_path / "saved_models" / "gen")
    assert sorted(p.name for p in (tmp_path / "saved_models").iterdir()) == ["gen"]
    _run_loader(str(path))
    images = np.load(str(path) + ".npy")
    noise = np.ones((3, 8), "float32")
    np.testing.assert_allclose(images, gan.generate(noise=noise), atol=1e-5)  # the EMA generator
    assert not np.allclose(images, gan.generator(noise).numpy(), atol=1e-5)
    assert images.shape == (3, 8, 8, 1) and np.abs(images).max() <= 1


def test_conditional_generator_signature_takes_labels(tmp_path):
    gan = ConditionalGAN(build_generator(8, 1, 8, width=4, num_classes=3),
                         build_discriminator(8, 1, width=4, num_classes=3))
    path = export_generator(gan, tmp_path / "cgen", use_ema=False)
    _run_loader(str(path), "labels", "x", str(tmp_path / "out.npy"))
    assert np.load(tmp_path / "out.npy").shape == (3, 8, 8, 1)


def test_export_replaces_an_old_export(tmp_path):
    gan = GAN(build_generator(8, 1, 8, width=4), build_discriminator(8, 1, width=4))
    target = tmp_path / "gen"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    export_generator(gan, target)
    assert not (target / "stale.txt").exists() and (target / "saved_model.pb").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen"]


def test_export_keras_drops_optimizer_state_and_reloads(tmp_path):
    import keras
    import tensorflow as tf

    from kgantl.export import export_keras

    gan = GAN(build_generator(8, 1, 8, width=4, seed=0), build_discriminator(8, 1, width=4), augment="cutout")
    gan.compile()
    gan.fit(tf.data.Dataset.from_tensor_slices(np.zeros((8, 8, 8, 1), "float32")).batch(4), epochs=1, verbose=0)
    gan.save(tmp_path / "full.keras")
    path = export_keras(gan, tmp_path / "ship" / "model.keras")
    assert path.stat().st_size < (tmp_path / "full.keras").stat().st_size
    loaded = keras.saving.load_model(path)
    assert not loaded.compiled
    noise = np.ones((2, 8), "float32")
    np.testing.assert_allclose(loaded.generate(noise=noise), gan.generate(noise=noise), atol=1e-6)
    for a, b in zip(loaded.discriminator.get_weights(), gan.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
    import pytest

    with pytest.raises(ValueError, match="path must end in .keras"):
        export_keras(gan, tmp_path / "x.h5")


def test_export_leaves_no_info_lines_and_the_tensorflow_logger_as_it_was(tmp_path, caplog):
    import logging

    import tensorflow as tf

    gan = GAN(build_generator(8, 1, 8, width=4), build_discriminator(8, 1, width=4))
    tf.get_logger().setLevel(logging.INFO)  # as in a notebook, where "Assets written to ..." showed
    try:
        with caplog.at_level(logging.INFO, logger="tensorflow"):
            export_generator(gan, tmp_path / "export")
        assert not [r for r in caplog.records if "Assets written" in r.getMessage()]
        assert tf.get_logger().level == logging.INFO
    finally:
        tf.get_logger().setLevel(logging.NOTSET)
