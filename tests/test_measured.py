"""kgantl/measured.json: derived from the benchmark's records by bench/measured.py's rules, rendered into
docs/benchmarks.md, and the only source of the defaults the code takes from a measurement (issue 25)."""
import importlib
import json
import sys
from pathlib import Path

import pytest

from kgantl import measured as kgantl_measured
from kgantl.precision import resolve_precision
from kgantl.transfer import auto

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    """bench/few_shot.py and bench/measured.py, imported as the report imports them."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        yield importlib.import_module("few_shot"), importlib.import_module("measured")
    finally:
        sys.path.remove(str(ROOT / "bench"))


def _ten(default=0.18):
    return {(7, s): {"default": default, "scratch": 0.2, "plain finetune": 0.3, "finetune": 0.3} for s in (0, 1)}


def test_the_file_is_what_the_records_give_by_the_rules(bench):
    few_shot, measured = bench
    derived = measured.derive(*few_shot.measured_inputs(list(few_shot._done().values())))
    written = json.loads((ROOT / "kgantl" / "measured.json").read_text())
    colour = written.pop("colour", None)  # the colour grid's report writes it (see the next test)
    assert measured.dumps(derived) == measured.dumps(written), \
        "kgantl/measured.json is stale: run python bench/few_shot.py --report"
    assert colour is None or colour["written_by"] == measured.COLOUR_WRITTEN_BY


def test_the_colour_entry_is_what_the_colour_records_give(bench):
    _, measured = bench
    emoji = importlib.import_module("emoji_few_shot")
    if not emoji.grid.SOURCE.exists():
        pytest.skip("the colour source GAN is not here (make source-emoji): its records cannot be told apart")
    derived = measured.derive_colour(emoji.shown_records())
    if derived:  # (the report writes only once the records set something, and else leaves the file as it is)
        assert kgantl_measured.measured().get("colour") == derived, \
            "kgantl/measured.json's colour entry is stale: run python bench/emoji_few_shot.py --report"


def test_the_docs_table_is_the_file_rendered(bench):
    _, measured = bench
    table = measured.render(kgantl_measured.measured())
    doc = (ROOT / "docs" / "benchmarks.md").read_text()
    section = doc.split("<!-- measured-defaults:start -->\n")[1].split("\n<!-- measured-defaults:end -->")[0]
    assert section == table, "docs/benchmarks.md's table is stale: run python bench/few_shot.py --report"


def test_the_grey_report_keeps_the_colour_entry(bench, tmp_path, monkeypatch):
    _, measured = bench
    report = importlib.import_module("few_shot_report")
    path = tmp_path / "measured.json"
    colour = measured.derive_colour([_colour(HUNDRED, "default", 0.2), _colour(HUNDRED, "vision_d", 0.15)])
    path.write_text(json.dumps({**kgantl_measured.measured(), "colour": colour}))
    monkeypatch.setattr(report, "MEASURED", path)
    monkeypatch.setattr(report, "write_section", lambda *args, **kwargs: None)  # no page, no plot written
    monkeypatch.setattr(report, "plot", lambda *args, **kwargs: False)
    report.report()
    written = json.loads(path.read_text())
    assert written["colour"] == colour and written["few_shots"] == kgantl_measured.measured()["few_shots"]


def test_the_code_takes_its_measured_defaults_from_the_file():
    grid = kgantl_measured.hundred_shots()
    assert auto.CANDIDATES == tuple(grid["candidates"]) and auto.PRIOR == grid["prior"] in auto.CANDIDATES


def _file_with(monkeypatch, colour):
    """The shipped file with `colour` as its colour entry (None: none), in `kgantl.measured.measured`'s place."""
    shipped = {key: value for key, value in kgantl_measured.measured().items() if key != "colour"}
    monkeypatch.setattr(kgantl_measured, "measured", lambda: {**shipped, **({"colour": colour} if colour else {})})
    return shipped


