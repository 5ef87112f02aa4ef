"""The seeded mutation fuzzer, for a bounded time (``make fuzz`` runs it for longer).

Mutated sample files through ``edubalance evaluate`` / ``validate``: no crash, no hang, and
``read = evaluated + rejected`` in every report (see ``tests/fuzz.py``).
"""
from __future__ import annotations

import os

from fuzz import fuzz

SECONDS = float(os.environ.get("EDUBALANCE_TEST_FUZZ_SECONDS", 20))


def test_mutated_files_never_crash_hang_or_lose_a_record(tmp_path):
    outcome = fuzz(SECONDS, seed=int(os.environ.get("FUZZ_SEED", 2)), case_timeout=30, out=tmp_path)
    assert outcome.runs >= 20, f"only {outcome.runs} cases ran in {SECONDS} s"
    assert not outcome.failures, "\n".join(str(f) for f in outcome.failures[:10])
