"""Shared fixtures: tiny data sets written to temporary folders, never to the working directory."""
import gzip
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def write_idx(path, array):
    """Write a uint8 array as a gzipped IDX file (the Fashion-MNIST format)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_fmnist(tmp_path, monkeypatch):
    """A tiny Fashion-MNIST (20 train / 10 test images per class) in $KGANTL_DATA_DIR.

    Image i of the train split is filled with the value (i % 250), so tests can tell which ones they got.
    """
    folder = tmp_path / "fmnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, per_class in (("train", 20), ("t10k", 10)):
        labels = np.repeat(np.arange(10), per_class)
        rng.shuffle(labels)
        images = np.broadcast_to((np.arange(len(labels)) % 250)[:, None, None], (len(labels), 28, 28))
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    monkeypatch.setenv("KGANTL_DATA_DIR", str(folder))
    return folder


def write_tiny_npz(path, count=40, channels=1):
    """`count` random 16x16 images of `channels` with labels 0/1 alternating, as an .npz file at `path`."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 16, 16, channels)).astype(np.uint8)
    np.savez(path, images=images, labels=np.arange(count) % 2)
    return path


def save_tiny_source(folder, channels=1):
    """A tiny untrained 16x16 source GAN of `channels` (latent size 8, width 4) saved as `folder/model.keras`."""
    from kgantl.export import export_keras
    from kgantl.models import GAN, build_discriminator, build_generator

    gan = GAN(build_generator(16, channels, 8, width=4, seed=0), build_discriminator(16, channels, width=4, seed=1))
    return export_keras(gan, folder / "model.keras")


@pytest.fixture
def tiny_npz(tmp_path):
    """40 random 16x16 grayscale images with labels 0/1, as an .npz file."""
    return write_tiny_npz(tmp_path / "tiny.npz")


@pytest.fixture
def tiny_source(tmp_path):
    """A tiny untrained 16x16 source GAN saved as .keras (latent size 8, width 4)."""
    return save_tiny_source(tmp_path / "source")


@pytest.fixture
def offline_vgg16(monkeypatch, tmp_path):
    """`vgg16` whose ImageNet weights fail to download as they do offline, with the Keras cache in `tmp_path`."""
    from kgantl.classifier.backbones import BACKBONES, BackboneSpec

    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/keras-applications/"
                        "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5: None -- Name or service not known")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setitem(BACKBONES, "vgg16", BackboneSpec(offline, "vgg16", r"^(block\d+)_"))
    return tmp_path
