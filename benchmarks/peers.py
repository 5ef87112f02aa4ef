"""The rules stage, four ways, on the same records: ours, a NumPy floor, zen-engine, durable-rules.

All four judge the seven 2017 per-school resource indicators and the class-size rule, with
the engines' common precedence (no threshold for the stage / out of scope / measure undefined
→ not_applicable; scope or measure unknown → missing_data; else pass or fail), and every
peer's verdicts are checked against ours before its time counts.
"""
from __future__ import annotations

import json
import time
from statistics import median
from typing import Any, Callable

import numpy as np

from edubalance.engines.vector import VectorEngine
from edubalance.model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, Rule
from edubalance.table import Table

#: The 2017 per-school indicators (教督〔2017〕6号 §2.1) and the class-size rule.
RULE_IDS = (
    "national.qualified_teachers_per_100", "national.backbone_teachers_per_100",
    "national.pe_art_teachers_per_100", "national.teaching_aux_area_per_pupil",
    "national.sports_area_per_pupil", "national.equipment_value_per_pupil",
    "national.multimedia_rooms_per_100", "national.class_size",
)
CODES = {"pass": PASS, "fail": FAIL, "na": NOT_APPLICABLE, "missing": MISSING_DATA}
_OPS = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """(median seconds over ``runs`` calls, the last result)."""
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return median(times), out


def scope_items(rule: Rule) -> list[tuple]:
    """A rule's scope as a conjunction of ``("cmp", field, op, number)`` and
    ``("in", field, values)`` items — all the benchmarked rules need; anything else is refused."""
    from edubalance import expr
    if rule.scope is None:
        return []
    nodes = rule.scope.items if isinstance(rule.scope, expr.And) else (rule.scope,)
    items = []
    for node in nodes:
        if (isinstance(node, expr.Compare) and isinstance(node.left, expr.Name)
                and isinstance(node.right, expr.Num) and node.op in _OPS):
            items.append(("cmp", node.left.name, node.op, node.right.value))
        elif isinstance(node, expr.In) and isinstance(node.operand, expr.Name) and not node.negate:
            items.append(("in", node.operand.name, tuple(node.values)))
        else:
            raise ValueError(f"{rule.id}: the peers do not know this scope: {rule.scope}")
    return items


# --- ours ------------------------------------------------------------------------------------

def ours(rules: list[Rule], table: Table) -> np.ndarray:
    return VectorEngine().evaluate(rules, table).status


# --- the NumPy floor: the same comparisons written by hand over the column arrays --------------

def numpy_floor(rules: list[Rule], cols: dict[str, np.ndarray], undefined: dict[str, np.ndarray]) -> np.ndarray:
    stage = cols["stage"]
    n = len(stage)
    is_stage = {s: stage == s for s in ("primary", "junior")}
    scopes: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    out = np.full((len(rules), n), NOT_APPLICABLE, dtype=np.int8)
    for k, rule in enumerate(rules):
        value = cols[rule.measure]
        thr = np.full(n, np.nan)
        has = np.zeros(n, bool)
        for s, t in rule.thresholds.items():
            thr[is_stage[s]] = t
            has |= is_stage[s]
        items = tuple(scope_items(rule))
        if items not in scopes:                      # (true, false) of the conjunction
            true, false = np.ones(n, bool), np.zeros(n, bool)
            for item in items:
                if item[0] == "cmp":
                    v = cols[item[1]]
                    known = ~np.isnan(v)
                    with np.errstate(invalid="ignore"):
                        hit = _OPS[item[2]](v, item[3])
                else:
                    v = cols[item[1]]
                    known = v != None  # noqa: E711 - elementwise over an object array
                    hit = np.isin(v, item[2])
                true &= known & hit
                false |= known & ~hit
            scopes[items] = (true, false)
        in_scope, out_scope = scopes[items]
        unknown = ~in_scope & ~out_scope
        candidate = has & ~out_scope & ~undefined.get(rule.measure, np.zeros(n, bool))
        present = ~np.isnan(value)
        row = out[k]
        row[candidate & (unknown | ~present)] = MISSING_DATA
        judged = candidate & in_scope & present
        with np.errstate(invalid="ignore"):
            ok = _OPS[rule.operator](value, thr)
        row[judged & ok] = PASS
        row[judged & ~ok] = FAIL
    return out


# --- zen-engine: the rules as JDM decision tables ------------------------------------------------

def _cell_number(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


def _scope_cells(item: tuple) -> tuple[str, str, str]:
    """(input column, cell for "this item is false", cell for "this item is unknown")."""
    if item[0] == "cmp":
        negate = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}[item[2]]
        return item[1], f"$ != null and $ {negate} {_cell_number(item[3])}", "$ == null"
    listed = ", ".join(json.dumps(v) for v in item[2])
    return item[1], f"$ != null and not($ in [{listed}])", "$ == null"


