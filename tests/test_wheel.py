"""The built wheel works outside the checkout: shipped models by name, the command line, notebook 01's imports.

The wheel is built from a copy of the packaging files (the checkout is not written to) and installed without
dependencies into a fresh virtual environment whose only other path is this environment's site-packages (for
TensorFlow and friends: what is tested is the wheel's contents, not dependency resolution). The processes run in
an empty folder with no KGANTL_MODELS_DIR and an empty cache, so nothing can come from the checkout.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

# One worker builds the wheel once for all three tests (make test runs pytest-xdist with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("wheel")
ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "NOTICE", "kgantl", "saved_models")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, kgantl script, environment) of a fresh virtual environment holding the built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in PACKAGING:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__", "demo-generator")}
                                           if (ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(source)], check=True, timeout=600)
    wheel = next((tmp / "dist").glob("kgantl-*.whl"))
    env_dir = tmp / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(wheel)], check=True, timeout=600)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(subprocess.run([str(python), "-c", where], capture_output=True, text=True,
                                        check=True).stdout.strip())
    # Dependencies from this environment, behind the wheel's own site-packages (its kgantl comes first).
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp / "elsewhere"
    work.mkdir()
    environment = {**{k: v for k, v in os.environ.items() if k not in ("KGANTL_MODELS_DIR", "PYTHONPATH")},
                   "XDG_CACHE_HOME": str(tmp / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return python, env_dir / "bin" / "kgantl", environment, work


def _run(command, installed, **kwargs):
    _, _, environment, work = installed
    return subprocess.run([str(part) for part in command], cwd=work, env=environment, capture_output=True,
                          text=True, timeout=600, **kwargs)


@pytest.mark.slow
def test_the_wheel_carries_the_shipped_models_its_licence_and_notice(installed):
    python = installed[0]
    # The licence files are read back through the installed metadata, as a user's tools would find them.
    done = _run([python, "-c", "import json, kgantl; from importlib import metadata; "
                 "from kgantl.runs.artifacts import open_generator; "
                 "g = open_generator('source-fmnist-0-4'); colour = open_generator('source-emoji-noto-64'); "
                 "legal = {f.name: f.locate().read_text() for f in metadata.files('kgantl') "
                 "         if '.dist-info' in str(f) and f.name in ('LICENSE', 'NOTICE')}; "
                 "print(json.dumps({'package': kgantl.__file__, 'latent': g.latent_dim, 'legal': legal, "
                 "                  'colour': list(colour.image_shape), "
                 "                  'license': metadata.metadata('kgantl')['License']}))"], installed)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(ROOT) not in printed["package"] and printed["latent"] == 128
    assert printed["colour"] == [64, 64, 3]  # the colour source opens after pip install too
    assert printed["license"] == "Apache-2.0"
    assert printed["legal"] == {name: (ROOT / name).read_text() for name in ("LICENSE", "NOTICE")}


@pytest.mark.slow
def test_kgantl_models_list_and_a_transfer_dry_run_from_outside_the_checkout(installed):
    kgantl = installed[1]
    listed = _run([kgantl, "models", "list"], installed)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "not found" not in listed.stdout and "share/kgantl/saved_models" in listed.stdout
    dry = _run([kgantl, "transfer", "--source", "source-fmnist-0-4", "--target", "digits:0-1", "--shots", "10",
                "--dry-run"], installed)
    assert dry.returncode == 0, dry.stderr
    resolved = json.loads(dry.stdout)
    assert resolved["strategy"] == "finetune" and resolved["copy_check"] == "on"  # the few-shot recipe, from
    # kgantl/measured.json inside the wheel


@pytest.mark.slow
def test_notebook_01_runs_on_the_installed_wheel(installed, tmp_path):
    """What a user with `pip install "kgantl[notebooks]"` runs first (fast mode); a last cell reports which kgantl
    the kernel imported."""
    import nbformat

    notebook = nbformat.read(ROOT / "notebooks" / "01_gan_quickstart.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import kgantl\nprint('KGANTL_FROM', kgantl.__file__)"))
    copy = tmp_path / "01_gan_quickstart.ipynb"
    nbformat.write(notebook, copy)
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import execute; "
              "nb = execute.execute_notebook(sys.argv[2], fast=True); "
              "print(''.join(o.get('text', '') for o in nb.cells[-1].outputs))")
    done = _run([installed[0], "-c", script, ROOT / "notebooks", copy], installed)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("KGANTL_FROM"))
    assert str(ROOT) not in line and "env" in line
