"""The public API is documented and visible to tools: numpydoc sections, names, no dead exports.

Every name in the ``__all__`` of ``ivfast`` and of its public subpackages must resolve, and every
public function, class and public method there has a numpydoc docstring whose Parameters (or, for
dataclasses, Attributes) name exactly the signature's arguments and which has a Returns section
when the function returns a value.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import typing

import pytest

import numpydoc.docscrape as numpydoc_docscrape
pytest.importorskip("torch")

PUBLIC_MODULES = [
    "ivfast", "ivfast.arbitrage", "ivfast.black", "ivfast.chain", "ivfast.completion", "ivfast.datasets",
    "ivfast.export", "ivfast.models", "ivfast.pricing", "ivfast.protocols", "ivfast.surface", "ivfast.surrogate",
    "ivfast.svi", "ivfast.workflow",
]


def _public_objects():
    seen = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{obj.__module__}.{obj.__qualname__}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    func = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                    if not attr.startswith("_") and inspect.isfunction(func):
                        yield f"{obj.__module__}.{obj.__qualname__}.{attr}", func


def _arguments(func, skip_first: bool) -> list[str]:
    params = list(inspect.signature(func).parameters)
    return params[1:] if skip_first else params


def _documented(doc) -> list[str]:
    names = []
    for section in ("Parameters", "Other Parameters", "Attributes"):
        for item in doc[section]:
            names += [n.strip().lstrip("*") for n in item.name.split(",")]
    return names


def _returns_value(func) -> bool:
    try:
        hints = typing.get_type_hints(func) if func.__annotations__ else {}
    except NameError:  # a name imported under TYPE_CHECKING: read the annotation's text
        text = func.__annotations__.get("return", inspect.Signature.empty)
        return text not in ("None", "NoReturn", "typing.NoReturn", inspect.Signature.empty)
    ret = hints.get("return", inspect.Signature.empty)
    return ret not in (None, type(None), inspect.Signature.empty, typing.NoReturn)


OBJECTS = dict(_public_objects())


def test_every_exported_name_resolves():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, f"{module_name}.__all__ names {missing}"
        assert set(module.__all__) <= set(dir(module)), f"{module_name}: __dir__ hides exported names"


@pytest.mark.parametrize("path", sorted(OBJECTS))
def test_public_docstrings_document_the_signature(path):
    obj = OBJECTS[path]
    assert inspect.getdoc(obj), f"{path}: no docstring"
    if inspect.isclass(obj):
        doc = numpydoc_docscrape.ClassDoc(obj, config={"show_class_members": False})
        init = obj.__init__
        # Enums are made from their values, not constructed with documented arguments.
        plain = init is object.__init__ or issubclass(obj, enum.Enum)
        arguments = [] if plain else _arguments(init, skip_first=True)
    else:
        doc = numpydoc_docscrape.FunctionDoc(obj)
        owner = getattr(importlib.import_module(obj.__module__), obj.__qualname__.split(".")[0], None)
        method = "." in obj.__qualname__ and not isinstance(vars(owner).get(obj.__name__), staticmethod)
        arguments = _arguments(obj, skip_first=method)
    documented = _documented(doc)
    undocumented = [a for a in arguments if a not in documented]
    assert not undocumented, f"{path}: arguments without a Parameters entry: {undocumented}"
    unknown = [n for item in doc["Parameters"] for n in (x.strip().lstrip("*") for x in item.name.split(","))
               if n not in arguments]
    assert not unknown, f"{path}: Parameters entries that are not arguments: {unknown}"
    if not inspect.isclass(obj) and _returns_value(obj):
        assert doc["Returns"] or doc["Yields"], f"{path}: returns a value but has no Returns section"
