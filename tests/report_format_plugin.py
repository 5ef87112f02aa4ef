"""A report-format plug-in for the service tests: one format written as a file, one as a folder."""
from __future__ import annotations

import json

from edubalance import hookimpl


@hookimpl
def edubalance_report_formats():
    return {"counts": {"suffixes": [".counts.txt"], "title": {"zh": "计数", "en": "counts"}},
            "folder": {"suffixes": [], "title": {"zh": "文件夹", "en": "folder"}}}


@hookimpl
def edubalance_render_report(report, fmt, path):
    if fmt == "counts":
        path.write_text(json.dumps(report.summary()["records"]), encoding="utf-8")
        return True
    if fmt == "folder":
        path.mkdir()
        (path / "summary.json").write_text(json.dumps(report.summary()), encoding="utf-8")
        (path / "schools.txt").write_text("\n".join(s["school_id"] for s in report.schools), encoding="utf-8")
        return True
    return None
