"""Attendance over time: per person, the sessions they were expected at and how they came; per session, totals.

With a group, the report covers that group's sessions and, of the sessions for everyone, the
people in the group.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from .export import BOM, csv_cell, date_and_time, local_iso, sessions_in_range, time_zone
from .models import ABSENT, LATE, PRESENT, Counts, Person, Session, join_groups
from .store import Store

# The documented columns and keys (README, "Exports and reports"). New ones go at the end; none is
# ever renamed or moved. A session's start (`date`, as it was first named) is ISO 8601 with its UTC
# offset, on the clock of the `timezone` setting, then again as a date and a time of day for
# spreadsheets; people rows leave the three empty.
COLUMNS = ("row", "id", "name", "date", "group", "expected", "present", "late", "absent", "rate", "start_date",
           "start_time")
JSON_KEYS = ("generated_at", "from", "to", "group", "people", "sessions")
JSON_PERSON_KEYS = ("id", "name", "group", "expected", "present", "late", "absent", "rate")
JSON_SESSION_KEYS = ("id", "name", "date", "group", "expected", "present", "late", "absent", "rate", "start_date",
                     "start_time")


def attended_share(counts: Counts) -> float | None:
    """Attended (present or late) out of expected; None when nobody was expected."""
    return counts.attended / counts.total if counts.total else None


@dataclass
class PersonLine:
    person: Person
    counts: Counts = field(default_factory=Counts)

    @property
    def rate(self) -> float | None:
        """Share of expected sessions attended (present or late)."""
        return attended_share(self.counts)


@dataclass(frozen=True)
class SessionLine:
    session: Session
    counts: Counts

    @property
    def rate(self) -> float | None:
        """Share of the expected people who attended (present or late)."""
        return attended_share(self.counts)


@dataclass
class Report:
    date_from: date
    date_to: date
    group: str | None
    sessions: list[SessionLine]
    people: list[PersonLine]
    zone: tzinfo | None = None  # the clock its times are written on (None: this machine's)

    def below(self, rate: float) -> list[PersonLine]:
        """People whose attendance rate is under `rate` (0..1), lowest first."""
        found = [p for p in self.people if p.rate is not None and p.rate < rate]
        return sorted(found, key=lambda p: (p.rate, p.person.name.casefold()))


def build_report(store: Store, date_from: date, date_to: date, group: str | None = None,
                 zone: str | tzinfo | None = None) -> Report:
    """`zone`: the `timezone` setting, whose days the dates are and on whose clock times are written."""
    zone = time_zone(zone)
    people = {p.id: p for p in store.people()}
    chosen = [s for s in sessions_in_range(store.sessions(), date_from, date_to, zone)
              if group is None or s.group in (group, None)]
    lines: dict[str, PersonLine] = {}
    session_lines = []
    for session in chosen:
        counts = Counts()
        outcomes = store.outcomes(session.id)
        for person_id in dict.fromkeys([*session.expected, *outcomes]):
            person = people.get(person_id)
            if person is None or (group is not None and session.group is None and group not in person.groups):
                continue  # erased, or not in the group this report is about
            status = outcomes.get(person_id, ABSENT)
            counts.add(status)
            lines.setdefault(person_id, PersonLine(person)).counts.add(status)
        session_lines.append(SessionLine(session, counts))
    ordered = sorted(lines.values(), key=lambda p: (p.person.name.casefold(), p.person.id))
    return Report(date_from, date_to, group, session_lines, ordered, zone)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def report_rows(report: Report) -> list[dict]:
    """Person rows, then session rows, keyed by COLUMNS."""
    rows = []
    for line in report.people:
        c = line.counts
        rows.append({"row": "person", "id": line.person.id, "name": line.person.name, "date": None,
                     "group": join_groups(line.person.groups), "expected": c.total, PRESENT: c.present, LATE: c.late,
                     ABSENT: c.absent, "rate": _rate(line.rate), "start_date": None, "start_time": None})
    for line in report.sessions:
        s, c = line.session, line.counts
        day, time_of_day = date_and_time(s.started_at, report.zone)
        rows.append({"row": "session", "id": s.id, "name": s.name, "date": local_iso(s.started_at, report.zone),
                     "group": s.group or "", "expected": c.total, PRESENT: c.present, LATE: c.late, ABSENT: c.absent,
                     "rate": _rate(line.rate), "start_date": day, "start_time": time_of_day})
    return rows


def report_csv(report: Report, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows([csv_cell(row[key]) for key in COLUMNS] for row in report_rows(report))
    return (BOM if bom else "") + out.getvalue()


def report_json(report: Report, generated_at: datetime) -> str:
    rows = report_rows(report)
    body = {"generated_at": local_iso(generated_at, report.zone), "from": str(report.date_from),
            "to": str(report.date_to), "group": report.group,
            "people": [{k: r[k] for k in JSON_PERSON_KEYS} for r in rows if r["row"] == "person"],
            "sessions": [{k: r[k] for k in JSON_SESSION_KEYS} for r in rows if r["row"] == "session"]}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