def jdm(rules: list[Rule]) -> dict:
    """One decision graph: the request feeds one first-hit decision table per rule.

    Rows follow the engines' precedence: no threshold for the stage, a scope item false, the
    measure undefined → ``na``; a scope item or the measure unknown → ``missing``; then
    ``pass`` / ``fail`` per stage against the threshold written in the table.
    """
    nodes: list[dict] = [{"id": "in", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 0}}]
    edges = []
    for k, rule in enumerate(rules):
        m = rule.measure
        stages = ", ".join(json.dumps(s) for s in rule.thresholds)
        scope = [_scope_cells(item) for item in scope_items(rule)]
        inputs = [("st", "stage"), ("ms", f"{m}__st"), ("m", m)] + [(f"s{j}", f) for j, (f, _, _) in enumerate(scope)]
        rows = [{"st": f"not($ in [{stages}])", "o": '"na"'}]
        rows += [{f"s{j}": false, "o": '"na"'} for j, (_, false, _) in enumerate(scope)]
        rows.append({"ms": '"na"', "o": '"na"'})
        rows += [{f"s{j}": unknown, "o": '"missing"'} for j, (_, _, unknown) in enumerate(scope)]
        rows.append({"ms": '"missing"', "o": '"missing"'})
        for stage, t in rule.thresholds.items():
            rows.append({"st": json.dumps(stage), "m": f"{rule.operator} {_cell_number(t)}", "o": '"pass"'})
            rows.append({"st": json.dumps(stage), "o": '"fail"'})
        columns = [c for c, _ in inputs] + ["o"]
        table = {
            "hitPolicy": "first",
            "inputs": [{"id": c, "name": f, "field": f} for c, f in inputs],
            "outputs": [{"id": "o", "name": rule.id, "field": f"r{k}"}],
            "rules": [{"_id": f"r{k}_{j}", **{c: row.get(c, "") for c in columns}} for j, row in enumerate(rows)],
        }
        nodes.append({"id": f"t{k}", "type": "decisionTableNode", "name": rule.id,
                      "position": {"x": 1, "y": k}, "content": table})
        edges.append({"id": f"a{k}", "sourceId": "in", "targetId": f"t{k}", "type": "edge"})
        edges.append({"id": f"b{k}", "sourceId": f"t{k}", "targetId": "out", "type": "edge"})
    nodes.append({"id": "out", "type": "outputNode", "name": "response", "position": {"x": 2, "y": 0}})
    return {"nodes": nodes, "edges": edges}


def zen_contexts(rules: list[Rule], cols: dict[str, np.ndarray], undefined: dict[str, np.ndarray]) -> list[dict]:
    """One input object per record: stage, the scopes' fields, each measure and its state."""
    measures = sorted({r.measure for r in rules})
    scoped = sorted({item[1] for r in rules for item in scope_items(r)} - set(measures))
    n = len(cols["stage"])
    parts: list[tuple[str, list]] = [("stage", cols["stage"].tolist())]
    for f in scoped:
        v = cols[f]
        parts.append((f, v.tolist() if v.dtype == object else [None if x != x else x for x in v.tolist()]))
    for m in measures:
        v = cols[m]
        na = undefined.get(m, np.zeros(n, bool))
        state = np.where(na, "na", np.where(np.isnan(v), "missing", "ok")).tolist()
        parts.append((m, [None if x != x else x for x in v.tolist()]))
        parts.append((f"{m}__st", state))
    names = [p for p, _ in parts]
    return [dict(zip(names, row)) for row in zip(*(values for _, values in parts))]


def zen_run(rules: list[Rule], contexts: list[dict], how: str) -> tuple[float, np.ndarray]:
    """(seconds inside zen-engine, verdict codes): ``batch`` = ``evaluate_batch`` of every record,
    ``loop`` = one compiled decision, ``evaluate`` per record."""
    import zen

    graph = json.dumps(jdm(rules))
    if how == "batch":
        engine = zen.ZenEngine({"loader": lambda key: graph})
        requests = [{"key": "rules", "context": c} for c in contexts]
        start = time.perf_counter()
        results = engine.evaluate_batch(requests)
        seconds = time.perf_counter() - start
        answers = [r["data"]["result"] for r in results]
    else:
        decision = zen.ZenEngine().create_decision(graph)
        evaluate = decision.evaluate
        start = time.perf_counter()
        answers = [evaluate(c)["result"] for c in contexts]
        seconds = time.perf_counter() - start
    out = np.empty((len(rules), len(contexts)), dtype=np.int8)
    for i, a in enumerate(answers):
        for k in range(len(rules)):
            out[k, i] = CODES[a[f"r{k}"]]
    return seconds, out


# --- durable-rules: our own back end over a sample ---------------------------------------------

def durable(rules: list[Rule], table: Table) -> np.ndarray:
    from edubalance.engines.durable import DurableEngine
    return DurableEngine().evaluate(rules, table).status
