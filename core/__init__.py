"""edubalance: judge compulsory-education schools and counties against balanced-development standards.

The public API::

    from edubalance import Evaluator
    report = Evaluator(province="guizhou").evaluate_files(["schools.csv"])
    report.summary(); report.to_dict(); report.exit_code

Input the API cannot judge raises :class:`InvalidInput` (a ``ValueError``) with ``.problems``; a
file that cannot be read :class:`InputError`; a rule or override file that cannot be used
:class:`RulePackError`; a plug-in that cannot be loaded :class:`PluginError`.

Plug-in authors need :func:`province_hooks` (a province pack in a folder), or :data:`hookimpl`
and :class:`PackSource` for more (see ``edubalance.hookspecs``).
"""
from typing import TYPE_CHECKING

#: Where each public name lives. Each is imported on first use: the evaluator pulls in NumPy and
#: the loaders, which a plug-in importing ``hookimpl`` should not pay for, and the command
#: turns the collector off before anything heavy is imported (``edubalance.__main__``).
_HOMES = {"Evaluator": "evaluator", "Report": "report", "PackSource": "rulepack", "RulePackError": "rulepack",
          "InputError": "loading", "InvalidInput": "errors", "Problem": "problems", "hookimpl": "hookspecs",
          "province_hooks": "province", "PluginError": "plugins"}
__all__ = ["Evaluator", "Report", "PackSource", "RulePackError", "InputError", "InvalidInput", "Problem", "hookimpl",
           "province_hooks", "PluginError"]

if TYPE_CHECKING:                                   # what type checkers and editors see
    from .errors import InvalidInput
    from .evaluator import Evaluator
    from .hookspecs import hookimpl
    from .loading import InputError
    from .plugins import PluginError
    from .problems import Problem
    from .province import province_hooks
    from .report import Report
    from .rulepack import PackSource, RulePackError


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module 'edubalance' has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_HOMES})
