"""`kgantl evaluate RUN` checks near-copies against the run's own training shots (its options.json); --train-data
overrides them, --train-data none skips the check, and a model outside a run folder is checked only when asked."""
import json
import shutil

import pytest

from kgantl.cli import main
from kgantl.data import load_arrays
from tests.runs.test_old_runs import _copied
from tests.test_cli import TINY


def _evaluate(capsys, generator, reference, *flags):
    """The report of `kgantl evaluate` on the tiny reference, and what it wrote on stderr."""
    capsys.readouterr()
    assert main(["evaluate", str(generator), "--ref", str(reference), "--split", "train", "--n", "20",
                 *flags]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.fixture
def tiny_run(tmp_path, tiny_npz, monkeypatch):
    """A run folder trained for one tiny epoch on 3 shots per class (of 2) of tiny.npz, with seed 1."""
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    assert main(["train", "--data", str(tiny_npz), "--shots", "3", "--seed", "1", "--epochs", "1",
                 "--run-dir", str(run_dir), *TINY]) == 0
    return run_dir


def test_a_run_folder_is_checked_against_exactly_its_own_shots(tiny_run, tiny_npz, capsys):
    own, err = _evaluate(capsys, tiny_run, tiny_npz)
    assert own["memorisation"]["n_train"] == len(load_arrays(str(tiny_npz), shots=3, seed=1).images) == 6
    assert (f"kgantl evaluate: near-copy check against the run's own 3 shots of {tiny_npz}, seed 1 (6 images, "
            f"from {tiny_run / 'options.json'})") in err
    assert own["train_shots"] == {"data": str(tiny_npz), "shots": 3, "seed": 1, "image_size": 16, "channels": 1,
                                  "options_file": str(tiny_run / "options.json")}
    # The same images as naming them by hand (the seed included), and other ones than seed 0's.
    by_hand, err = _evaluate(capsys, tiny_run, tiny_npz, "--train-data", str(tiny_npz), "--shots", "3",
                             "--shots-seed", "1")
    assert by_hand["memorisation"] == own["memorisation"] and "near-copy check" not in err
    seed_0, _ = _evaluate(capsys, tiny_run, tiny_npz, "--train-data", str(tiny_npz), "--shots", "3")
    assert seed_0["memorisation"]["to_train"] != own["memorisation"]["to_train"]
    in_the_folder, _ = _evaluate(capsys, tiny_run / "model.keras", tiny_npz)  # a model file of the run: its shots
    assert in_the_folder["memorisation"] == own["memorisation"]


def test_train_data_overrides_the_runs_shots_and_none_skips_the_check(tiny_run, tiny_npz, capsys):
    other, err = _evaluate(capsys, tiny_run, tiny_npz, "--train-data", str(tiny_npz), "--shots", "5")
    assert other["memorisation"]["n_train"] == 10 and other["train_shots"]["options_file"] is None
    assert "near-copy check" not in err
    skipped, err = _evaluate(capsys, tiny_run, tiny_npz, "--train-data", "none")
    assert skipped["memorisation"] is None and skipped["train_shots"] is None and "near-copy check" not in err


def test_a_model_outside_a_run_folder_is_checked_only_when_asked(tiny_run, tiny_npz, tmp_path, capsys):
    bare = tmp_path / "elsewhere" / "bare.keras"
    bare.parent.mkdir()
    shutil.copy(tiny_run / "model.keras", bare)
    report, err = _evaluate(capsys, bare, tiny_npz, "--runs-root", str(tmp_path / "runs"))
    assert report["memorisation"] is None and report["train_shots"] is None and "near-copy check" not in err


def test_a_transfer_run_is_checked_against_its_target(tmp_path, capsys, monkeypatch):
    """A transfer run's options.json holds its target as `data` (--target), beside its source."""
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    folder, options = _copied(tmp_path)  # a finished tiny transfer run, all 40 images of its target
    report, err = _evaluate(capsys, folder / "run", folder / "tiny.npz")
    assert options["source"] and report["memorisation"]["n_train"] == 40
    assert f"near-copy check against the run's own images of {folder / 'tiny.npz'} (all of them) (40 images" in err


@pytest.mark.parametrize("flags, flag", [(["--shots", "3"], "--shots"), (["--shots-seed", "1"], "--shots-seed"),
                                         (["--train-data", "none", "--shots", "3"], "--shots")])
def test_a_subset_of_no_train_data_is_refused(tiny_npz, tmp_path, capsys, flags, flag):
    assert main(["evaluate", str(tiny_npz), "--ref", str(tiny_npz), "--dry-run", *flags]) == 2
    assert capsys.readouterr().err == (f"kgantl evaluate: error: {flag} selects the n-shot subset of --train-data: "
                                       f"give --train-data too (a run folder is checked against its own shots "
                                       f"without them). Received: {flag} {flags[-1]}\n")


def test_data_the_run_names_that_is_gone_says_how_to_go_on(tiny_run, tiny_npz, capsys):
    options = json.loads((tiny_run / "options.json").read_text())
    (tiny_run / "options.json").write_text(json.dumps({**options, "data": str(tiny_run / "moved.npz")}))
    assert main(["evaluate", str(tiny_run), "--ref", str(tiny_npz), "--split", "train", "--n", "20"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kgantl evaluate: error: the run's training data cannot be loaded here "
                          f"({tiny_run / 'options.json'} says data='{tiny_run / 'moved.npz'}'): Data file does not "
                          f"exist") and err.endswith("; give --train-data SPEC, or --train-data none to skip the "
                                                     "near-copy check\n")
