"""Every public name of every opslib package: in a sorted ``__all__``, importable, documented.

Names come from each package's own ``__all__`` (no hand-copied lists). A class or function is
documented by its own docstring; a constant or type alias by the string literal right after
its assignment (the attribute docstring Sphinx reads).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import itertools
import pkgutil
import re
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

import opslib

README = Path(__file__).resolve().parents[1] / "README.md"


def _public_modules() -> list[str]:
    names = ["opslib"]
    for info in pkgutil.walk_packages(opslib.__path__, "opslib."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _exports() -> list[tuple[str, str]]:
    pairs = []
    for name in _public_modules():
        module = importlib.import_module(name)
        pairs += [(name, export) for export in getattr(module, "__all__", ())]
    return pairs


@cache
def _attribute_docs(package: str) -> frozenset[str]:
    """Names assigned in ``package``'s source files with a string literal right after."""
    module = importlib.import_module(package)
    origin = Path(inspect.getfile(module))
    files = sorted(origin.parent.glob("*.py")) if origin.name == "__init__.py" else [origin]
    documented: set[str] = set()
    for path in files:
        body = ast.parse(path.read_text()).body
        for stmt, after in itertools.pairwise(body):
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else [stmt.target]
                if isinstance(stmt, ast.AnnAssign)
                else []
            )
            if (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                documented |= {t.id for t in targets if isinstance(t, ast.Name)}
    return frozenset(documented)


def _own_doc(obj: object) -> str:
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__") or ""
        if dataclasses.is_dataclass(obj) and re.fullmatch(rf"{obj.__name__}\(.*\)", doc, re.S):
            return ""  # the signature dataclasses write when a class has no docstring
        return str(doc)
    return inspect.getdoc(obj) or ""


@pytest.mark.parametrize("module_name", _public_modules())
def test_every_public_module_has_a_sorted_all_and_a_docstring(module_name: str) -> None:
    module: ModuleType = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), f"{module_name} has no docstring"
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} has no __all__"
    assert len(set(exported)) == len(exported)
    assert list(exported) == sorted(exported, key=lambda n: (not n.isupper(), n))


_EXPORTS = _exports()


@pytest.mark.parametrize(("module_name", "name"), _EXPORTS, ids=[f"{m}.{n}" for m, n in _EXPORTS])
def test_every_exported_name_is_importable_and_documented(module_name: str, name: str) -> None:
    module = importlib.import_module(module_name)
    obj = getattr(module, name)  # the name resolves (also the top level's lazy names)
    exec(f"from {module_name} import {name}", {})
    if inspect.isclass(obj) or inspect.isroutine(obj):
        assert _own_doc(obj).strip(), f"{module_name}.{name} has no docstring"
    elif not inspect.ismodule(obj):
        assert name in _attribute_docs(module_name), (
            f"{module_name}.{name} has no attribute docstring (a string literal right after it)"
        )


@pytest.mark.parametrize("name", opslib.__all__)
def test_the_top_level_is_documented_in_the_readme(name: str) -> None:
    section = README.read_text().split("## Using the library", 1)[1].split("\n## ", 1)[0]
    assert f"`{name}`" in section or re.search(rf"\b{name}\b", section), (
        f"opslib.{name} is not in the README's 'Using the library'"
    )
