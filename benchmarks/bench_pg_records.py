"""A school's year on the shared PostgreSQL log: moving it in, then the year's report and export.

The log of bench_store.py (2,000 people in 80 groups, 1,000 sessions, about 200,000 check-ins) is
written as a TinyDB file and moved into a throwaway PostgreSQL server (`faceattend db import`'s code:
rows sent a thousand at a time; the reference sends one row a statement, into a second database),
then the year's report and export are built from the database, medians over repeats:
  together          as the commands do it: the sessions' records read a part at a time
  one by one        the reference: two reads a session (check-ins, marks), as before
  TinyDB            the same report and export from the TinyDB file, in the same run

    python benchmarks/bench_pg_records.py [--scale 1.0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_store import build_log  # noqa: E402
from pgserver import LocalServer, new_database  # noqa: E402

from faceattend_tui.attendance import ExportOptions, open_store  # noqa: E402
from faceattend_tui.attendance.export import render  # noqa: E402
from faceattend_tui.attendance.report import build_report, report_csv  # noqa: E402
from faceattend_tui.attendance.sessions import summarize  # noqa: E402
from faceattend_tui.attendance.store import Store  # noqa: E402

YEAR = (date(2025, 9, 1), date(2026, 8, 31))


def median_seconds(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        begin = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - begin)
    return statistics.median(times), result


def year_report(store) -> bytes:
    return report_csv(build_report(store, *YEAR)).encode()


def year_export(store) -> bytes:
    people = {p.id: p for p in store.people()}
    sessions = store.sessions()
    records = store.records_of(s.id for s in sessions)
    summaries = [summarize(store, s, people, records=records[s.id]) for s in sessions]
    return render(summaries, ExportOptions("csv"), store.now())


def row_by_row(self, query, records, values) -> None:
    """The reference for moving in: one statement a row."""
    for record in records:
        self._local.conn.execute(query, values(record))
        self._answered()


def moving_in(source, door: Path, url: str, label: str, insert) -> None:
    with open_store(door, database=url, upgrade_mode="auto") as store:
        store._insert_many = insert.__get__(store)
        begin = time.perf_counter()
        store.import_log(source)
        print(f"{'moving in':12s} {time.perf_counter() - begin:7.1f} s for the whole log ({label})", flush=True)


def one_by_one(store) -> None:
    """Make the store read as the base class does: a session at a time."""
    store.records_of = lambda ids: Store.records_of(store, ids)
    store.outcomes_of = lambda ids: Store.outcomes_of(store, ids)


def measure(label: str, store, repeats: int) -> tuple[bytes, bytes]:
    report_s, report = median_seconds(lambda: year_report(store), repeats)
    export_s, export = median_seconds(lambda: year_export(store), repeats)
    print(f"{label:12s} year report {report_s:7.2f} s   year export {export_s:7.2f} s  (medians of {repeats})",
          flush=True)
    return report, export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply people and sessions")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fa-bench-pg-"))
    people, sessions = int(2000 * args.scale), int(1000 * args.scale)
    written = build_log(root / "attendance.json", people, 80, sessions - sessions // 10, sessions // 10)
    print(f"log: {people} people, 80 groups, {sessions} sessions, {written} check-ins", flush=True)
    server = LocalServer(durable=True).init()
    server.start()
    try:
        url = new_database(server, "bench_records")
        with open_store(root) as source:
            moving_in(source, root / "door-rows", new_database(server, "bench_rows"), "row by row", row_by_row)
        with open_store(root) as source, open_store(root / "door", database=url, upgrade_mode="auto") as store:
            begin = time.perf_counter()
            store.import_log(source)
            print(f"{'moving in':12s} {time.perf_counter() - begin:7.1f} s for the whole log (rows together)",
                  flush=True)
            ours = measure("together", store, args.repeats)
            one_by_one(store)
            reference = measure("one by one", store, args.repeats)
            tiny = measure("TinyDB", source, args.repeats)
        same = ours[0] == reference[0] == tiny[0]
        print(f"reports alike: {same}; exports alike (apart from when made): "
              f"{ours[1].splitlines()[1:] == reference[1].splitlines()[1:]}")
    finally:
        server.remove()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
