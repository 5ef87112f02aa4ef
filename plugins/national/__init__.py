"""National standards 国家标准: the 2012 and 2017 balance rules and national funding.

Every province pack extends this one. ``pack.yaml`` holds the per-school rules and funding,
``county.yaml`` the county rules (inter-school CVs, government and quality items, vetoes).
"""
from pathlib import Path

from edubalance import PackSource, hookimpl

HERE = Path(__file__).parent


@hookimpl
def edubalance_rule_packs():
    return [PackSource.from_directory(HERE, plugin=__name__)]
