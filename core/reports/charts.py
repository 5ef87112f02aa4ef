"""Charts of the HTML report, drawn by matplotlib as inline SVG.

Text stays text (``svg.fonttype = 'none'``), so the reader's browser draws the Chinese labels
in its own fonts and nothing has to be downloaded; the SVG goes into the page as it is.
Each function returns one ``<svg>`` element as a string.
"""
from __future__ import annotations

import io
import logging
import math
import re
import warnings
from typing import TYPE_CHECKING, Any, Sequence, cast

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402  (after choosing the back end)
from matplotlib.ticker import MaxNLocator  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

_REF = re.compile(r"#([A-Za-z_][\w.-]*)")
_ID = re.compile(r' id="([^"]+)"')

#: How a verdict is coloured in every chart and table of the page.
COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "missing_data": "#ef8f00", "incomplete": "#ef8f00",
           "not_applicable": "#9e9e9e"}
#: Fonts the browser is asked for, in order; metrics come from the first one matplotlib finds.
FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimHei",
         "WenQuanYi Micro Hei", "DejaVu Sans", "sans-serif"]
#: Above this many schools an indicator is drawn as a histogram instead of one bar per school.
MAX_BARS = 60

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none", "font.family": "sans-serif", "font.sans-serif": FONTS, "font.size": 9,
    "axes.spines.top": False, "axes.spines.right": False, "axes.unicode_minus": False}
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _svg(fig: Figure, salt: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": salt}), warnings.catch_warnings():
        warnings.simplefilter("ignore")          # a missing glyph only changes measured widths
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # matplotlib names every group (figure_1, axes_1 …): drop the names nothing refers to, so
    # that several charts in one page do not repeat ids.
    used = set(_REF.findall(text))
    return _ID.sub(lambda m: m.group(0) if m.group(1) in used else "", text)


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height))


def _margins(fig: Figure, labels: Sequence[str], size: float, title_lines: int = 1, ylabel: bool = False) -> None:
    """Room for the y labels, the title and the x label, worked out from the text's length
    (a Chinese character is about one em wide) rather than by measuring every label, which
    costs a full extra drawing per chart."""
    width, height = fig.get_size_inches()
    em = size / 72
    longest = max((sum(1.0 if ord(ch) > 0x2E80 else 0.6 for ch in str(t)) for t in labels), default=0)
    left = min(0.6, (longest * em + 0.15 + (0.3 if ylabel else 0)) / width)
    top = 1 - (0.12 + 0.19 * title_lines) / height
    bottom = 0.5 / height
    fig.subplots_adjust(left=max(left, 0.08), right=0.97, top=top, bottom=bottom)


def cv_chart(title: str, labels: Sequence[str], values: Sequence[float | None], threshold: float | None,
             salt: str) -> str:
    """A county's CVs for one stage as bars, the threshold as a line; a missing CV is named."""
    with matplotlib.rc_context(_RC):
        fig = _figure(6.4, 0.34 * len(labels) + 1.0)
        ax = fig.add_subplot()
        ys = list(range(len(labels)))[::-1]
        top = max([v for v in values if v is not None] + [threshold or 0]) * 1.15 or 1
        for y, v in zip(ys, values):
            if v is None:
                ax.text(0, y, "  缺数据 missing data", va="center", color=COLOURS["missing_data"])
                continue
            ok = threshold is None or v <= threshold
            ax.barh(y, v, color=COLOURS["pass" if ok else "fail"], height=0.6)
            ax.text(v, y, f" {v:.3f}", va="center", fontsize=8)
        if threshold is not None:
            ax.axvline(threshold, color="#333", linestyle="--", linewidth=1)
            ax.text(threshold, len(labels) - 0.4, f"阈值 {threshold:g}", ha="center", fontsize=8)
        ax.set_yticks(ys, labels)
        ax.set_xlim(0, top)
        ax.set_ylim(-0.7, len(labels) - 0.1)
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_xlabel("差异系数 CV（越小越均衡）")
        _margins(fig, labels, 9, title.count("\n") + 1)
    return _svg(fig, salt)


