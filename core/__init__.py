"""edubalance: judge compulsory-education schools and counties against balanced-development standards.

The public API::

    from edubalance import Evaluator
    report = Evaluator(province="guizhou").evaluate_files(["schools.csv"])
    report.summary(); report.to_dict(); report.exit_code

Input the API cannot judge raises :class:`InvalidInput` (a ``ValueError``) with ``.problems``.

Plug-in authors need :func:`province_hooks` (a province pack in a folder), or :data:`hookimpl`
and :class:`PackSource` for more (see ``edubalance.hookspecs``).
"""
from .hookspecs import hookimpl
from .province import province_hooks
from .rulepack import PackSource, RulePackError

__all__ = ["Evaluator", "Report", "PackSource", "RulePackError", "InputError", "InvalidInput", "Problem", "hookimpl",
           "province_hooks"]


def __getattr__(name):
    # The evaluator pulls in NumPy and the loaders; plug-ins importing ``hookimpl`` should not pay for it.
    if name == "Evaluator":
        from .evaluator import Evaluator
        return Evaluator
    if name == "Report":
        from .report import Report
        return Report
    if name == "InvalidInput":
        from .errors import InvalidInput
        return InvalidInput
    if name == "Problem":
        from .problems import Problem
        return Problem
    if name == "InputError":
        from .loading import InputError
        return InputError
    raise AttributeError(name)
