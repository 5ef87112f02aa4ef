"""Shared fixtures: evaluators are built once per session (packs are read once)."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def vector_evaluator():
    from edubalance import Evaluator
    return Evaluator(engine="vector")


@pytest.fixture(scope="session")
def durable_evaluator():
    from edubalance import Evaluator
    return Evaluator(engine="durable")