def indicator_chart(title: str, unit: str, rows: Sequence[dict[str, Any]], salt: str) -> str:
    """Each school's value of one indicator against its threshold (a tick per school), coloured by
    verdict; rows are ``{label, value, threshold, status}``. Many schools give a histogram."""
    rows = [r for r in rows if r["value"] is not None]
    with matplotlib.rc_context(_RC):
        if len(rows) > MAX_BARS:
            fig = _figure(6.4, 2.6)
            ax = fig.add_subplot()
            by = {s: [r["value"] for r in rows if r["status"] == s] for s in ("pass", "fail")}
            ax.hist([by["pass"], by["fail"]], bins=30, stacked=True, label=["达标 pass", "未达标 fail"],
                    color=[COLOURS["pass"], COLOURS["fail"]])
            for t in sorted({r["threshold"] for r in rows if r["threshold"] is not None})[:3]:
                ax.axvline(t, color="#333", linestyle="--", linewidth=1)
            ax.legend(frameon=False)
            ax.set_ylabel("学校数 schools")
        else:
            rows = sorted(rows, key=lambda r: r["value"])
            fig = _figure(6.4, 0.24 * len(rows) + 1.1)
            ax = fig.add_subplot()
            ys = range(len(rows))
            ax.barh(list(ys), [r["value"] for r in rows], height=0.65,
                    color=[COLOURS.get(r["status"], COLOURS["not_applicable"]) for r in rows])
            # A dot at each value, so that a value of 0 that fails is seen too.
            ax.scatter([r["value"] for r in rows], list(ys), s=14, zorder=3,
                       color=[COLOURS.get(r["status"], COLOURS["not_applicable"]) for r in rows])
            marks = [(y, r["threshold"]) for y, r in zip(ys, rows) if r["threshold"] is not None]
            ax.scatter([t for _, t in marks], [y for y, _ in marks], marker="|", s=160, color="#111", zorder=4)
            ax.set_yticks(list(ys), [r["label"] for r in rows], fontsize=7.5)
            ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_title(title, loc="left", fontsize=9.5)
        ax.set_xlabel(f"{unit}    ｜ = 阈值 threshold")
        many = len(rows) > MAX_BARS
        _margins(fig, ["0000"] if many else [r["label"] for r in rows], 7.5, title.count("\n") + 1, ylabel=many)
    return _svg(fig, salt)


def score_chart(scores: Sequence[tuple[float, str]], salt: str) -> str:
    """How many schools reached which score, stacked by status."""
    with matplotlib.rc_context(_RC):
        fig = _figure(6.4, 2.4)
        ax = fig.add_subplot()
        bins = list(range(0, 101, 5))
        groups = [("pass", "达标 pass"), ("fail", "未达标 fail"), ("incomplete", "数据不全 incomplete")]
        data = [[s for s, st in scores if st == k and s is not None] for k, _ in groups]
        ax.hist(data, bins=bins, stacked=True, color=[COLOURS[k] for k, _ in groups],
                label=[t for _, t in groups])
        ax.set_xlim(0, 100)
        ax.set_xlabel("学校得分 school score")
        ax.set_ylabel("学校数 schools")
        cast(MaxNLocator, ax.yaxis.get_major_locator()).set_params(integer=True)     # the default AutoLocator is one
        ax.legend(frameon=False, loc="upper left", fontsize=8)
        ax.set_title("学校得分分布 Distribution of school scores", loc="left", fontsize=10)
        _margins(fig, ["00"], 9, ylabel=True)
    return _svg(fig, salt)


def funding_chart(rows: Sequence[tuple[str, float]], salt: str) -> str:
    """Public-funds shortfall per school (yuan), largest first."""
    rows = sorted(rows, key=lambda r: -r[1])[:MAX_BARS]
    with matplotlib.rc_context(_RC):
        fig = _figure(6.4, 0.26 * len(rows) + 1.1)
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        values = [v for _, v in rows]
        ax.barh(ys, values, color=COLOURS["fail"], height=0.6)
        for y, v in zip(ys, values):
            ax.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
        ax.set_yticks(ys, [name for name, _ in rows], fontsize=8)
        ax.set_xlim(0, max(values) * 1.25 if values else 1)
        ax.set_xlabel("缺口（元/年） shortfall (yuan per year)")
        ax.set_title("公用经费缺口 Public-funds shortfall", loc="left", fontsize=10)
        _margins(fig, [name for name, _ in rows], 8)
    return _svg(fig, salt)


def finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
