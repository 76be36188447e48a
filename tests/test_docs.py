"""The front door: the README's size and links, the docs' links, and an API reference that misses no module."""
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
