"""Seeded synthetic school and county records, for the differential test and the benchmark.

Not real data: plausible ranges, every school type and location, nine-year schools as two
records, boarding schools, zero-pupil schools, missing values, and values placed exactly on
common thresholds, so that both back ends are exercised where they are most likely to differ.
"""
from __future__ import annotations

import csv
import random
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

PROVINCE_PREFIX = {"guizhou": "52", "shaanxi": "61", "anhui": "34", "national": "11"}
SCHOOL_TYPES = ("primary_school", "junior_school", "nine_year", "twelve_year", "complete_secondary",
                "teaching_point", "special_education")
LOCATIONS = ("urban", "town", "rural")
#: Per-pupil values that sit exactly on thresholds of the bundled packs.
EDGES = {
    "teaching_aux_area_m2": (4.5, 5.8), "sports_area_m2": (7.5, 10.2), "equipment_value_yuan": (2000, 2500),
    "books": (20, 30), "land_area_m2": (20, 25), "dorm_area_m2": (3, 5),
}
OPTIONAL = ("boarders", "classes", "max_class_size", "special_needs_students", "staff", "teachers",
            "teachers_above_required_degree", "teachers_mid_senior_title", "backbone_teachers", "pe_art_teachers",
            "certified_teachers", "land_area_m2", "building_area_m2", "teaching_aux_area_m2", "dorm_area_m2",
            "sports_area_m2", "books", "equipment_value_yuan", "computers", "multimedia_classrooms", "music_rooms",
            "art_rooms", "public_funds_received_yuan", "beds", "multimedia_halls", "crafts_rooms",
            "canteen_area_m2", "max_classroom_floor", "location", "school_type", "is_public", "is_boarding",
            "is_small_rural_school", "dorm_in_basement", "music_room_area_m2", "art_room_area_m2")


def _per_pupil(rng: random.Random, field: str, students: int, low: float, high: float) -> float:
    if field in EDGES and rng.random() < 0.15:
        return rng.choice(EDGES[field]) * students
    return round(rng.uniform(low, high) * students, 1)


