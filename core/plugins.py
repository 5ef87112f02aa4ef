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
            raise PluginError(_load_failure(pm, exc)) from exc
    module: object
    name: str | None
    for plugin in plugins:
        if isinstance(plugin, str):
            try:
                module = importlib.import_module(plugin)
            except ImportError as exc:
                raise PluginError(f"无法导入插件 '{plugin}' / cannot import plug-in '{plugin}': {exc}") from None
            name = plugin
        else:
            module, name = plugin, getattr(plugin, "__name__", None)
        if (name is None or pm.get_plugin(name) is None) and not pm.is_registered(module):
            pm.register(module, name=name)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(_unknown_hook(pm, exc)) from None
    return pm


def _load_failure(pm: pluggy.PluginManager, exc: Exception) -> str:
    """Which entry-point plug-in failed, and why (pluggy's error does not say which): pluggy
    registers the group's entry points in the order of ``distributions()``, so it is the first
    one not registered."""
    from importlib.metadata import distributions

    for dist in distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and not pm.has_plugin(ep.name) and not pm.is_blocked(ep.name):
                origin = f"{ep.value}, {dist.metadata['Name']} {dist.version}"
                return (f"插件 {ep.name}（{origin}）加载失败 / plug-in {ep.name} ({origin}) in "
                        f"'{ENTRY_POINT_GROUP}' failed to load: {type(exc).__name__}: {exc}")
    return f"插件加载失败 / a plug-in in '{ENTRY_POINT_GROUP}' failed to load: {type(exc).__name__}: {exc}"


def _unknown_hook(pm: pluggy.PluginManager, exc: pluggy.PluginValidationError) -> str:
    """A hook implementation no hookspec names (a misspelling, as a rule): which plug-in, and
    the hook it was probably meant to be."""
    import difflib                                  # only for a message

    known = [n for n in vars(pm.hook) if not n.startswith("_") and getattr(pm.hook, n).has_spec()]
    unknown = [n for n in vars(pm.hook) if not n.startswith("_") and not getattr(pm.hook, n).has_spec()
               and any(impl.plugin is exc.plugin for impl in getattr(pm.hook, n).get_hookimpls())]
    if not unknown:
        return str(exc)
    close = difflib.get_close_matches(unknown[0], known, n=1)
    who = pm.get_name(exc.plugin) or repr(exc.plugin)
    return (f"插件 {who} 实现了不存在的钩子 '{unknown[0]}'" + (f"（是否应为 '{close[0]}'）" if close else "")
            + f" / plug-in {who} implements '{unknown[0]}', which is no hook"
            + (f"; did you mean '{close[0]}'?" if close else "") + " (edubalance.hookspecs lists them)")


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