def test_a_colour_run_takes_the_grey_values_until_the_colour_grid_has_measured(monkeypatch):
    shipped = _file_with(monkeypatch, None)
    assert kgantl_measured.few_shot_recipe(3) == kgantl_measured.few_shot_recipe() == shipped["few_shots"]
    assert kgantl_measured.transfer_default(3) == kgantl_measured.transfer_default() == shipped["hundred_shots"][
        "default"]
    assert kgantl_measured.recipe_benchmark(3) == kgantl_measured.recipe_benchmark(3, "default") == "Fashion-MNIST"


def test_a_colour_run_takes_the_colour_grids_values_where_it_has_them(monkeypatch):
    recipe = {"strategy": "vision_d", "diffaugment": "translation", "mean_kid": 0.1}
    shipped = _file_with(monkeypatch, {"few_shots": recipe, "written_by": "the colour grid"})
    assert kgantl_measured.few_shot_recipe(3) == recipe and kgantl_measured.recipe_benchmark(3) == "colour"
    assert kgantl_measured.few_shot_recipe() == kgantl_measured.few_shot_recipe(1) == shipped["few_shots"]
    assert kgantl_measured.recipe_benchmark(1) == "Fashion-MNIST"
    # no `default` measured in colour yet: the grey one stands in, and says so
    assert kgantl_measured.transfer_default(3) == shipped["hundred_shots"]["default"]
    assert kgantl_measured.recipe_benchmark(3, "default") == "Fashion-MNIST"
    _file_with(monkeypatch, {"few_shots": recipe, "default": "cdc"})
    assert kgantl_measured.transfer_default(3) == "cdc" and kgantl_measured.recipe_benchmark(3, "default") == "colour"
    assert kgantl_measured.transfer_default() == shipped["hundred_shots"]["default"]


def test_precision_auto_follows_the_file_and_the_hardware(monkeypatch):
    from kgantl import precision

    monkeypatch.setattr(precision, "has_fast_bfloat16", lambda: True)
    monkeypatch.setattr(precision, "bfloat16_quality_shown", lambda: False)
    assert resolve_precision("auto") == "float32"
    monkeypatch.setattr(precision, "bfloat16_quality_shown", lambda: True)
    assert resolve_precision("auto") == "mixed_bfloat16"
    monkeypatch.setattr(precision, "has_fast_bfloat16", lambda: False)
    assert resolve_precision("auto") == "float32"  # emulated bfloat16 is slower: never picked


def test_candidates_need_a_top_two_place_and_never_losing_to_scratch(bench):
    _, measured = bench
    hundred = {5: {"vision_d": 0.1, "cdc": 0.7, "finetune": 0.3, "freeze_d:1": 0.4, "scratch": 0.6,
                   "plain finetune": 0.35},
               7: {"vision_d": 0.02, "cdc": 0.03, "finetune": 0.05, "freeze_d:1": 0.04, "scratch": 0.2,
                   "plain finetune": 0.05}}
    grid = measured.derive(hundred, _ten(), {})["hundred_shots"]
    # cdc was second on class 7 but above scratch on class 5: no pilot, not the alternative.
    assert grid["prior"] == "vision_d" and grid["candidates"] == ["finetune", "vision_d"]
    assert grid["alternative"] == "finetune" and grid["never_above_scratch"] == ["finetune", "freeze_d:1", "vision_d"]


def test_a_few_shot_recipe_the_records_no_longer_back_is_refused(bench):
    _, measured = bench
    hundred = {7: {"vision_d": 0.02, "finetune": 0.05, "scratch": 0.2, "plain finetune": 0.05}}
    assert measured.derive(hundred, _ten(0.18), {})["few_shots"]["mean_kid"] == 0.18
    with pytest.raises(ValueError, match="no longer back the few-shot recipe"):
        measured.derive(hundred, _ten(0.31), {})


