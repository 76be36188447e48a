import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kgantl.cli import main

TINY = ["--image-size", "16", "--width", "4", "--latent-dim", "8", "--batch-size", "8", "--steps-per-epoch", "2"]


@pytest.mark.parametrize("command", [[], ["train"], ["generate"], ["compare"], ["export"]])
def test_help_exits_zero(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command + ["--help"])
    assert exit_info.value.code == 0
    assert "usage: kgantl" in capsys.readouterr().out


def test_train_dry_run_prints_resolved_options(capsys, tiny_npz):
    assert main(["train", "--data", str(tiny_npz), "--shots", "5", "--dry-run", *TINY]) == 0
    options = json.loads(capsys.readouterr().out)
    assert options["shots"] == 5 and options["channels"] == 1 and options["image_size"] == 16


def test_preset_config_file_and_flags_layer_in_that_order(capsys, tmp_path, tiny_npz):
    (tmp_path / "o.json").write_text(json.dumps({"data": str(tiny_npz), "epochs": 7, "width": 4,
                                                 "batch_size": 8}))
    assert main(["train", "--preset", "few-shot", "--config", str(tmp_path / "o.json"), "--epochs", "3",
                 "--no-spectral-norm", "--dry-run"]) == 0
    options = json.loads(capsys.readouterr().out)
    assert options["epochs"] == 3 and options["width"] == 4 and options["batch_size"] == 8
    assert options["diffaugment"] == "color,translation,cutout"  # from the preset
    assert options["spectral_norm"] is False  # the preset says True; the typed flag wins


