"""The front door: the README's size and links, the docs' links, and an API reference that misses no module."""
import dataclasses
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# Markdown links and images: [text](target) and ![alt](target); the target up to a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")
# Modules with nothing for a user of the API: the command line (the package kgantl.cli, documented by its --help)
# and internals.
NOT_IN_THE_REFERENCE = {"kgantl", "kgantl.cli", "kgantl.lazy"}


def _targets(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)  # code blocks hold no links
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    for target in _targets(page):
        path = target.split("#")[0]
        if path:
            assert (page.parent / path).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def test_the_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    assert re.search(r"!\[[^\]]+\]\(docs/[^)]+\.png\)", text), "a picture near the top"
    assert "pip install" in text and "```python" in text and "| images per class |" in text
    assert not re.search(r"\bissues? \d+|issue-\d+", text, flags=re.IGNORECASE), "no internal issue numbers"
    assert "BENCHMARKS.md" not in text and "../shared" not in text, "no files outside the repository"


def test_the_api_reference_covers_every_module():
    modules = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
               for path in (ROOT / "kgantl").rglob("*.py")}
    reference = "\n".join(page.read_text() for page in (ROOT / "docs" / "api").glob("*.md"))
    documented = set(re.findall(r"^::: ([\w.]+)", reference, flags=re.MULTILINE))
    packages = {m for m in modules if (ROOT / m.replace(".", "/") / "__init__.py").exists()}
    missing = sorted(m for m in modules - documented - packages - NOT_IN_THE_REFERENCE
                     if not m.startswith("kgantl.cli."))
    assert not missing, f"modules not in docs/api/*.md: {missing}"
    assert not documented - modules, "docs/api names a module that does not exist"


# --- The documentation site (mkdocs.yml): what a newcomer opens, from disk and offline. ---

def _mkdocs_config():
    import yaml

    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def _python_handler_options():
    return _mkdocs_config()["plugins"][1]["mkdocstrings"]["handlers"]["python"]["options"]


def test_the_site_opens_from_disk_and_fetches_nothing():
    config = _mkdocs_config()
    # build/site/index.html opened as a file: a link to guide/ would show a folder listing, guide.html the page.
    assert config["use_directory_urls"] is False
    # The mkdocs theme fetches highlight.js from a CDN unless told not to; Pygments highlights at build time.
    assert config["theme"]["highlightjs"] is False
    extensions = [next(iter(e)) if isinstance(e, dict) else e for e in config["markdown_extensions"]]
    assert "codehilite" in extensions or "pymdownx.highlight" in extensions
    for asset in config.get("extra_css", []) + config.get("extra_javascript", []):
        assert not re.match(r"[a-z]+:|//", asset) and (ROOT / "docs" / asset).is_file(), asset


@functools.lru_cache(maxsize=None)
def _griffe_package():
    """kgantl as the API reference sees it: Griffe with mkdocs.yml's docstring options and extensions."""
    import griffe

    options = _python_handler_options()
    extensions = griffe.load_extensions(*(str(ROOT / extension) for extension in options["extensions"]))
    return griffe.load("kgantl", search_paths=[ROOT], extensions=extensions, docstring_parser="google",
                       docstring_options=options.get("docstring_options"), allow_inspection=False)


def _public_objects(obj):
    """Every object the reference shows: no underscore name, nothing of the command line (its --help documents it)."""
    if obj.is_alias or obj.name.startswith("_") or obj.path == "kgantl.cli" or obj.path.startswith("kgantl.cli."):
        return
    yield obj
    for member in obj.members.values():
        yield from _public_objects(member)


def test_every_returns_section_describes_one_value():
    # Google-style parsing reads each line under Returns at the item indentation as a return value of its own, so a
    # description wrapped without a hanging indent renders as several table rows.
    several = [f"{obj.path} ({obj.relative_filepath}:{obj.lineno}): {len(section.value)} items"
               for obj in _public_objects(_griffe_package()) if obj.docstring
               for section in obj.docstring.parsed if section.kind.value in ("returns", "yields")
               and len(section.value) > 1]
    assert not several, "indent a Returns description's continuation lines by 4 more spaces:\n" + "\n".join(several)


