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


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":  # EOFError
        path.write_bytes(data[: len(data) // 2])
    elif how == "not gzip":  # gzip.BadGzipFile
        path.write_bytes(b"plain bytes, no gzip header")
    elif how == "corrupt stream":  # zlib.error
        path.write_bytes(data[:10] + bytes(b ^ 0xFF for b in data[10:40]) + data[40:])
    else:  # bad CRC: gzip.BadGzipFile raised at the end of the stream
        path.write_bytes(data[:-8] + bytes(8))


@pytest.mark.parametrize("how", ["truncated", "not gzip", "corrupt stream", "bad checksum"])
def test_damaged_gzip_is_one_value_error_naming_the_file(fake_fmnist, how):
    path = fake_fmnist / "train-images-idx3-ubyte.gz"
    _damage(path, how)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz is a damaged or truncated gzip file.*"
                                         r"Received: \d+ bytes"):
        fashion_mnist.read_idx(path)
    with pytest.raises(ValueError, match="damaged or truncated gzip file"):
        fashion_mnist.load_fashion_mnist("train")


def test_missing_gz_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fashion_mnist.read_idx(tmp_path / "absent-idx1-ubyte.gz")


@pytest.mark.parametrize("argv", [
    ["train", "--data", "fashion_mnist:7", "--dry-run"],
    ["evaluate", "GENERATOR", "--ref", "fashion_mnist:7", "--n", "10"],
])
def test_cli_reports_a_truncated_gz_in_one_line_and_exits_2(fake_fmnist, tmp_path, monkeypatch, capsys, argv):
    from kgantl.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    np.save(tmp_path / "fake.npy", np.zeros((10, 28, 28, 1), np.uint8))
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        _damage(fake_fmnist / name, "truncated")
    argv = [str(tmp_path / "fake.npy") if arg == "GENERATOR" else arg for arg in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a damaged or truncated gzip file" in err, err
    assert "idx3-ubyte.gz" in err