@pytest.mark.parametrize("float32, bfloat16, shown", [
    ([0.19, 0.2, 0.21], [0.2, 0.2, 0.2], True),
    ([0.19, 0.2, 0.21], [0.25, 0.2, 0.2], False),   # mean above the worst float32 seed
    ([0.19, 0.2], [0.1, 0.1], False),                # two seeds are not the three the check needs
])
def test_bfloat16_is_shown_only_by_three_seeds_within_float32s_spread(bench, float32, bfloat16, shown):
    _, measured = bench
    hundred = {7: {"vision_d": 0.02, "finetune": 0.05, "scratch": 0.2, "plain finetune": 0.05}}
    parity = {"float32": float32, "mixed_bfloat16": bfloat16}
    assert measured.derive(hundred, _ten(), parity)["bfloat16"]["quality_shown"] is shown


def test_the_file_ships_with_the_package():
    assert json.loads((ROOT / "kgantl" / "measured.json").read_text()) == kgantl_measured.measured()
    cfg = (ROOT / "setup.cfg").read_text()
    assert "measured.json" in cfg.split("[options.package_data]")[1].split("[")[0]


# --- The colour grid's part (`derive_colour`), on hand-made records of its cells. ---

TEN = [("cross-style", 10, s) for s in (0, 1, 2)] + [("cross-subject", 10, s) for s in (0, 1, 2)]
HUNDRED = ("cross-style", 100, 0)


def _colour(cell, method, kid, strategy=None, kid_std=0.02):
    """A colour grid record; `strategy`: what a checkpoint-choosing run resolved (with DiffAugment `translation`)."""
    record = {"target": cell[0], "shots": cell[1], "seed": cell[2], "method": method, "kid": kid, "kid_std": kid_std,
              "steps": 2000, **({} if method == "scratch" else {"source_sha256": "0123456789abcdef"})}
    return {**record, "resolved": {"strategy": strategy, "diffaugment": "translation"}} if strategy else record


def _ten_shot_records(vision_d_cells=TEN):
    return ([_colour(cell, "scratch", 0.3) for cell in TEN] + [_colour(cell, "plain finetune", 0.4) for cell in TEN[1:]]
            + [_colour(cell, "default", 0.2, "finetune") for cell in TEN]
            + [_colour(cell, "vision_d", 0.1, "vision_d") for cell in vision_d_cells])


def test_the_colour_recipe_is_the_lowest_mean_kid_on_all_six_ten_shot_cells(bench):
    _, measured = bench
    colour = measured.derive_colour(_ten_shot_records())
    assert colour["few_shots"] == {"method": "vision_d", "strategy": "vision_d", "diffaugment": "translation",
                                   "steps": 2000, "cells": 6, "mean_kid": 0.1, "mean_kid_scratch": 0.3,
                                   "mean_kid_plain_finetune": None,  # plain finetune lacks a cell
                                   "mean_kid_source_as_is": None}  # and the source as is every cell
    assert colour["written_by"] == measured.COLOUR_WRITTEN_BY and colour["source_sha256"] == "0123456789abcdef"
    assert "default" not in colour  # no 100-shot record of `default`: the grey default stands in
    # vision_d lacks a cell: it cannot win, however low its KIDs
    assert measured.derive_colour(_ten_shot_records(TEN[:5]))["few_shots"]["method"] == "default"
    # no CLI-like method on all six cells, nor a 100-shot `default`: nothing to write
    only_some = [r for r in _ten_shot_records(TEN[:5]) if (r["method"], r["seed"]) != ("default", 2)]
    assert measured.derive_colour(only_some) == {} == measured.derive_colour([])


def _curve(kids):
    """A curve of full points (KID in both feature spaces) at 250, 500, ... steps, and a KID-only point between."""
    full = [{"steps": 250 * (i + 1), "kid": kid, "kid_random_cnn": 0.01} for i, kid in enumerate(kids)]
    return full + [{"steps": 100, "kid": 0.0}]  # the copy check's KID-only point: never a budget


