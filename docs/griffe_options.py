"""A Griffe extension for the API reference: an options dataclass (`TrainOptions`, `AugmentSettings`) keeps each
field's help text, allowed values and shown default in the field's metadata (`kgantl.option_fields.option_field`),
where the command line reads them; the reference reads the same metadata into an `Attributes:` section of the
class's docstring, so the page lists every field with the text `--help` shows.

Some help texts are computed (the step budget comes from kgantl/measured.json), so the metadata is read from the
imported class, not from the source: the build imports the module (and with it TensorFlow, through `import kgantl`).
"""
import dataclasses
import html
import importlib
import os
import re
import sys
from pathlib import Path

import griffe

# Where a generated section goes: before the example, which stays last (`Examples:` once ExampleSections ran).
_EXAMPLE = re.compile(r"^Examples?:\s*$", re.MULTILINE)


def _is_option_class(cls):
    return any(member.is_attribute and str(member.value).startswith("option_field(")
               for member in cls.members.values() if not member.is_alias)


def _runtime_class(cls):
    """The class itself, imported from the checkout Griffe read (not an installed copy of kgantl elsewhere)."""
    root = str(Path(cls.package.filepath).resolve().parents[1])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, root)
    try:
        module = importlib.import_module(cls.module.path)
    finally:
        sys.path.remove(root)
    if Path(module.__file__).resolve() != Path(cls.module.filepath).resolve():
        raise RuntimeError(f"{cls.module.path} was imported from {module.__file__}, not the documented "
                           f"{cls.module.filepath}: build the docs in a process that has not imported another kgantl")
    return getattr(module, cls.name)


def _shown_default(field):
    """The default as `--help` shows it: the declared `default_text`, else the value; None where the help text
    says it (a default of None or '')."""
    if "default_text" in field.metadata:
        return _literal(field.metadata["default_text"])
    return None if field.default in (None, "") else f"`{field.default!r}`"


def field_line(field):
    """One `Attributes:` item: the help text, the allowed values and the default, on one line (one item)."""
    choices = field.metadata.get("choices")
    shown = _shown_default(field)
    details = ([f"one of {', '.join(f'`{choice}`' for choice in choices)}"] if choices else []) + \
        (["required"] if field.default is dataclasses.MISSING else [f"default: {shown}"] if shown else [])
    return f"{field.name}: {_literal(field.metadata['help'])}" + (f" ({'; '.join(details)})" if details else "")


def _literal(text):
    """Plain text as Markdown that shows it as written: `<run>` is no HTML tag, `[:W]` no link, `_` no emphasis."""
    return re.sub(r"([\\`*_\[\]])", r"\\\1", html.escape(text, quote=False))


class OptionFields(griffe.Extension):
    def on_class(self, *, cls, **kwargs):
        if not _is_option_class(cls):
            return
        fields = [field for field in dataclasses.fields(_runtime_class(cls)) if "help" in field.metadata]
        section = "Attributes:\n" + "".join(f"    {field_line(field)}\n" for field in fields)
        if cls.docstring is None:
            cls.docstring = griffe.Docstring(section, parent=cls)
            return
        value = cls.docstring.value
        match = _EXAMPLE.search(value)
        at = match.start() if match else len(value)
        cls.docstring.value = f"{value[:at].rstrip()}\n\n{section}\n{value[at:]}".rstrip()
