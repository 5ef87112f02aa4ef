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


def _assert_identical(a, b, where="entry"):
    """Equal values of the same types all the way down (``1 == 1.0`` would hide a change),
    with dict keys in the same order."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _assert_identical(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{where}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture
def identical():
    """``identical(a, b, where)``: assert two report values are the same, types and key order too."""
    return _assert_identical


@pytest.fixture()
def run():
    """``run(*args)``: the ``edubalance`` command in this process; never a traceback."""
    from click.testing import CliRunner

    from edubalance.cli import main
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert "Traceback" not in result.output
        return result
    return invoke
