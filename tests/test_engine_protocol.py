"""The rule back ends satisfy one Engine protocol, and every hook's parameters are typed."""
from __future__ import annotations

import importlib
import inspect
import typing

import pytest

from edubalance import hookspecs
from edubalance.engines import Engine
from edubalance.engines.durable import DurableEngine
from edubalance.engines.vector import VectorEngine
from edubalance.plugins import plugin_manager


def hook_functions():
    return [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("edubalance_")]


@pytest.mark.parametrize("factory", [VectorEngine, DurableEngine])
def test_the_core_engines_are_engines(factory):
    engine = factory()
    assert isinstance(engine, Engine)
    assert isinstance(engine.name, str) and engine.name
    want = inspect.signature(Engine.evaluate).parameters
    have = inspect.signature(type(engine).evaluate).parameters
    assert list(have) == list(want)
    assert have["progress"].default is None


def test_every_registered_engine_factory_makes_an_engine():
    pm = plugin_manager()
    factories = {name: f for found in pm.hook.edubalance_engines() for name, f in (found or {}).items()}
    assert {"vector", "durable"} <= set(factories)
    for name, factory in factories.items():
        engine = factory()
        assert isinstance(engine, Engine) and engine.name == name


def test_an_object_without_evaluate_is_not_an_engine():
    class Named:
        name = "x"
    assert not isinstance(Named(), Engine)


#: Where each name the hook annotations use lives (hookspecs imports them only for type checkers).
_HOMES = {"Engine": "engines", "LoadedFile": "loading", "Rule": "model", "RuleResults": "model",
          "RuleSet": "model", "Report": "report", "PackSource": "rulepack", "Table": "table",
          "Problem": "validation"}


def _names() -> dict[str, object]:
    return {name: getattr(importlib.import_module(f"edubalance.{home}"), name) for name, home in _HOMES.items()}


@pytest.mark.parametrize("hook", hook_functions(), ids=lambda f: f.__name__)
def test_every_hook_parameter_and_result_is_typed(hook):
    hints = typing.get_type_hints(hook, localns=_names())
    params = list(inspect.signature(hook).parameters)
    assert set(params) <= set(hints), f"{hook.__name__}: untyped {sorted(set(params) - set(hints))}"
    assert "return" in hints
