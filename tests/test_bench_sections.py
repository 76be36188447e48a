"""`bench/sections.py`: each generated section lives on one benchmark page, and `write_section` finds it there by
the section's name alone (docs/benchmarks.md for the results, docs/benchmark-log.md for everything else)."""
import ast
import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "benchmark-log.md")
# Sections whose measurement is still running: a script writes them, no page holds them yet. Empty it as they land.
PENDING = set()


@pytest.fixture
def sections(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    yield importlib.import_module("sections")
    sys.modules.pop("sections", None)


def _write_section_calls():
    """(script, call) for every `write_section(...)` call in bench/*.py."""
    for script in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "write_section":
                yield script.name, node


def _markers(page):
    return re.findall(r"^<!-- ([\w.-]+):start -->$", page.read_text(), flags=re.MULTILINE)


def test_every_section_a_script_names_is_on_exactly_one_page(sections):
    names = {call.args[0].value for _, call in _write_section_calls() if isinstance(call.args[0], ast.Constant)}
    assert {"measured-defaults", "few-shot-grid", "emoji-few-shot"} <= names  # the literals were found
    for name in sorted(names):
        holding = [page.name for page in PAGES if name in _markers(page)]
        if name in PENDING and not holding:
            continue
        assert holding == [sections.page_for(name).name], f"section {name!r} is on {holding or 'no page'}"


def test_every_section_on_a_page_is_where_write_section_puts_it(sections):
    for page in PAGES:
        names = _markers(page)
        assert len(names) == len(set(names)), f"{page.name} holds a section twice"
        assert not [name for name in names if sections.page_for(name) != page], page.name
    assert PENDING.isdisjoint(sections.ON_RESULTS_PAGE)  # the colour grids' sections go to the log


def test_headings_for_missing_sections_carry_no_tracker_number():
    for script, call in _write_section_calls():
        heading = ast.unparse(call.args[2] if len(call.args) > 2 else call.keywords[0].value)
        assert not re.search(r"issues?[ -]\d+", heading, flags=re.IGNORECASE), f"{script}: {heading}"


def test_write_section_routes_by_name_and_keeps_the_prose(sections, tmp_path, monkeypatch):
    results, log = tmp_path / "benchmarks.md", tmp_path / "benchmark-log.md"
    results.write_text("# Benchmarks\n\nprose\n\n<!-- throughput:start -->\nold\n<!-- throughput:end -->\n\nafter\n")
    monkeypatch.setattr(sections, "RESULTS", results)
    monkeypatch.setattr(sections, "LOG", log)
    sections.write_section("throughput", "new table\n", "Train step cost")
    assert results.read_text() == ("# Benchmarks\n\nprose\n\n<!-- throughput:start -->\nnew table\n"
                                   "<!-- throughput:end -->\n\nafter\n")
    sections.write_section("emoji-few-shot", "grid", "Colour few-shot GAN transfer: emoji")
    assert log.read_text() == ("\n\n## Colour few-shot GAN transfer: emoji\n\n<!-- emoji-few-shot:start -->\ngrid\n"
                               "<!-- emoji-few-shot:end -->\n")
    elsewhere = tmp_path / "other.md"
    sections.write_section("throughput", "x", "Train step cost", path=elsewhere)  # an explicit page still wins
    assert "<!-- throughput:start -->\nx\n" in elsewhere.read_text() and "new table" in results.read_text()
