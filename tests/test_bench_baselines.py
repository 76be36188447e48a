"""bench/baselines/ holds verbatim copies of the shared benchmark folder's hand-written baselines."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "bench"
COPIES = sorted((ROOT / "bench" / "baselines").glob("*.py"))


def test_both_baselines_are_in_the_repository():
    assert [path.name for path in COPIES] == ["plain_keras_dcgan.py", "torch_dcgan.py"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared benchmark folder is not beside this checkout")
@pytest.mark.parametrize("copy", COPIES, ids=lambda path: path.name)
def test_a_copy_matches_the_shared_baseline(copy):
    assert copy.read_bytes() == (SHARED / copy.name).read_bytes()
