"""What a province plug-in needs to say: "my pack is in this folder, my sample county in data/".

A province package's ``__init__.py`` is then two lines::

    from edubalance import province_hooks
    edubalance_rule_packs, edubalance_demo_data = province_hooks(__name__, __file__)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .hookspecs import hookimpl
from .rulepack import PackSource, read_pack_file


def province_hooks(module: str, init_file: str, demo: str | None = None) -> tuple[Callable, Callable]:
    """The ``edubalance_rule_packs`` and ``edubalance_demo_data`` hooks of a plug-in package.

    The pack is the folder's ``pack.yaml`` (and ``county.yaml``, cases …); the demo, if the
    folder has ``data/``, is its files (schools before the county), under the name ``demo``
    (default: the pack id).
    """
    here = Path(init_file).parent

    @hookimpl
    def edubalance_rule_packs() -> list[PackSource]:
        return [PackSource.from_directory(here, plugin=module)]

    @hookimpl
    def edubalance_demo_data() -> dict[str, list[str]]:
        files = sorted((here / "data").glob("demo_*"), key=lambda p: ("county" in p.name, p.name))
        if not files:
            return {}
        name = demo or read_pack_file(here / "pack.yaml")["pack"]
        return {name: [str(p) for p in files]}

    return edubalance_rule_packs, edubalance_demo_data