def test_the_colour_budget_is_the_scored_step_with_the_lowest_mean_kid(bench):
    _, measured = bench
    records = _ten_shot_records() + [_colour(cell, "source as is", 0.15) for cell in TEN]
    for record in records:  # default: best at 500 steps on five cells, at 250 on one (mean lowest at 500)
        if record["method"] == "default":
            record["curve"] = _curve([0.06, 0.05, 0.09] if record["seed"] or record["target"] != "cross-style"
                                     else [0.04, 0.07, 0.09])
        if record["method"] == "scratch":
            record["curve"] = _curve([0.9, 0.8, 0.7])
    few = measured.derive_colour(records)["few_shots"]
    # default at 500 steps (mean 0.0533) beats vision_d's records at 2000 (0.1), which have no curve to read off
    assert (few["method"], few["steps"], few["strategy"]) == ("default", 500, "finetune")
    assert few["mean_kid"] == round((0.07 + 5 * 0.05) / 6, 4) and few["mean_kid_scratch"] == 0.8
    assert few["mean_kid_plain_finetune"] is None and few["mean_kid_source_as_is"] == 0.15
    records[0]["curve"] = records[0]["curve"][:1]  # scratch's first cell scored only at 250: not at 500 either
    assert measured.derive_colour(records)["few_shots"]["mean_kid_scratch"] is None
    next(r for r in records if r["method"] == "vision_d")["steps"] = 1000
    with pytest.raises(ValueError, match="vision_d's records must share one budget"):
        measured.derive_colour(records)


def test_the_colour_recipe_needs_one_resolved_recipe_across_its_runs(bench):
    _, measured = bench
    records = _ten_shot_records()
    records[-1]["resolved"]["diffaugment"] = "cutout"
    with pytest.raises(ValueError, match="one resolved strategy and DiffAugment"):
        measured.derive_colour(records)


@pytest.mark.parametrize("vision_d_kid, default", [(0.19, "finetune"),  # a lead within default's kid_std: noise
                                                   (0.15, "vision_d"),  # a lead of more than kid_std
                                                   (0.25, "finetune")])
def test_the_colour_default_takes_only_a_lead_beyond_defaults_kid_std(bench, vision_d_kid, default):
    _, measured = bench
    records = [_colour(HUNDRED, "default", 0.2, kid_std=0.02), _colour(HUNDRED, "vision_d", vision_d_kid),
               _colour(HUNDRED, "scratch", 0.01)]  # a baseline is never the default, however low
    colour = measured.derive_colour(records)
    assert colour["default"] == default and "few_shots" not in colour
    assert colour["hundred_shot_cell"]["kids"] == {"default": 0.2, "scratch": 0.01, "vision_d": vision_d_kid}
    assert measured.derive_colour(records[1:]) == {}  # no `default` on the cell: nothing to compare with


def test_the_colour_default_keeps_the_incumbent_default_trained_without_a_clear_lead(bench):
    # Once the colour default is vision_d, `default` trains vision_d: a re-run without a clear lead keeps it.
    _, measured = bench
    incumbent = {**_colour(HUNDRED, "default", 0.2, kid_std=0.02), "trained_strategy": "vision_d"}
    assert measured.derive_colour([incumbent, _colour(HUNDRED, "maskd", 0.19)])["default"] == "vision_d"


def test_the_docs_table_shows_the_colour_rows(bench):
    _, measured = bench
    shipped = {key: value for key, value in kgantl_measured.measured().items() if key != "colour"}
    waiting = measured.render(shipped)
    assert waiting.count("the Fashion-MNIST value above, until the colour grid has measured one") == 2
    colour = measured.derive_colour(_ten_shot_records() + [_colour(HUNDRED, "default", 0.2),
                                                            _colour(HUNDRED, "vision_d", 0.15)])
    table = measured.render({**shipped, "colour": colour})
    assert "| colour runs (at most `kgantl.config.FEW_SHOTS` images per class): strategy, DiffAugment and, with no " \
           "`--steps` or `--epochs`, generator steps | `vision_d`, `translation`, 2000 steps |" in table
    assert ("`vision_d` mean KID over 6 cells at 2000 steps 0.1000 (noto features); at the same budget scratch 0.3000, "
            "plain finetune n/a; the source not adapted n/a") in table
    assert "| colour runs above `kgantl.config.FEW_SHOTS` images with no strategy flag | `vision_d` |" in table
    assert "cross-style, 100 shots, seed 0: `default` 0.2000 (kid_std 0.0200); `vision_d` 0.1500" in table
