"""Reports for people: the Excel workbook and the self-contained HTML page.

Registered as the plug-in ``edubalance.reports`` through the same hooks a province plug-in would
use to add its own form (``edubalance_report_formats`` and ``edubalance_render_report``).
"""
from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def edubalance_report_formats():
    return {"xlsx": {"suffixes": [".xlsx"], "title": {"zh": "Excel 工作簿", "en": "Excel workbook"}},
            "html": {"suffixes": [".html", ".htm"], "title": {"zh": "网页报告（含图表，可离线打印）",
                                                              "en": "HTML report with charts, offline and printable"}}}


@hookimpl(trylast=True)
def edubalance_render_report(report, fmt, path):
    if fmt not in ("xlsx", "html"):
        return None
    if path is None:
        raise ValueError(f"{fmt} 报告需要输出文件 a {fmt} report needs an output file: use -o report.{fmt}")
    if fmt == "xlsx":
        from .xlsx import write_xlsx
        write_xlsx(report, path)
    else:
        from .html import write_html
        write_html(report, path)
    return True
