"""Execute kgantl's notebooks top to bottom, as `make notebooks` (full mode, outputs saved) and the tests do.

Each notebook runs in a fresh Jupyter kernel with its working directory in a scratch folder (runs and saved
files land there, not in the repository). `--fast` sets `KGANTL_FAST=1`, which the notebooks read to shrink
data and steps to about a minute on 2 CPU cores.

Usage:
    python notebooks/execute.py [--fast] [--save] [NOTEBOOK ...]   (default: every notebooks/NN_*.ipynb)

Example:
    python notebooks/execute.py --save            # what `make notebooks` runs: full mode, outputs kept
    python notebooks/execute.py --fast notebooks/01_gan_quickstart.ipynb
"""
import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent
MAX_BYTES = 2_000_000  # a committed notebook with its outputs stays under 2 MB
# What TensorFlow's C++ code writes to stderr as it starts (absl's pre-init notice, CUDA probing): lines like
# "I0000 00:00:1796.. 12544 cudart_stub.cc:31] ...". The notebooks' own code does not write them.
NATIVE_LOG_LINE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)|[IWEF]\d{4} \d\d:\d\d:)")


def notebook_paths():
    """The notebooks, in their numbered order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _as_displayed(text):
    """Stream text as a notebook shows it: on each line only what follows its last carriage return."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def coalesce_streams(notebook):
    """Merge each cell's consecutive stdout (or stderr) outputs into one, as displayed, without TensorFlow's
    native start-up log lines (`NATIVE_LOG_LINE`).

    Keras' progress bar writes one output per step, each starting with a carriage return; kept as they
    come they make a saved notebook megabytes of text that a reader sees as one line per epoch.
    """
    for cell in notebook.cells:
        merged = []
        for output in cell.get("outputs", []):
            if (output.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == output.name):
                merged[-1].text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.output_type == "stream":
                output.text = _as_displayed(output.text)
                if output.name == "stderr":  # TensorFlow's C++ start-up lines are the machine's, not the story
                    output.text = "".join(line for line in output.text.splitlines(keepends=True)
                                          if not NATIVE_LOG_LINE.match(line))
        if "outputs" in cell:
            cell.outputs = [o for o in merged if o.output_type != "stream" or o.text]
    return notebook


def execute_notebook(path, fast=True, workdir=None, timeout=900):
    """Run every cell of the notebook at `path` in a new kernel; returns the executed `NotebookNode`.

    Its stream outputs are merged as a notebook displays them (`coalesce_streams`).

    Args:
        path: the `.ipynb` file.
        fast: set `KGANTL_FAST=1` for the kernel.
        workdir: the kernel's working directory (default: a new temporary folder).
        timeout: seconds a single cell may run.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised (the message shows the cell and traceback).
    """
    notebook = nbformat.read(path, as_version=4)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="kgantl-notebook-"))
    previous = os.environ.get("KGANTL_FAST")
    os.environ["KGANTL_FAST"] = "1" if fast else "0"  # the kernel inherits this process's environment
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up lines are not the story
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        if previous is None:
            os.environ.pop("KGANTL_FAST", None)
        else:
            os.environ["KGANTL_FAST"] = previous
    return coalesce_streams(notebook)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all)")
    parser.add_argument("--fast", action="store_true", help="KGANTL_FAST=1: small data, few steps")
    parser.add_argument("--save", action="store_true", help="write the outputs into the notebook files")
    args = parser.parse_args(argv)
    for path in args.notebooks or notebook_paths():
        start = time.perf_counter()
        notebook = execute_notebook(path, fast=args.fast)
        seconds = time.perf_counter() - start
        if args.save:
            nbformat.write(notebook, path)
            size = path.stat().st_size
            print(f"{path.name}: {seconds:.0f} s, saved ({size / 1e6:.2f} MB)")
            if size > MAX_BYTES:
                sys.exit(f"{path.name} is {size / 1e6:.2f} MB with its outputs; keep it under {MAX_BYTES / 1e6:.0f} MB")
        else:
            print(f"{path.name}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
