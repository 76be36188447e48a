"""Packages whose public names are imported on first use (PEP 562), so importing a package stays cheap and
a low module can import a sibling without running every module its package exports."""
import importlib


def lazy_exports(package, exports):
    """`__getattr__` and `__dir__` for a package that exports `exports` ({name: defining module}) lazily.

    Args:
        package: the package's `__name__`, for error messages.
        exports: public name -> module that defines it.

    Returns:
        `(__getattr__, __dir__)` to assign at the package's top level.

    Example:
        >>> __getattr__, __dir__ = lazy_exports(__name__, {"evaluate": "kgantl.metrics.evaluate"})
    """
    def __getattr__(name):
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__
