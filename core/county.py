"""County evaluation: the county table (:mod:`edubalance.county_table`), the schools it names
(:mod:`edubalance.county_listings`), the inter-school CVs (:mod:`edubalance.cv`) and the
county report entries (:mod:`edubalance.county_report`). This module gathers their public names.
"""
from __future__ import annotations

from .county_listings import INDICATOR_FIELDS
from .county_report import county_reports
from .county_table import COUNTY_RECORD_FIELDS, DEFAULT_CV_2012, DEFAULT_CV_2017, build_county_table

__all__ = ["COUNTY_RECORD_FIELDS", "DEFAULT_CV_2012", "DEFAULT_CV_2017", "INDICATOR_FIELDS",
           "build_county_table", "county_reports"]
