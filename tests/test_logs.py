import logging
import subprocess
import sys

import pytest

from kgantl.logs import progress_shown, show_progress


@pytest.fixture
def kgantl_logger():
    """The `kgantl` logger, put back to the library's default afterwards whatever the test left."""
    yield logging.getLogger("kgantl")
    show_progress(False)


def test_show_progress_prints_info_and_warnings_once_as_kgantl_lines_and_off_restores(kgantl_logger, capsys):
    child = logging.getLogger("kgantl.synthetic.experiment")  # kgantl's modules log on children of "kgantl"
    child.info("before: silent")
    assert show_progress() is False and progress_shown()
    assert show_progress() is True  # a second call replaces the handler: each line is still printed once
    child.info("seed 0, ratio 0: val 0.900")
    child.warning("batch_size 400 is larger than the 40 training images")
    child.debug("not shown")
    assert capsys.readouterr().err == ("kgantl: seed 0, ratio 0: val 0.900\n"
                                       "kgantl: batch_size 400 is larger than the 40 training images\n")
    assert show_progress(False) is True and not progress_shown()
    assert (kgantl_logger.level, kgantl_logger.propagate, kgantl_logger.handlers) == (logging.NOTSET, True, [])
    child.info("after: silent again")
    assert capsys.readouterr().err == ""


def test_progress_follows_the_current_stderr(kgantl_logger, capsys):
    show_progress()
    capsys.readouterr()
    logging.getLogger("kgantl").info("to the stderr of the moment")
    assert capsys.readouterr().err == "kgantl: to the stderr of the moment\n"


def test_in_python_progress_is_silent_until_asked_and_warnings_print_as_warnings(tiny_npz, tmp_path):
    """A notebook's situation: a root handler printing `LEVEL:name:message` lines (`logging.basicConfig`)."""
    code = f"""
import logging
logging.basicConfig()
import kgantl
from kgantl.config import TrainOptions
from kgantl.resolve import resolve_training

options = TrainOptions(data={str(tiny_npz)!r}, image_size=16, width=4, latent_dim=8, batch_size=400, epochs=1,
                       steps_per_epoch=1, precision="auto", runs_root={str(tmp_path / "runs")!r})
resolve_training(options)
print("--- show_progress", file=__import__("sys").stderr)
kgantl.show_progress()
resolve_training(options)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    default, shown = result.stderr.split("--- show_progress\n")
    # By default: the real warning with its label, the progress line (INFO) not at all.
    assert "WARNING:kgantl:batch_size 400 is larger than the 40 training images" in default
    assert "precision auto" not in default
    # Asked for: both, once each, as the command line prints them, without WARNING/INFO labels.
    lines = shown.splitlines()
    assert len([line for line in lines if line.startswith("kgantl: precision auto: ")]) == 1, shown
    assert len([line for line in lines if line.startswith("kgantl: batch_size 400 is larger")]) == 1, shown
    assert not [line for line in lines if ":kgantl:" in line], shown
