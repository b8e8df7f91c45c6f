"""Every documented ``name : type, default=value`` of a public estimator is its real default."""

from __future__ import annotations

import ast
import inspect
import re

import pytest

import neuroattn.estimators as est_mod

ESTIMATORS = [getattr(est_mod, n) for n in est_mod.__all__
              if inspect.isclass(getattr(est_mod, n)) and hasattr(getattr(est_mod, n), "fit")]
PARAM = re.compile(r"^    (\w+(?:, \w+)*) : [^\n]*?default=([^\n]+)$", re.M)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_documented_defaults_match_the_signature(cls):
    signature = inspect.signature(cls.__init__).parameters
    documented = PARAM.findall(cls.__doc__ or "")
    assert documented, f"{cls.__name__} documents no defaults"
    for names, text in documented:
        for name in names.split(", "):
            # A documented default of a name the constructor lacks is stale text.
            assert name in signature, f"{cls.__name__} documents {name!r}, not a parameter"
            actual = signature[name].default
            try:
                value = ast.literal_eval(text.strip())
            except (ValueError, SyntaxError):  # e.g. default=STAN's
                value = text.strip()
            assert value == actual, (
                f"{cls.__name__}.{name}: documented default={text.strip()}, "
                f"signature has {actual!r}")


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_constructor_parameter_is_documented(cls):
    doc = cls.__doc__ or ""
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        entry = "**kwargs" if param.kind is param.VAR_KEYWORD else name
        assert re.search(rf"^    (?:\w+, )*{re.escape(entry)}(?:, \w+)*(?: :|$)", doc, re.M), (
            f"{cls.__name__} does not document {entry}")
