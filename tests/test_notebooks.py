"""The notebooks run top to bottom in fast mode, call the package instead of defining it, and carry outputs."""
import ast
import importlib.util
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
_spec = importlib.util.spec_from_file_location("execute_notebooks", NOTEBOOKS / "execute.py")
execute = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute)
PATHS = execute.notebook_paths()
EXPECTED = ["01_gan_quickstart", "02_few_shot_transfer", "03_classifier_transfer", "04_gan_augmented_classifier",
            "05_export_and_serve", "06_colour_transfer"]


@pytest.fixture(scope="module")
def fashion_mnist_available():
    """The notebooks load Fashion-MNIST by spec: on a machine without it (no Debian package, offline) skip."""
    from kgantl.data.fashion_mnist import data_files

    if data_files("train") is None or data_files("test") is None:
        pytest.skip("Fashion-MNIST is not on this machine (make data installs it from Debian)")


def _emoji_available():
    """Both emoji tarballs in kgantl's data folder, or npm to fetch them (`kgantl.data.emoji_package`)."""
    import shutil

    from kgantl.data.emoji_package import data_dir, tarball_name

    return bool(shutil.which("npm")) or all((data_dir() / tarball_name(v)).is_file() for v in ("google", "twitter"))


def _code_cells(path):
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


def _python(cell):
    """The cell as Python, with IPython's `!command` and `%magic` lines turned into calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    return TransformerManager().transform_cell(source)


def test_the_six_notebooks_are_there():
    assert [path.stem for path in PATHS] == EXPECTED


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_a_notebook_calls_the_package_and_defines_no_class_train_step_or_loss(path):
    for cell in _code_cells(path):
        for node in ast.walk(ast.parse(_python(cell))):
            assert not isinstance(node, ast.ClassDef), f"{path.name} defines class {node.name}"
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                name = getattr(node, "name", "<lambda>")
                assert name != "train_step" and "loss" not in name.lower(), f"{path.name} defines {name}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_a_notebook_opens_with_a_colab_badge_set_up_and_fast_switch(path):
    cells = json.loads(path.read_text())["cells"]
    title = "".join(cells[0]["source"])
    assert title.startswith("# ") and "colab.research.google.com/github/" in title and path.name in title
    code = "\n".join("".join(cell["source"]) for cell in _code_cells(path))
    assert '"google.colab" in sys.modules' in code and "KGANTL_FAST" in code


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_the_committed_notebook_carries_outputs_with_pictures_under_2_mb(path):
    assert path.stat().st_size < execute.MAX_BYTES
    outputs = [output for cell in _code_cells(path) for output in cell.get("outputs", [])]
    assert all(cell.get("execution_count") for cell in _code_cells(path)), "run it with make notebooks"
    assert any("image/png" in output.get("data", {}) for output in outputs), "no picture in its outputs"
    assert not [o for o in outputs if o.get("output_type") == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_a_notebook_runs_top_to_bottom_in_fast_mode(path, tmp_path, fashion_mnist_available):
    if "colour" in path.stem and not _emoji_available():
        pytest.skip("the emoji packages are neither in kgantl's data folder nor fetchable (no npm on PATH)")
    notebook = execute.execute_notebook(path, fast=True, workdir=tmp_path, timeout=600)
    assert all(cell.get("execution_count") for cell in notebook.cells if cell.cell_type == "code")


def _outputs_text(cells):
    """Everything the outputs show as text: streams, and the text/markdown/html of displayed and returned values."""
    def text(value):
        return value if isinstance(value, str) else "".join(value)

    return "".join(text(output.get("text", "")) + "".join(text(value) for kind, value in output.get("data", {}).items()
                                                          if kind.startswith("text/"))
                   for cell in cells for output in cell.get("outputs", []))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_the_colab_set_up_installs_from_the_one_repository_address(path):
    from kgantl.shipped import REPOSITORY

    setup = "".join(_code_cells(path)[0]["source"])
    assert f'REPOSITORY = "{REPOSITORY}"' in setup and "git+{REPOSITORY}" in setup
    assert "pip install -q \"kgantl[notebooks] @" in setup and " -e " not in setup  # not editable: no restart
    assert "git clone" not in setup  # a clone named kgantl in the working folder would shadow the package
    text = path.read_text()
    owner_and_name = REPOSITORY.removeprefix("https://github.com/")
    for found in re.findall(r"github(?:\.com)?/([\w.-]+/[\w.-]+)", text):
        assert found == owner_and_name, f"{path.name} names another repository: {found}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_committed_outputs_hold_no_machine_paths_or_native_log_lines(path):
    text = _outputs_text(_code_cells(path))
    assert not re.search(r"(?<![\w.~-])/(work|tmp|home|root|content|usr|opt)/", text), "an absolute path"
    assert not [line for line in text.splitlines() if execute.NATIVE_LOG_LINE.match(line)]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_numbers_in_the_prose_come_from_the_outputs_code_or_benchmarks(path):
    """A number written in a notebook's text must be one its cells print (or set), or a benchmark figure quoted
    from docs/benchmarks.md or docs/benchmark-log.md: then a re-run that changes the outputs cannot leave the prose
    behind unnoticed."""
    cells = json.loads(path.read_text())["cells"]
    sources = "".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    docs = NOTEBOOKS.parent / "docs"
    known = (sources + _outputs_text(cells) + (docs / "benchmarks.md").read_text()
             + (docs / "benchmark-log.md").read_text())
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        prose = re.sub(r"`[^`]*`", "", "".join(cell["source"]))  # code spans are code, not claims
        for number in re.findall(r"\d+\.\d+|\d+(?=%)", prose):
            assert number in known, f"{path.name}: {number!r} in the prose is in no output, code or benchmark"
