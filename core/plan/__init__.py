"""The remediation planner: the least additions that make schools and counties pass, and their cost.

``Evaluator.plan`` and ``edubalance plan`` are the entry points; :mod:`.planner` puts the steps
together — :mod:`.levers` (what can be added), :mod:`.probe` (judging candidates),
:mod:`.school` (per-school plans), :mod:`.counties` and :mod:`.balance` (county CVs),
:mod:`.costs` and :mod:`.totals` (prices, sums),
:mod:`.whatif` (applying a plan to the records), :mod:`.excel` (the workbook).
"""
from .planner import PLAN_VERSION, TARGETS, Planner

__all__ = ["Planner", "PLAN_VERSION", "TARGETS"]
