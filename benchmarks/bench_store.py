"""Time the attendance log at 5,000 people and 20,000 check-ins.

Prints plain lines: median open time, median check-in write (journal) time,
and, for comparison, the cost of one full atomic rewrite of the TinyDB file.
Run: .venv/bin/python benchmarks/bench_store.py [DIR]  (DIR: where to put the temp log;
fsync cost depends on the disk, so point it at the real data disk)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faceattend_tui.attendance.common import atomic_write  # noqa: E402
from faceattend_tui.attendance.models import AuditEntry, Checkin, Person, Session  # noqa: E402
from faceattend_tui.attendance.store import SCHEMA_VERSION, Store  # noqa: E402

PEOPLE = 5_000
CHECKINS = 20_000
PER_SESSION = 500
T0 = datetime(2024, 9, 2, 8, 0, tzinfo=timezone(timedelta(hours=2)))


def build_log(path: Path) -> None:
    """Write a log file of the target size directly (much faster than 20,000 fsyncs)."""
    people = {str(i + 1): Person(f"person-{i:05d}", T0, images=5).to_doc() for i in range(PEOPLE)}
    sessions, checkins = {}, {}
    for n in range(CHECKINS // PER_SESSION):
        start = T0 + timedelta(days=n)
        sessions[str(n + 1)] = Session(n + 1, f"class {n}", start, start + timedelta(hours=1), 10).to_doc()
        for k in range(PER_SESSION):
            when = start + timedelta(seconds=5 * k)
            doc = Checkin(n + 1, f"person-{k:05d}", when, 0.71, k, late=k > 120, last_seen=when).to_doc()
            checkins[str(len(checkins) + 1)] = doc
    meta = {"1": {"schema_version": SCHEMA_VERSION, "created": T0.isoformat()}}
    data = {"meta": meta, "people": people, "sessions": sessions, "checkins": checkins, "audit": {}}
    atomic_write(path, json.dumps(data, separators=(",", ":")).encode())


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    where = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        path = Path(tmp) / "attendance.json"
        build_log(path)
        print(f"log size: {path.stat().st_size / 1e6:.1f} MB ({PEOPLE} people, {CHECKINS} check-ins)")

        opens = []
        for _ in range(5):
            start = time.perf_counter()
            Store(path).close()
            opens.append(time.perf_counter() - start)
        print(f"open + load: median {median_ms(opens):.1f} ms")

        store = Store(path)
        session = store.create_session("bench", T0 + timedelta(days=100), 10)
        writes = []
        for i in range(200):
            checkin = Checkin(session.id, f"person-{i:05d}", store.now(), 0.8, i)
            start = time.perf_counter()
            store.record_checkin(checkin)
            writes.append(time.perf_counter() - start)
        print(f"check-in write (journal, fsynced): median {median_ms(writes):.2f} ms")

        rewrites = []
        for i in range(10):
            entry = AuditEntry(store.now(), "bench", "bench.write", {"i": i})
            start = time.perf_counter()
            store.add_audit(entry)
            rewrites.append(time.perf_counter() - start)
        print(f"full log rewrite (one TinyDB write): median {median_ms(rewrites):.1f} ms")

        start = time.perf_counter()
        store.flush_journal()
        fold_ms = (time.perf_counter() - start) * 1000
        print(f"fold 200 journaled check-ins (session stop): {fold_ms:.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
