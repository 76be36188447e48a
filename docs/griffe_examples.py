"""A Griffe extension for the API reference: kgantl's docstrings title their doctest section `Example:` (the
project's style), which Google-style parsing reads as a note; renamed to `Examples:`, it renders as code."""
import re

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
