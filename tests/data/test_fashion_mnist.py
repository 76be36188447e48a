import numpy as np
import pytest

from kgantl.data import fashion_mnist
from tests.conftest import write_idx


def test_reads_idx_from_kgantl_data_dir_first(fake_fmnist):
    images, labels = fashion_mnist.load_fashion_mnist("train")
    assert images.shape == (200, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (200,) and set(labels) == set(range(10))
    assert images[7, 0, 0, 0] == 7  # file order preserved
    test_images, _ = fashion_mnist.load_fashion_mnist("test")
    assert len(test_images) == 100


def test_search_order_env_then_debian_then_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KGANTL_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    dirs = fashion_mnist.search_dirs()
    assert dirs[0] == tmp_path / "env"
    assert str(dirs[1]) == fashion_mnist.DEBIAN_DIR
    assert dirs[2] == tmp_path / "keras" / "datasets" / "fashion-mnist"


def test_plain_uncompressed_idx_files_are_read(tmp_path, monkeypatch):
    array = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    write_idx(tmp_path / "x.gz", array)
    import gzip

    (tmp_path / "x").write_bytes(gzip.decompress((tmp_path / "x.gz").read_bytes()))
    np.testing.assert_array_equal(fashion_mnist.read_idx(tmp_path / "x"), array)


def test_truncated_idx_names_the_file(tmp_path):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="bad-idx3-ubyte is truncated"):
        fashion_mnist.read_idx(path)


def test_missing_files_and_failed_download_give_one_clear_error(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("KGANTL_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", str(tmp_path / "no-debian"))

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        fashion_mnist.load_fashion_mnist("train")


def test_bad_split():
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        fashion_mnist.load_fashion_mnist("validation")
