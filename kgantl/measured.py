"""What kgantl's benchmarks measured that its defaults follow, read from `measured.json` beside this module.

The file is written by `python bench/few_shot.py --report` from the benchmark's records, by the rules stated in
it and in bench/measured.py; docs/benchmarks.md ("What the benchmarks set") renders the same file. Nothing here
decides: the modules that take a default from a measurement (`--strategy auto`, `recommend`, the few-shot
recipe, the transfer default above it, `--precision auto`) read it from here, so a new benchmark result changes them in one place.
"""
import functools
import json
from importlib import resources

FILE = "measured.json"


@functools.lru_cache(maxsize=None)
def measured():
    """The whole file as a dict (read once per process).

    Example:
        >>> measured()["hundred_shots"]["prior"]
        'vision_d'
    """
    return json.loads(resources.files("kgantl").joinpath(FILE).read_text())


def hundred_shots():
    """The 100-shot grid's settings: `prior`, `candidates`, `alternative` and the KIDs behind them."""
    return measured()["hundred_shots"]


def transfer_default():
    """The strategy of a transfer above `kgantl.config.FEW_SHOTS` images given no strategy (rule "default")."""
    return hundred_shots()["default"]


def step_budget():
    """Generator steps a run trains when neither `steps` nor `epochs` is given (rule "budget")."""
    return measured()["budget"]["steps"]


def few_shot_recipe():
    """The recipe of a few-shot transfer run: `strategy` and `diffaugment`, with the 10-shot grid's mean KIDs."""
    return measured()["few_shots"]


def bfloat16_quality_shown():
    """Whether the benchmark has shown mixed_bfloat16 costs no quality (`--precision auto` may then pick it)."""
    return measured()["bfloat16"]["quality_shown"]


__all__ = ["bfloat16_quality_shown", "few_shot_recipe", "hundred_shots", "measured", "step_budget", "transfer_default"]
