import json
import subprocess
import sys

import numpy as np
import pytest

from kgantl.export import EXPORT_INFO_FILE, export_generator
from kgantl.models import GAN, ConditionalGAN, build_discriminator, build_generator
from kgantl.runs.artifacts import KerasGenerator, SavedModelGenerator, load_gan, model_file, open_generator


def _conditional(class_ids=(1, 2)):
    gan = ConditionalGAN(build_generator(8, 1, 8, width=4, num_classes=3, seed=0),
                         build_discriminator(8, 1, width=4, num_classes=3, seed=1), class_ids=class_ids, seed=0)
    gan.compile()
    return gan


def test_import_kgantl_is_enough_for_keras_load_model(tmp_path):
    """A fresh process that imports only kgantl and keras loads a saved kgantl GAN with Keras' own loader."""
    _conditional().save(tmp_path / "model.keras")
    code = ("import kgantl, keras\n"
            f"gan = keras.saving.load_model({str(tmp_path / 'model.keras')!r})\n"
            "print(type(gan).__name__, gan.trained_class_ids())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ConditionalGAN [1, 2]"


def test_one_opener_for_a_gan_a_file_a_folder_and_a_saved_model(tmp_path):
    gan = _conditional()
    (tmp_path / "source").mkdir()
    gan.save(tmp_path / "source" / "model.keras")
    export_generator(gan, tmp_path / "exported")
    noise = np.random.default_rng(0).standard_normal((3, 8)).astype("float32")
    expected = gan.generate(noise=noise, labels=[1, 2, 1])
    for source in (gan, tmp_path / "source" / "model.keras", tmp_path / "source", tmp_path / "exported"):
        sampler = open_generator(source)
        assert (sampler.latent_dim, sampler.image_shape, sampler.class_ids) == (8, (8, 8, 1), [1, 2])
        np.testing.assert_allclose(sampler.generate(noise, labels=[1, 2, 1]), expected, atol=1e-5)
        with pytest.raises(ValueError, match=r"labels must be classes the model was trained on \(1, 2\)\. "
                                             r"Received: labels 0"):
            sampler.generate(noise, labels=0)
    assert isinstance(open_generator(tmp_path / "exported"), SavedModelGenerator)
    assert isinstance(open_generator(gan), KerasGenerator)
    assert model_file(tmp_path / "source") == tmp_path / "source" / "model.keras"
    assert model_file(tmp_path / "exported") == tmp_path / "exported"


def test_saved_model_records_its_classes_and_an_unconditional_one_refuses_labels(tmp_path):
    export_generator(_conditional(), tmp_path / "c")
    assert json.loads((tmp_path / "c" / EXPORT_INFO_FILE).read_text())["class_ids"] == [1, 2]
    plain = GAN(build_generator(8, 1, 8, width=4, seed=0), build_discriminator(8, 1, width=4, seed=1))
    export_generator(plain, tmp_path / "u")
    sampler = open_generator(tmp_path / "u")
    assert sampler.class_ids is None and sampler.generate(np.zeros((2, 8), "float32")).shape == (2, 8, 8, 1)
    with pytest.raises(ValueError, match="labels are for class-conditional models; this model is unconditional"):
        sampler.generate(np.zeros((2, 8), "float32"), labels=3)
    with pytest.raises(ValueError, match="labels are for class-conditional models; this GAN is unconditional"):
        plain.generate(2, labels=3)


def test_a_users_conditional_generator_takes_any_label():
    """A generator without kgantl's label embedding cannot say its classes: labels are passed on, and required."""
    import keras

    noise, labels = keras.Input((4,)), keras.Input((), dtype="int32")
    shift = keras.layers.Embedding(10, 64)(labels)
    images = keras.layers.Reshape((8, 8, 1))(keras.layers.Dense(64, activation="tanh")(noise) + shift)
    generator = keras.Model([noise, labels], images)
    gan = ConditionalGAN(generator, build_discriminator(8, 1, width=4, num_classes=10, seed=1), ema_decay=0.0)
    sampler = open_generator(gan)
    assert sampler.conditional and sampler.class_ids is None
    assert sampler.generate(np.zeros((2, 4), "float32"), labels=[3, 9]).shape == (2, 8, 8, 1)
    with pytest.raises(ValueError, match="labels are required for a conditional model"):
        sampler.generate(np.zeros((2, 4), "float32"))


def test_opening_a_run_leaves_its_half_written_checkpoint_alone(tmp_path, tiny_npz):
    from kgantl.config import TrainOptions
    from kgantl.training import train

    _, run_dir = train(TrainOptions(data=str(tiny_npz), image_size=16, width=4, latent_dim=8, batch_size=8,
                                    epochs=1, steps_per_epoch=1, run_dir=str(tmp_path / "r")), verbose=0)
    (run_dir / "model.keras").unlink()  # still training, as far as a reader can tell
    partial = run_dir / "checkpoints" / "epoch-0002.partial.weights.h5"
    partial.write_bytes(b"being written")
    assert load_gan(run_dir).g_optimizer.iterations.numpy() == 1
    assert partial.read_bytes() == b"being written"


def test_a_run_with_checkpoints_but_no_architecture_file_says_how_to_finish_it(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "latest.json").write_text('{"epoch": 1, "weights": "epoch-0001.weights.h5"}')
    with pytest.raises(FileNotFoundError, match="run its training command again to finish it"):
        load_gan(tmp_path)
    with pytest.raises(ValueError, match="A generator must be a kgantl GAN"):
        open_generator(42)


def test_a_truncated_keras_file_and_a_saved_model_without_variables_are_named_as_such(tmp_path):
    import shutil

    gan = _conditional()
    gan.save(tmp_path / "whole.keras")
    data = (tmp_path / "whole.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"{tmp_path / 'cut.keras'} is not a whole \.keras file \(a zip archive\): "
                                         r"it is truncated or corrupt"):
        load_gan(tmp_path / "cut.keras")
    export_generator(gan, tmp_path / "exported")
    shutil.rmtree(tmp_path / "exported" / "variables")
    with pytest.raises(ValueError, match=rf"SavedModel {tmp_path / 'exported'} has no variables/variables\.index: it "
                                         r"was copied without its variables/ folder"):
        open_generator(tmp_path / "exported")
