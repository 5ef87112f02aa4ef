"""National standards 国家标准: the 2012 and 2017 balance rules and national funding.

Every province pack extends this one. ``pack.yaml`` holds the per-school rules and funding,
``county.yaml`` the county rules (inter-school CVs, government and quality items, vetoes).
"""
from edubalance import province_hooks

edubalance_rule_packs, edubalance_demo_data = province_hooks(__name__, __file__)
