"""Planning a roster import at a large site's sizes: what `faceattend people import` and the station's
roster import work out before they write anything (`roster.plan_import`).

Three cases per size, median of --repeat runs, on a real (TinyDB) log:
- new: every line a newcomer with a photo (a first import);
- again: the same file once more (a nightly import that changes nothing);
- claims: a site known only by name (people from photo folders) given its ids, every line claiming one.

    python benchmarks/bench_roster_plan.py [--sizes 2000 10000 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from faceattend_tui.attendance import Attendance, open_store
from faceattend_tui.attendance.roster import ImportPlan, RosterLine, plan_import


def lines(size: int, photos: bool) -> list[RosterLine]:
    return [RosterLine(i + 2, f"S{i:05d}", f"Student {i:05d} Family{i % 97}", ("3A",),
                       Path("photo.jpg") if photos else None) for i in range(size)]


def median_seconds(attendance: Attendance, roster: list[RosterLine], repeat: int) -> tuple[float, ImportPlan]:
    times, plan = [], ImportPlan()
    for _ in range(repeat):
        start = time.perf_counter()
        plan = plan_import(attendance, roster)
        times.append(time.perf_counter() - start)
    return statistics.median(times), plan


def run(size: int, repeat: int) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        with open_store(Path(folder) / "new") as store:
            attendance = Attendance(store)
            seconds, plan = median_seconds(attendance, lines(size, photos=True), repeat)
            assert len(plan.added) == size
            rows.append(f"{size:>7,} new      {seconds:8.2f} s")
            attendance.save_people(plan.added, "people.import")
            seconds, plan = median_seconds(attendance, lines(size, photos=True), repeat)
            assert len(plan.unchanged) == size
            rows.append(f"{size:>7,} again    {seconds:8.2f} s")
        with open_store(Path(folder) / "named") as store:
            attendance = Attendance(store)
            for line in lines(size, photos=False):
                attendance.add_person(line.name)
            seconds, plan = median_seconds(attendance, lines(size, photos=False), repeat)
            assert len(plan.claimed) == size
            rows.append(f"{size:>7,} claims   {seconds:8.2f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("  lines case     plan (median)")
    for size in args.sizes:
        for row in run(size, args.repeat):
            print(row, flush=True)


if __name__ == "__main__":
    main()