def school_record(rng: random.Random, school_id: str, stage: str, province: str, county: str, year: int,
                  school_type: str, location: str, missing_rate: float) -> dict[str, Any]:
    tiny = school_type == "teaching_point" or rng.random() < 0.1
    students = rng.choice([0, 12, 45, 63, 99, 100, 150, 199, 200]) if tiny else rng.randint(100, 2600)
    if rng.random() < 0.01:
        students = 0
    boarding = rng.random() < 0.3
    boarders = rng.randint(0, students) if boarding else 0
    classes = max(1, students // rng.randint(30, 60)) if students else 0
    teachers = max(1, students // rng.randint(12, 25)) if students else rng.randint(0, 2)
    rec: dict[str, Any] = {
        "school_id": school_id, "school_name": f"第{school_id[-4:]}学校", "stage": stage,
        "school_type": school_type, "province": province, "county_code": county, "county_name": f"{county}县",
        "year": year, "location": location, "is_public": rng.random() > 0.05, "is_boarding": boarding,
        "students": students, "boarders": boarders, "classes": classes,
        "max_class_size": rng.choice([30, 45, 46, 50, 51, 55, 56, 65, 66, 70]),
        "special_needs_students": rng.randint(0, min(3, students)),
        "staff": teachers + rng.randint(0, 10), "teachers": teachers,
        "teachers_above_required_degree": rng.randint(0, teachers),
        "teachers_mid_senior_title": rng.randint(0, teachers), "backbone_teachers": rng.randint(0, teachers // 3 + 1),
        "pe_art_teachers": rng.randint(0, teachers // 4 + 1), "certified_teachers": rng.randint(teachers // 2, teachers),
        "land_area_m2": _per_pupil(rng, "land_area_m2", students, 8, 40),
        "building_area_m2": _per_pupil(rng, "building_area_m2", students, 3, 12),
        "teaching_aux_area_m2": _per_pupil(rng, "teaching_aux_area_m2", students, 2, 9),
        "dorm_area_m2": _per_pupil(rng, "dorm_area_m2", boarders, 1, 7),
        "sports_area_m2": _per_pupil(rng, "sports_area_m2", students, 3, 15),
        "books": int(_per_pupil(rng, "books", students, 8, 45)),
        "equipment_value_yuan": _per_pupil(rng, "equipment_value_yuan", students, 600, 4000),
        "computers": rng.randint(0, students // 5 + 1), "multimedia_classrooms": rng.randint(0, classes + 2),
        "music_rooms": rng.randint(0, 3), "art_rooms": rng.randint(0, 3),
        "public_funds_received_yuan": float(rng.randint(0, 1300) * max(students, 1)),
        "beds": boarders + rng.randint(-5, 5) if boarders > 5 else boarders,
        "multimedia_halls": rng.randint(0, 2), "crafts_rooms": rng.randint(0, 2),
        "canteen_area_m2": float(rng.choice([0, 20, 24, 60, 200])), "max_classroom_floor": rng.randint(1, 6),
        "is_small_rural_school": location == "rural" and students < 100 and rng.random() < 0.8,
        "dorm_in_basement": boarding and rng.random() < 0.05,
        "music_room_area_m2": float(rng.choice([60, 90, 96, 120])), "art_room_area_m2": float(rng.choice([60, 90, 96])),
    }
    for key in OPTIONAL:
        if rng.random() < missing_rate:
            rec.pop(key, None)
    return rec


def generate(n: int, seed: int = 0, provinces: tuple[str, ...] = ("guizhou", "shaanxi", "anhui"),
             counties: int | None = None, years: tuple[int, ...] = (2016, 2020, 2023),
             missing_rate: float = 0.03) -> list[dict[str, Any]]:
    """About ``n`` school records (nine-year schools give two) in ``counties`` counties."""
    return list(iter_records(n, seed, provinces, counties, years, missing_rate))


def iter_records(n: int, seed: int = 0, provinces: tuple[str, ...] = ("guizhou", "shaanxi", "anhui"),
                 counties: int | None = None, years: tuple[int, ...] = (2016, 2020, 2023),
                 missing_rate: float = 0.03) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    counties = counties or max(1, n // 70)
    county_list = []
    for c in range(counties):
        province = provinces[c % len(provinces)]
        county_list.append((province, f"{PROVINCE_PREFIX.get(province, '99')}{c:04d}", years[c % len(years)]))
    made = 0
    serial = 0
    while made < n:
        province, county, year = county_list[serial % counties]
        serial += 1
        school_type = rng.choice(SCHOOL_TYPES)
        location = rng.choice(LOCATIONS)
        school_id = f"{county}{serial:04d}"[-10:].rjust(10, "0")
        if school_type in ("nine_year", "twelve_year"):
            stages: tuple[str, ...] = ("primary", "junior")
        elif school_type in ("junior_school", "complete_secondary"):
            stages = ("junior",)
        elif school_type == "special_education":
            stages = (rng.choice(("primary", "junior")),)
        else:
            stages = ("primary",)
        for stage in stages:
            yield school_record(rng, school_id, stage, province, county, year, school_type, location, missing_rate)
            made += 1


#: The national-scale file of the benchmark: 200,000 school records in 2,850 counties.
NATIONAL: dict[str, Any] = {"n": 200_000, "seed": 2024, "provinces": ("guizhou", "shaanxi", "anhui"), "counties": 2_850,
            "missing_rate": 0.03}


def national_slice(start: int, count: int) -> list[dict[str, Any]]:
    """Records ``start`` to ``start + count`` of the national file (the same records: each
    record depends only on those before it, never on how many follow)."""
    return list(islice(iter_records(**NATIONAL), start, start + count))


def county_records(records: list[dict[str, Any]], seed: int = 0, share: float = 0.8) -> list[dict[str, Any]]:
    """A county record for most counties in ``records`` (some counties deliberately have none)."""
    rng = random.Random(seed + 1)
    seen = sorted({(r["county_code"], r["year"], r["province"]) for r in records})
    out = []
    for code, year, province in seen:
        if rng.random() > share:
            continue
        out.append({
            "county_code": code, "year": year, "province": province,
            "teacher_avg_salary_yuan": rng.choice([90000, 100000, 110000]), "civil_servant_avg_salary_yuan": 100000,
            "training_completion_rate": rng.choice([0.95, 1.0]), "rotation_rate": rng.choice([0.08, 0.1, 0.15]),
            "backbone_share_of_rotation": rng.choice([0.1, 0.2, 0.3]),
            "nearby_admission_rate_primary": rng.choice([0.98, 1.0]), "nearby_admission_rate_junior": rng.choice([0.9, 0.95, 1.0]),
            "quality_hs_quota_share": rng.choice([0.4, 0.5, 0.6]), "migrant_children_public_share": rng.choice([0.8, 0.85, 0.9]),
            "junior_retention_rate": rng.choice([0.94, 0.95, 0.99]), "disabled_enrolment_rate": rng.choice([0.9, 0.95, 0.97]),
            "social_recognition_rate": rng.choice([0.8, 0.85, 0.9]), "government_work_score": rng.choice([80, 85, 92]),
            "public_satisfaction_rate": rng.choice([0.8, 0.85, 0.9]),
            "veto_exam_admission": rng.random() < 0.05, "veto_illegal_school_choice": False,
            "veto_key_schools_or_classes": rng.random() < 0.03, "veto_staffing_unfilled": False,
        })
    return out


ENUM_FIELDS = ("stage", "school_type", "location")


def _cell(name: str, value: Any) -> str:
    from .fields import enum_label
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if name in ENUM_FIELDS:
        return enum_label(name, value)
    return str(value)


def write_csv(path: str | Path, records: Iterable[dict[str, Any]], names: list[str] | None = None) -> None:
    """Write records as a government export would: Chinese column labels, enumerations in
    Chinese (小学, 乡村 …), booleans as 是/否, empty cells for missing values (UTF-8)."""
    from .fields import COUNTY_FIELDS, label, school_fields
    records = list(records)
    if names is None:
        used = set().union(*records) if records else set()
        schools = any("school_id" in r for r in records)
        known = school_fields() if schools else COUNTY_FIELDS
        names = [n for n in known if n in used]
        if schools:             # a field a province's pack declares, before the pack is read: under its name
            names += sorted(used - set(names))
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([label(n) for n in names])
        for r in records:
            w.writerow([_cell(n, r.get(n)) for n in names])
    tmp.replace(path)
