"""The plug-in manager: one per Evaluator, never global.

The core registers its own stages (``edubalance.defaults``) and report formats
(``edubalance.reports``: Excel, HTML) first; province plug-ins come from the
entry-point group ``edubalance.plugins.v1`` — the bundled provinces too, so a new province takes
exactly the path they take. ``check_pending()`` makes a misspelled hook fail at once.
"""
from __future__ import annotations

import importlib
import os
from typing import Iterable

import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "edubalance.plugins.v1"
DISABLE_AUTOLOAD_ENV = "EDUBALANCE_DISABLE_PLUGIN_AUTOLOAD"


class PluginError(ValueError):
    """A plug-in that cannot be loaded; the message says which and why."""


def plugin_manager(plugins: Iterable[object | str] = (), autoload: bool | None = None) -> pluggy.PluginManager:
    """A ready manager: core defaults, entry-point plug-ins (unless disabled), then ``plugins``.

    ``plugins`` may be modules or importable module names (like pytest's ``-p``).
    """
    from . import defaults, readers, reports

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(defaults, name="edubalance.defaults")
    pm.register(readers, name="edubalance.readers")
    pm.register(reports, name="edubalance.reports")
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    if autoload:
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken third-party plug-in must not become a traceback
            raise PluginError(f"a plug-in in '{ENTRY_POINT_GROUP}' failed to load: {exc}") from exc
    module: object
    name: str | None
    for plugin in plugins:
        if isinstance(plugin, str):
            try:
                module = importlib.import_module(plugin)
            except ImportError as exc:
                raise PluginError(f"cannot import plug-in '{plugin}': {exc}") from None
            name = plugin
        else:
            module, name = plugin, getattr(plugin, "__name__", None)
        if (name is None or pm.get_plugin(name) is None) and not pm.is_registered(module):
            pm.register(module, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from None
    return pm


def describe_plugins(pm: pluggy.PluginManager) -> list[dict]:
    """Name, module file and implemented hooks of every registered plug-in."""
    dist = {id(p): d for p, d in pm.list_plugin_distinfo()}
    out = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda x: x[0]):
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        info = dist.get(id(plugin))
        out.append({
            "name": name,
            "module": getattr(plugin, "__name__", repr(plugin)),
            "distribution": f"{info.project_name} {info.version}" if info else "",
            "hooks": hooks,
        })
    return out
