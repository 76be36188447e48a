"""Shared by the bench scripts: the machine line, and replacing one marked section of docs/benchmarks.md."""
import os
import platform
from pathlib import Path

from kgantl.io import atomic_path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def machine_line():
    """`Machine: x86_64, 2 cores, TensorFlow 2.x, Python 3.x, no GPU` for the report header."""
    import tensorflow as tf

    gpus = ", ".join(d.name for d in tf.config.list_physical_devices("GPU"))
    return (f"Machine: {platform.machine()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, "
            f"Python {platform.python_version()}, {gpus or 'no GPU'}")


def write_section(name, text, heading, path=DOC):
    """Replace what lies between `<!-- NAME:start -->` and `<!-- NAME:end -->` in `path` with `text`.

    The prose around the markers is kept; a missing section is appended under `heading`. The file is
    replaced atomically.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.strip()}\n{end}"
    old = path.read_text() if path.exists() else ""
    if start in old:
        head, _, rest = old.partition(start)
        new = head + block + rest.partition(end)[2]
    else:
        new = old.rstrip("\n") + f"\n\n## {heading}\n\n{block}\n"
    with atomic_path(path) as tmp:
        tmp.write_text(new)