@pytest.mark.parametrize("name", ["TrainOptions", "AugmentSettings"])
def test_every_option_field_is_in_the_reference(name):
    import kgantl

    cls = getattr(kgantl, name)
    documented = _griffe_package()[f"{cls.__module__}.{name}".removeprefix("kgantl.")]
    sections = [s for s in documented.docstring.parsed if s.kind.value == "attributes"]
    assert len(sections) == 1, f"{name}: one Attributes section (docs/griffe_options.py writes it)"
    rows = {attribute.name: attribute.description for attribute in sections[0].value}
    assert list(rows) == [field.name for field in dataclasses.fields(cls)]
    assert all(rows.values()), f"{name}: a field without help text"


def _flags(parser):
    """Every optional argument of `parser` and of its sub-commands: (command, the flag's long forms)."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from ((f"{command} {where}".strip(), flags) for where, flags in _flags(sub))
        elif action.option_strings and not isinstance(action, argparse._HelpAction):
            yield "", [flag for flag in action.option_strings if flag.startswith("--")] or action.option_strings


# The benchmark log keeps what was run as it was run (commands into the shared benchmark folder, tracker numbers);
# the results page, benchmarks.md, is read like every other page.
USER_PAGES = [page for page in sorted((ROOT / "docs").rglob("*.md")) if page.name != "benchmark-log.md"]


def test_every_command_line_flag_is_in_the_docs():
    from kgantl.cli import build_parser

    text = "\n".join(page.read_text() for page in USER_PAGES)
    missing = sorted({f"kgantl {command} {flags[0]}".replace("  ", " ") for command, flags in _flags(build_parser())
                      if not any(re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) for flag in flags)})
    assert not missing, "flags no page of docs/ mentions:\n" + "\n".join(missing)


@pytest.mark.parametrize("page", USER_PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_user_docs_name_no_tracker_or_files_outside_the_repository(page):
    text = page.read_text()
    tracker = re.findall(r"\b(?:issues?|tickets?|PR)[ -]#?\d+|(?<![\w&/])#\d+\b|\bthe issue's\b", text,
                         flags=re.IGNORECASE)
    assert not tracker, f"{page.name} refers to the tracker: {tracker}"
    outside = [path for path in re.findall(r"(?:\.\./)+[\w.\-/]*", text)
               if not (page.parent / path).resolve().is_relative_to(ROOT)]
    outside += re.findall(r"BENCHMARKS\.md|beside the repository|outside the repository", text)
    assert not outside, f"{page.name} names files outside the repository: {outside}"


@pytest.mark.slow
def test_the_built_site_links_pages_as_files_and_loads_nothing_remote(tmp_path):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    build(load_config(str(ROOT / "mkdocs.yml"), site_dir=str(tmp_path)))  # strict: a warning fails it
    pages = sorted(tmp_path.rglob("*.html"))
    assert (tmp_path / "guide.html").is_file() and not (tmp_path / "guide").exists()
    for page in pages:
        html = page.read_text()
        links = re.findall(r"<a\b[^>]*\bhref=\"([^\"#]+)", html)
        assert not [link for link in links if not re.match(r"[a-z]+:", link) and not link.endswith(".html")
                    and not (page.parent / link).is_file()], f"{page.name}: a link to a folder"
        remote = re.findall(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"((?:https?:)?//[^\"]+)", html)
        assert not remote, f"{page.relative_to(tmp_path)} loads {remote}"
    from kgantl.config import TrainOptions

    options = (tmp_path / "api" / "training.html").read_text()
    for field in dataclasses.fields(TrainOptions):
        assert f'title="kgantl.config.TrainOptions.{field.name}">{field.name}<' in options, \
            f"the options page lacks {field.name}"
