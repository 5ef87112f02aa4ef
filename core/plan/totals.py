"""The plan's totals: cost by county, stage and item, the ranking of schools, the counts."""
from __future__ import annotations

from collections import defaultdict
from typing import Any


def totals(schools: list[dict]) -> dict[str, Any]:
    by_county: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_stage: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_item: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for s in schools:
        for item, yuan in s["cost"]["by_item"].items():
            by_item[item]["yuan"] += yuan
            by_item[item]["quantity"] += s["quantities"].get(item, 0.0)
        # every county and stage has its three sums, a school that costs nothing included
        for bucket, key in ((by_county, f"{s['county_code']}/{s['year']}"), (by_stage, s["stage"])):
            bucket[key]["yuan"] += s["cost"]["first_year_yuan"]
            bucket[key]["once_yuan"] += s["cost"]["once_yuan"]
            bucket[key]["annual_yuan"] += s["cost"]["annual_yuan"]
    once = sum(s["cost"]["once_yuan"] for s in schools)
    annual = sum(s["cost"]["annual_yuan"] for s in schools)

    def rounded(d):
        return {k: {kk: round(vv, 2) for kk, vv in v.items()} for k, v in sorted(d.items())}
    return {"by_county": rounded(by_county), "by_stage": rounded(by_stage), "by_item": rounded(by_item),
            "once_yuan": round(once, 2), "annual_yuan": round(annual, 2), "first_year_yuan": round(once + annual, 2)}


def ranking(schools: list[dict]) -> list[dict[str, Any]]:
    ranked = sorted((s for s in schools if s["cost"]["first_year_yuan"] > 0),
                    key=lambda s: (-s["cost"]["first_year_yuan"], s["school_id"], s["stage"]))
    return [{"rank": n + 1, "school_id": s["school_id"], "stage": s["stage"], "school_name": s["school_name"],
             "county_code": s["county_code"], "first_year_yuan": s["cost"]["first_year_yuan"],
             "once_yuan": s["cost"]["once_yuan"], "annual_yuan": s["cost"]["annual_yuan"]}
            for n, s in enumerate(ranked)]


def summary(schools, county_plans, before, after) -> dict[str, Any]:
    return {
        "schools": len(schools),
        "schools_with_additions": sum(1 for s in schools if s["additions"]),
        "schools_passing_before": sum(1 for s in schools if s["status_before"] == "pass"),
        "schools_passing_after": sum(1 for s in schools if s["status_after"] == "pass"),
        "schools_verified": sum(1 for s in schools if s["verified"]),
        "schools_not_fixable_by_additions": sum(1 for s in schools if s["structural"]),
        "county_stages_planned": sum(len(c["stages"]) for c in county_plans),
        "county_stages_verified": sum(1 for c in county_plans for sp in c["stages"].values() if sp["verified"]),
        "counties_before": before.get("summary", {}).get("counties"),
        "counties_after": after.get("summary", {}).get("counties"),
    }
