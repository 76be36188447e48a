"""Shared by the bench scripts: section header, speed-ratio cells, and replacing one marked section of the
benchmark pages (docs/benchmarks.md, the results; docs/benchmark-log.md, the record behind them)."""
import datetime
import os
import platform
import statistics
from pathlib import Path

from kgantl.io import atomic_path

DOCS = Path(__file__).resolve().parents[1] / "docs"
RESULTS = DOCS / "benchmarks.md"  # one short section per question
LOG = DOCS / "benchmark-log.md"  # the tables per cell, probes and superseded records behind the results
# The generated sections that are themselves the answer to a question of the results page: small tables a reader
# needs there. Every other section, including any new one, goes to the log: scripts name sections, never pages.
ON_RESULTS_PAGE = frozenset({"measured-defaults", "throughput", "colour-design", "classifier-transfer",
                             "augment-pipeline"})


def page_for(name):
    """The page that holds section `name`: the results page for `ON_RESULTS_PAGE`, else the benchmark log."""
    return RESULTS if name in ON_RESULTS_PAGE else LOG


def machine_line():
    """`Machine: x86_64, 2 cores, TensorFlow 2.x, Python 3.x, no GPU` for the report header."""
    import tensorflow as tf

    gpus = ", ".join(d.name for d in tf.config.list_physical_devices("GPU"))
    return (f"Machine: {platform.machine()}, {cpu_line()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}, "
            f"Python {platform.python_version()}, {gpus or 'no GPU'}")


def cpu_line():
    """The CPU's model name and the flags that decide low-precision speed (`lscpu`'s model and flags)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown CPU")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = [f for f in ("avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile") if f in flags]
    return f"{model} ({' '.join(wanted) or 'no AVX-512/AMX flags'})"


def header(command, command_note="", machine_note="", date_note=""):
    """The lines every section starts with: the command that made it, the machine and the date.

    Args:
        command: the command line, shown as code.
        command_note, machine_note, date_note: text appended to each line (e.g. where raw records lie).

    Returns:
        list of Markdown lines (each but the last ends in a hard line break), then a blank one.
    """
    return [f"Command: `{command}`{command_note}  ", f"{machine_line()}{machine_note}  ",
            f"Date: {datetime.date.today().isoformat()}{date_note}", ""]


def ratio_cells(values, base):
    """`best/best-of-base x | median per-round ratio x (min-max)` for speeds measured in the same rounds."""
    per_round = [v / b for v, b in zip(values, base)]
    return (f"{max(values) / max(base):.2f}x | {statistics.median(per_round):.2f}x "
            f"({min(per_round):.2f}-{max(per_round):.2f})")


def write_section(name, text, heading, path=None):
    """Replace what lies between `<!-- NAME:start -->` and `<!-- NAME:end -->` in `path` with `text`.

    Args:
        name: the section's marker name.
        text: the section's Markdown, without the markers.
        heading: the `##` heading a missing section is appended under (descriptive, no tracker numbers).
        path: the page; default `page_for(name)`, so a script never names a file.

    The prose around the markers is kept. The file is replaced atomically.
    """
    path = page_for(name) if path is None else Path(path)
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


def save_figure(fig, path):
    """Lay out a matplotlib figure, write it to `path` as a PNG atomically, and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
