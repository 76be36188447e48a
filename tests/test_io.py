import json

import pytest

from kgantl.io import atomic_path, write_json


def test_atomic_path_keeps_suffixes_and_replaces_on_success(tmp_path):
    target = tmp_path / "model.weights.h5"
    with atomic_path(target) as tmp:
        assert tmp.name == "model.partial.weights.h5"
        tmp.write_text("new")
    assert target.read_text() == "new" and not tmp.exists()


def test_atomic_path_leaves_the_old_file_on_failure(tmp_path):
    target = tmp_path / "a.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("{half")
            raise RuntimeError("crash")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
