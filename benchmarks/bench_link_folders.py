"""Photo folders linked to a roster imported without photos, at a large site's sizes.

A roster is imported first (no photo column), then a folder of photos per person is dropped in, named by
id; `faceattend extract`, the station's start and its roster import link each folder to its person
(`Attendance.sync_people`). This times that link on an in-memory log, median of --repeat runs per size,
beside the reference of looking through everyone without photos for each folder (what it did before).

    python benchmarks/bench_link_folders.py [--sizes 1000 4000 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from faceattend_tui.attendance import Attendance, open_store
from faceattend_tui.attendance.models import Person
from faceattend_tui.attendance.sessions import Waiting, called

REFERENCE_UP_TO = 2000  # the reference grows with the square of the roster: not run beyond this


def roster(size: int) -> list[Person]:
    now = datetime(2026, 9, 1, tzinfo=timezone.utc)
    return [Person(f"S{i:05d}", f"Student Number {i:05d}", now) for i in range(size)]


def linked(people: list[Person]) -> int:
    """What sync_people does for each new folder: the person it is named for."""
    waiting = Waiting(people)
    found = 0
    for person in people:
        found += waiting.take(person.id) is not None
    return found


def linked_by_looking_through(people: list[Person]) -> int:
    """The reference: everyone without photos looked through for each folder."""
    without = {p.id: p for p in people}
    found = 0
    for person in people:
        waiting = list(without.values())
        by_id = [p for p in waiting if p.id == person.id]
        by_name = called(waiting, person.id)  # worked out whether or not the id found them
        match = by_id[0] if by_id else by_name[0] if len(by_name) == 1 else None
        if match is not None:
            del without[match.id]
            found += 1
    return found


def median_seconds(run, people: list[Person], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        assert run(people) == len(people)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def whole_sync(size: int) -> float:
    """Attendance.sync_people on a real (TinyDB) log of `size` people without photos."""
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "data") as store:
        attendance = Attendance(store)
        attendance.save_people(roster(size), "people.import")
        start = time.perf_counter()
        result = attendance.sync_people({f"S{i:05d}": 3 for i in range(size)})
        seconds = time.perf_counter() - start
        assert len(result.attached) == size
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'people':>8} {'link':>10} {'reference':>11} {'sync_people (log)':>18}")
    for size in args.sizes:
        people = roster(size)
        link = median_seconds(linked, people, args.repeat)
        reference = (f"{median_seconds(linked_by_looking_through, people, 1):9.2f} s" if size <= REFERENCE_UP_TO
                     else "    (skipped)")
        print(f"{size:>8} {link:8.3f} s {reference:>11} {whole_sync(size):16.2f} s")


if __name__ == "__main__":
    main()