def test_abbreviated_flags_are_refused(capsys):
    assert main(["train", "--epoch", "3", "--dry-run"]) == 2
    assert "unrecognized arguments: --epoch" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["train", "--bogus"], "kgantl train: error: unrecognized arguments: --bogus"),
    (["train", "--epochs", "zero"], "kgantl train: error: argument --epochs: invalid int value: 'zero'"),
    (["train", "--epochs", "0", "--dry-run"], "kgantl train: error: epochs must be a positive integer. Received: epochs=0"),
    (["train", "--data", "fashion_mnist:11", "--dry-run"], "kgantl train: error: class index must be in 0-9"),
    (["train", "--data", "missing/dir/x.npz", "--dry-run"], "kgantl train: error: Data file does not exist"),
    (["train", "--loss", "lsgan"], "kgantl train: error: argument --loss: invalid choice: 'lsgan'"),
    (["generate", "m.keras", "--out", "x.gif"], "kgantl generate: error: --out must end in .png, .npy or .npz"),
    (["export", "nowhere"], "kgantl export: error: 'nowhere' is neither a file or folder here nor a shipped model"),
    (["export", "nowhere/x"], "kgantl export: error: A model must be a .keras file, a folder holding model.keras or a"),
    (["generate", "nowhere", "--out", "x.png", "--dry-run"], "kgantl generate: error: 'nowhere' is neither a file"),
    (["generate", "nowhere/x", "--out", "x.png", "--dry-run"], "kgantl generate: error: MODEL must be a .keras file"),
    (["compare", "nowhere.keras", "--out", "c.png"], "kgantl compare: error: MODEL must be a .keras file"),
    (["compare", ".", ".", "--names", "one", "--out", "c.png"],
     "kgantl compare: error: --names needs one title per MODEL: 2 models, 1 names"),
    (["compare", ".", "--out", "c.jpg"], "kgantl compare: error: --out must end in .png"),
    (["generate", "m.keras", "--out", "x.png", "--scale", "0"],
     "kgantl generate: error: --scale must be a positive integer (1: the images' own size). Received: --scale 0\n"),
    (["compare", ".", "--out", "c.png", "--scale", "-2"],
     "kgantl compare: error: --scale must be a positive integer (1: the images' own size). Received: --scale -2\n"),
    (["compare", ".", "--out", "c.png", "--scale", "2.5"],
     "kgantl compare: error: argument --scale: invalid int value: '2.5'\n"),
    (["generate", "m.keras", "--out", "x.npy", "--scale", "2"],
     "kgantl generate: error: --scale enlarges .png pictures; .npy and .npz keep the images as generated. "
     "Received: --scale 2 with --out x.npy\n"),
    (["fly"], "kgantl: error: argument COMMAND: invalid choice: 'fly'"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, fake_fmnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["fmnist"]  # nothing half-written beside the data


def test_train_generate_export_end_to_end(tmp_path, tiny_npz, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "--data", str(tiny_npz), "--epochs", "1", "--run-dir", str(run_dir), "--conditional",
                 *TINY]) == 0
    assert main(["generate", str(run_dir), "--n", "6", "--labels", "0-1", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as saved:
        assert saved["images"].shape == (6, 16, 16, 1) and list(saved["labels"]) == [0, 1, 0, 1, 0, 1]
    assert main(["export", str(run_dir), "--out", str(tmp_path / "exported")]) == 0
    assert main(["generate", str(tmp_path / "exported"), "--n", "4", "--labels", "1",
                 "--out", str(tmp_path / "grid.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "grid.png")).shape == (6 * 35, 6 * 35)  # 16-px images 6x: 96 px
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "exported"), "--ref", str(tiny_npz), "--split", "train", "--n", "20",
                 "--runs-root", str(tmp_path / "runs")]) == 0  # a SavedModel, conditioned on the reference labels
    report = json.loads(capsys.readouterr().out)
    # 40 reference and 20 generated images: too few for every distribution score, and the report says so.
    assert report["n_generated"] == 20 and report["fid"] is None and report["kid"] is None
    assert "KID needs at least 50 real and generated images; received 40 real, 20 generated" in \
        report["not_computed"]["kid"]
    assert main(["generate", str(tmp_path / "exported"), "--out", str(tmp_path / "g.png")]) == 2
    assert "labels are required for a conditional model (its classes: 0, 1)" in capsys.readouterr().err


def test_compare_draws_the_shots_then_each_model_on_the_same_noise(tmp_path, tiny_npz, capsys):
    from kgantl.data import load_arrays
    from kgantl.images import make_grid, upscale

    run_dir = tmp_path / "run"
    assert main(["train", "--data", str(tiny_npz), "--epochs", "1", "--run-dir", str(run_dir), *TINY]) == 0
    out = tmp_path / "cmp" / "comparison.png"
    assert main(["compare", str(run_dir), str(run_dir / "model.keras"), "--names", "run", "file",
                 "--shots-from", str(tiny_npz), "--shots", "2", "--n", "4", "--out", str(out)]) == 0
    assert capsys.readouterr().out.endswith(f"wrote {out}: 2 shots, run, file\n")
    picture = np.asarray(Image.open(out))
    # 4 images of 16 px in 2 columns, 6x (the smallest factor to 84 px); 2 shots of each of 2 classes: the same grid.
    grid = 6 * (2 * 17 + 1)
    top = picture.shape[0] - grid - 4  # below the title strip, whose height follows the font
    assert top >= 4 + 16 and picture.shape == (top + grid + 4, 4 + 3 * (grid + 4), 3)
    shots = upscale(make_grid(load_arrays(str(tiny_npz), shots=2, seed=0).images[:4] / 127.5 - 1.0), 6)
    np.testing.assert_array_equal(picture[top:top + shots.shape[0], 4:4 + shots.shape[1], 0], shots[..., 0])
    run_panel = picture[top:top + grid, 8 + grid:8 + 2 * grid]
    file_panel = picture[top:top + grid, 12 + 2 * grid:12 + 3 * grid]
    np.testing.assert_array_equal(run_panel, file_panel)  # one model two ways, the same noise: the same images


@pytest.mark.parametrize("exported", [False, True])
def test_generate_checks_labels_against_the_classes_the_model_was_trained_on(tmp_path, capsys, exported):
    """Class 7 of a model trained on classes 0-1 (of a 3-id embedding), and any label for an unconditional one."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", images=rng.integers(0, 256, (16, 16, 16, 1)).astype(np.uint8),
             labels=np.array([0, 1] * 8))
    runs = {}
    for name, flags in (("cond", ["--conditional"]), ("plain", [])):
        runs[name] = tmp_path / name
        assert main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "1", "--run-dir", str(runs[name]),
                     *flags, *TINY]) == 0
        if exported:
            assert main(["export", str(runs[name]), "--out", str(tmp_path / f"{name}-saved")]) == 0
            runs[name] = tmp_path / f"{name}-saved"
    out = tmp_path / "g.png"
    capsys.readouterr()
    assert main(["generate", str(runs["cond"]), "--labels", "2", "--out", str(out)]) == 2
    assert capsys.readouterr().err == ("kgantl generate: error: labels must be classes the model was trained on "
                                       "(0, 1). Received: labels 2\n")
    assert main(["generate", str(runs["plain"]), "--labels", "3", "--out", str(out)]) == 2
    assert "labels are for class-conditional models; this model is unconditional" in capsys.readouterr().err
    assert not out.exists()
    assert main(["generate", str(runs["cond"]), "--labels", "1", "--n", "2", "--out", str(out)]) == 0


def test_help_shows_what_each_command_takes_and_loads_no_tensorflow(capsys):
    with pytest.raises(SystemExit):
        main(["transfer", "--help"])
    transfer = " ".join(capsys.readouterr().out.split())
    assert "--eval-every EVAL_EVERY compute val_kid every N epochs on held-out shots and keep best.keras by it (0: " \
           "off) (default: 1 in a transfer run, or 0 where the copy check chooses best.keras; 0 for a new GAN)" \
           in transfer
    assert "--copy-check {auto,on,off}" in transfer and "--copy-patience COPY_PATIENCE" in transfer
    assert "freeze_d:K (K lowest D blocks frozen), alternate, feature_d or reptile, optionally +cdc[:W]" in transfer
    assert "(default: finetune)" in transfer
    assert "--loss {nonsaturating,minimax,hinge,wgan-gp}" in transfer and "--target SPEC" in transfer
    for flag in ("--width", "--latent-dim", "--norm", "--data "):
        assert flag not in transfer  # the source decides these
    for flag in ("--image-size", "--channels"):  # checked against the source: a large shrink, grey or colour
        assert flag in transfer
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    train = capsys.readouterr().out
    assert "--image-size IMAGE_SIZE" in train and "(default: the size nearest the data's, at most 128" in " ".join(train.split())
    for flag in ("--source", "--strategy", "--reptile-data", "--phase-epochs"):
        assert flag not in train
    # --help in a fresh process, started as the console script is (argv[0] ending in `kgantl`).
    code = ("import sys; sys.argv = ['/usr/bin/kgantl', '--help']\n"
            "from kgantl.cli import main\n"
            "try:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('tensorflow loaded:', 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("tensorflow loaded: False"), result.stderr


@pytest.mark.slow
def test_commands_are_quiet_by_default_and_verbose_on_request(tmp_path, tiny_npz):
    """TensorFlow's C++ start-up lines (oneDNN, CUDA, CPU features) appear only with --verbose."""
    script = Path(sys.executable).parent / "kgantl"
    argv = [str(script), "train", "--data", str(tiny_npz), "--dry-run", *TINY]
    quiet = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    # Only kgantl's own lines (the dry run's plan), none of TensorFlow's.
    assert quiet.returncode == 0 and quiet.stderr.startswith("kgantl train: trains a new GAN"), quiet.stderr
    assert all(line.startswith("kgantl") for line in quiet.stderr.splitlines()), quiet.stderr
    assert json.loads(quiet.stdout)["image_size"] == 16
    loud = subprocess.run(argv + ["--verbose"], capture_output=True, text=True, timeout=120)
    # Which start-up lines TensorFlow prints depends on the CPU (oneDNN's note is absent on some AMD machines).
    assert loud.returncode == 0 and loud.stderr.strip(), "--verbose showed none of TensorFlow's start-up lines"
    bad = subprocess.run([str(script), "train", "--epochs", "0", "--dry-run"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2
    assert bad.stderr == "kgantl train: error: epochs must be a positive integer. Received: epochs=0\n"


def test_quiet_mode_gives_python_its_stderr_back(tmp_path, tiny_npz):
    """After a command, log lines and native writes to fd 2 reach stderr again (no 'Logging error')."""
    code = ("import logging, os, sys\n"
            "sys.argv = ['kgantl']\n"
            "from kgantl.cli import main\n"
            f"status = main(['train', '--data', {str(tiny_npz)!r}, '--dry-run', *{TINY!r}])\n"
            "logging.getLogger('kgantl').warning('after the command')\n"
            "logging.getLogger('tensorflow').warning('tensorflow after')\n"
            "os.write(2, b'native after\\n')\n"
            "print('status', status)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("status 0"), result.stderr
    # main puts kgantl's logging back as it found it: the warning after it comes through Python's last resort.
    assert "\nafter the command\n" in result.stderr and "kgantl: after the command" not in result.stderr
    assert "native after" in result.stderr
    assert "tensorflow after" in result.stderr and "Logging error" not in result.stderr


def test_the_command_prints_progress_and_warnings_as_kgantl_lines(tiny_npz, tmp_path):
    """Progress is logged at INFO and warnings at WARNING; the command line prints both as `kgantl: ...`."""
    argv = ["train", "--data", str(tiny_npz), "--dry-run", *TINY, "--batch-size", "400", "--precision", "auto",
            "--runs-root", str(tmp_path / "runs")]
    code = f"import sys\nsys.argv = ['kgantl']\nfrom kgantl.cli import main\nsys.exit(main({argv!r}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len([line for line in lines if line.startswith("kgantl: precision auto: ")]) == 1, result.stderr
    assert len([line for line in lines if line.startswith("kgantl: batch_size 400 is larger than the 40 training "
                                                          "images")]) == 1, result.stderr
    assert not [line for line in lines if "WARNING" in line or "INFO" in line], result.stderr


def test_dry_run_makes_every_check_of_a_real_run(tmp_path, tiny_npz, capsys):
    from kgantl.export import export_keras
    from kgantl.models import GAN, build_discriminator, build_generator

    source = export_keras(GAN(build_generator(16, 1, 8, width=4, seed=0), build_discriminator(16, 1, width=4)),
                          tmp_path / "source" / "model.keras")
    base = ["transfer", "--source", str(source), "--target", str(tiny_npz), "--runs-root", str(tmp_path / "runs")]
    assert main(base + ["--strategy", "freeze_d:99", "--dry-run"]) == 2
    assert "freeze_d needs K between 0 and the discriminator's 2 blocks" in capsys.readouterr().err
    assert main(base + ["--strategy", "freeze_d:99"]) == 2
    assert main(base + ["--dry-run"]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["strategy"] == "finetune" and resolved["image_size"] == 16 and resolved["latent_dim"] == 8
    assert main(["train", "--data", str(tiny_npz), "--config", str(tmp_path / "c.json"), "--dry-run"]) == 2
    capsys.readouterr()
    (tmp_path / "c.json").write_text(json.dumps({"strategy": "alternate"}))
    assert main(["train", "--data", str(tiny_npz), "--config", str(tmp_path / "c.json"), "--dry-run"]) == 2
    assert "strategy adapt a source GAN: use kgantl transfer" in capsys.readouterr().err
    assert main(["transfer", "--source", str(source), "--dry-run"]) == 2  # --target is required
    assert "the following arguments are required: --target" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_generate_npz_from_an_unconditional_run_loads_without_pickle(tmp_path, tiny_npz):
    run_dir = tmp_path / "run"
    assert main(["train", "--data", str(tiny_npz), "--epochs", "1", "--run-dir", str(run_dir), *TINY]) == 0
    assert main(["generate", str(run_dir), "--n", "3", "--out", str(tmp_path / "s.npz")]) == 0
    with np.load(tmp_path / "s.npz") as saved:
        assert saved.files == ["images"] and saved["images"].shape == (3, 16, 16, 1)


def test_evaluate_prints_and_stores_a_report(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    images = np.random.default_rng(0).integers(0, 256, (80, 28, 28, 1)).astype(np.uint8)
    np.savez(tmp_path / "ref.npz", images=images, labels=np.zeros(80, int))
    np.save(tmp_path / "fake.npy", images[::-1])
    argv = ["evaluate", str(tmp_path / "fake.npy"), "--ref", str(tmp_path / "ref.npz"), "--split", "train",
            "--n", "80", "--runs-root", str(tmp_path / "runs")]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    # A file holds one set: no split in the label. 80 images: computed, with a warning.
    assert report["protocol"] == "fmnist_80_file" and report["split"] is None and report["precision"] == 1.0
    assert "KID on 80 real, 80 generated images is unreliable (recommended: at least 1000)" in report["warnings"]
    stored = tmp_path / "runs" / "00000-evaluate" / "evaluation_ref_npz_fmnist_80_file_seed0.json"
    assert json.loads(stored.read_text())["kid"] == report["kid"]
    assert main(argv[:2] + ["--ref", "x", "--dry-run", "--runs-root", str(tmp_path / "runs")]) == 0
    capsys.readouterr()
    assert main(argv + ["--train-data", str(tmp_path / "ref.npz"), "--shots", "10"]) == 0
    memorisation = json.loads(capsys.readouterr().out)["memorisation"]
    assert memorisation["n_train"] == 10 and memorisation["n_generated"] == 80
    assert main(argv + ["--shots", "10"]) == 2
    assert "--shots selects the n-shot subset of --train-data" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "none.npy"), "--ref", "x"]) == 2
    assert "GENERATOR must be" in capsys.readouterr().err


def test_train_classifier_command(tmp_path, capsys, fake_fmnist):
    assert main(["train-classifier", "--data", "fashion_mnist:0-4", "--epochs", "1", "--out",
                 str(tmp_path / "clf")]) == 0
    output = capsys.readouterr().out
    printed = json.loads(output[output.rindex("\n{") + 1:])  # after the progress bars
    assert printed == json.loads((tmp_path / "clf" / "metrics.json").read_text())
    assert (tmp_path / "clf" / "model.keras").is_file()
    assert main(["train-classifier", "--epochs", "0"]) == 2


def test_transfer_command_writes_kid_best_model_and_saved_model(tmp_path, tiny_npz, capsys):
    from kgantl.export import export_keras
    from kgantl.models import GAN, build_discriminator, build_generator

    source = export_keras(GAN(build_generator(28, 1, 8, width=4, seed=0), build_discriminator(28, 1, width=4)),
                          tmp_path / "source" / "model.keras")
    run_dir = tmp_path / "t"
    assert main(["transfer", "--source", str(source.parent), "--target", str(tiny_npz), "--shots", "10",
                 "--strategy", "freeze_d:1", "--diffaugment", "translation,cutout", "--epochs", "2",
                 "--steps-per-epoch", "2", "--batch-size", "8", "--run-dir", str(run_dir), "--copy-check", "off"]) == 0
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert all("val_kid" in r for r in records)  # KID every epoch by default for transfer
    assert (run_dir / "best.keras").is_file() and (run_dir / "saved_model" / "saved_model.pb").is_file()
    # With the copy check (on by default at 10 shots) the last epoch is always scored, so best.keras exists.
    assert main(["transfer", "--source", str(source.parent), "--target", str(tiny_npz), "--shots", "10",
                 "--epochs", "2", "--steps-per-epoch", "2", "--batch-size", "8", "--run-dir", str(tmp_path / "c")]) == 0
    records = [json.loads(line) for line in (tmp_path / "c" / "metrics.jsonl").read_text().splitlines()]
    assert ["copy_z" in r for r in records] == [False, True] and not any("val_kid" in r for r in records)
    assert json.loads((tmp_path / "c" / "selection.json").read_text())["chosen_epoch"] == 2
    assert json.loads((tmp_path / "c" / "options.json").read_text())["diffaugment"] == "color,translation,cutout"
    assert main(["transfer", "--target", str(tiny_npz), "--dry-run"]) == 2
    assert "the following arguments are required: --source" in capsys.readouterr().err


def test_finetune_classifier_command(tmp_path, capsys, fake_fmnist):
    backbone = str(Path(__file__).resolve().parents[1] / "saved_models" / "fmnist-0-4-backbone" / "model.keras")
    assert main(["finetune-classifier", "--data", "fashion_mnist:5-9", "--shots", "4", "--backbone", backbone,
                 "--stages", "1:0:1e-3,1:2:1e-4", "--unit", "layers", "--runs-root", str(tmp_path / "runs")]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.rindex("\n{") + 1:])
    assert [s["trainable"] for s in report["stages"]] == [0, 2]
    assert report["stages"][0]["trainable_backbone_params"] == 0 < report["stages"][1]["trainable_backbone_params"]
    assert 0.0 <= report["test_accuracy"] <= 1.0
    assert (tmp_path / "runs" / "00000-classifier" / "model.keras").is_file()
    assert main(["finetune-classifier", "--data", "x", "--backbone", "vgg16", "--stages", "5:top:1e-3"]) == 2
    assert "Bad stage '5:top:1e-3'" in capsys.readouterr().err


def test_training_output_into_a_file_or_pipe_is_one_line_per_epoch(tmp_path, tiny_npz, capsys):
    argv = ["train", "--data", str(tiny_npz), "--image-size", "16", "--width", "4", "--latent-dim", "8",
            "--batch-size", "8", "--epochs", "2", "--steps-per-epoch", "5", "--runs-root", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "\r" not in out and "\x08" not in out  # no progress bar redrawn per step
    assert len([line for line in out.splitlines() if "d_loss" in line]) == 2  # one summary line per epoch


def test_compare_dry_run_opens_every_model_and_draws_nothing(tmp_path, capsys):
    source = "saved_models/source-fmnist-0-4"
    assert main(["compare", source, source, "--names", "a", "b", "--out", str(tmp_path / "c.png"), "--dry-run"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["names"] == ["a", "b"] and len(printed["models"]) == 2 and not (tmp_path / "c.png").exists()
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    assert main(["compare", source, str(tmp_path / "broken.keras"), "--out", str(tmp_path / "c.png"),
                 "--dry-run"]) == 2
    assert "broken.keras" in capsys.readouterr().err and not (tmp_path / "c.png").exists()


def test_models_list_names_every_shipped_model_and_where_it_is(capsys, monkeypatch, tmp_path):
    from kgantl.shipped import SHIPPED

    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("searched, in order: ")
    assert [line.split()[0] for line in lines[1:]] == list(SHIPPED) and "not found" not in "".join(lines)
    monkeypatch.chdir(tmp_path)  # nothing here and an empty models folder first: still found in the checkout
    monkeypatch.setenv("KGANTL_MODELS_DIR", str(tmp_path))
    assert main(["models", "list"]) == 0 and "saved_models" in capsys.readouterr().out


def test_finetune_classifier_dry_run_checks_data_backbone_and_test_set(tmp_path, capsys, fake_fmnist):
    backbone = str(Path(__file__).resolve().parents[1] / "saved_models" / "fmnist-0-4-backbone" / "model.keras")
    argv = ["finetune-classifier", "--data", "fashion_mnist:5-9", "--shots", "4", "--backbone", backbone,
            "--runs-root", str(tmp_path / "runs"), "--dry-run"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["test_set"]["rule"] == "the test split of fashion_mnist:5-9" and printed["input_shape"] == [28, 28, 1]
    assert not (tmp_path / "runs").exists()
    assert main([*argv[:6], "--backbone", str(tmp_path / "missing.keras"), "--dry-run"]) == 2  # checked, not printed
