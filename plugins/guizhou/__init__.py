"""Guizhou 贵州: the province's school-running standards, staffing and funding rules.

The pack (``pack.yaml``) extends the national pack; ``cases.yaml`` holds its tests and
``data/`` a sample county for ``edubalance demo guizhou``.
"""
from edubalance import province_hooks

edubalance_rule_packs, edubalance_demo_data = province_hooks(__name__, __file__)
