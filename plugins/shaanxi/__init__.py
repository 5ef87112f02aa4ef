"""Shaanxi 陕西: the province's school-running standards, staffing and funding rules.

The pack (``pack.yaml``) extends the national pack; ``cases.yaml`` holds its tests and
``data/`` a sample county for ``edubalance demo shaanxi``.
"""
from pathlib import Path

from edubalance import PackSource, hookimpl

HERE = Path(__file__).parent


@hookimpl
def edubalance_rule_packs():
    return [PackSource.from_directory(HERE, plugin=__name__)]


@hookimpl
def edubalance_demo_data():
    return {"shaanxi": [str(HERE / "data" / "demo_schools.csv"), str(HERE / "data" / "demo_county.csv")]}
