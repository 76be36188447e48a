"""What kgantl's benchmarks measured that its defaults follow, read from `measured.json` beside this module.

The file is written by `python bench/few_shot.py --report` from the Fashion-MNIST benchmark's records, and its
`colour` entry by `python bench/emoji_few_shot.py --report` from the colour (emoji) benchmark's, by the rules stated
in it and in bench/measured.py; docs/benchmarks.md ("What the benchmarks set") renders the same file. Nothing here
decides: the modules that take a default from a measurement (`--strategy auto`, `recommend`, the few-shot
recipe, the transfer default above it, `--precision auto`) read it from here, so a new benchmark result changes
them in one place.
A colour run (3 channels) takes the colour benchmark's recipe and default once it has measured them, and the
Fashion-MNIST (grey) benchmark's until then; `recipe_benchmark` says which, for the messages that name it.
"""
import functools
import json
from importlib import resources

FILE = "measured.json"
COLOUR, GREY = "colour", "Fashion-MNIST"  # the benchmarks, as messages name them


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


def _colour_setting(channels, setting):
    """The colour benchmark's `setting` ("few_shots" or "default") for a run of `channels`, or None: a grey run, or
    a colour one before the colour grid has measured that setting (the grey value then stands in)."""
    return measured().get("colour", {}).get(setting) if channels == 3 else None


def recipe_benchmark(channels=1, setting="few_shots"):
    """Which benchmark backs the value a run of `channels` takes for `setting`: `COLOUR` or `GREY`.

    A colour run falls back on the Fashion-MNIST benchmark's value until the colour grid has measured its own, and
    the messages that quote the value name the benchmark, so a user does not take a grey measurement for a colour one.

    Args:
        channels: the channels the run trains at (3: colour).
        setting: "few_shots" (`few_shot_recipe`) or "default" (`transfer_default`).

    Returns:
        "colour" or "Fashion-MNIST".

    Example:
        >>> recipe_benchmark(1)
        'Fashion-MNIST'
    """
    return COLOUR if _colour_setting(channels, setting) is not None else GREY


def transfer_default(channels=1):
    """The strategy of a transfer above `kgantl.config.FEW_SHOTS` images given no strategy (rule "default"; for a
    colour run, rule "colour_default" once the colour grid has measured it)."""
    return _colour_setting(channels, "default") or hundred_shots()["default"]


def step_budget():
    """Generator steps a run trains when neither `steps` nor `epochs` is given (rule "budget")."""
    return measured()["budget"]["steps"]


def few_shot_recipe(channels=1):
    """The recipe of a few-shot transfer run: `strategy` and `diffaugment`, with the 10-shot grid's mean KIDs (for a
    colour run, the colour grid's, rule "colour_few_shot", once it has measured one, with its budget in `steps`)."""
    return _colour_setting(channels, "few_shots") or measured()["few_shots"]


def bfloat16_quality_shown():
    """Whether the benchmark has shown mixed_bfloat16 costs no quality (`--precision auto` may then pick it)."""
    return measured()["bfloat16"]["quality_shown"]


__all__ = ["bfloat16_quality_shown", "few_shot_recipe", "hundred_shots", "measured", "recipe_benchmark",
           "step_budget", "transfer_default"]
