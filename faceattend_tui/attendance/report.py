"""Attendance over time: per person, the sessions they were expected at and how they came; per session, totals.

With a group, the report covers that group's sessions and, of the sessions for everyone, the
people in the group.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from .common import to_iso
from .export import BOM, sessions_in_range
from .models import ABSENT, LATE, PRESENT, Counts, Person, Session
from .store import Store

COLUMNS = ("row", "id", "name", "date", "group", "expected", "present", "late", "absent", "rate")


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

    def below(self, rate: float) -> list[PersonLine]:
        """People whose attendance rate is under `rate` (0..1), lowest first."""
        found = [p for p in self.people if p.rate is not None and p.rate < rate]
        return sorted(found, key=lambda p: (p.rate, p.person.name.casefold()))


def build_report(store: Store, date_from: date, date_to: date, group: str | None = None) -> Report:
    people = {p.id: p for p in store.people()}
    chosen = [s for s in sessions_in_range(store.sessions(), date_from, date_to)
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
    return Report(date_from, date_to, group, session_lines, ordered)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def report_rows(report: Report) -> list[dict]:
    rows = []
    for line in report.people:
        c = line.counts
        rows.append({"row": "person", "id": line.person.id, "name": line.person.name, "date": "",
                     "group": " ".join(line.person.groups), "expected": c.total, PRESENT: c.present, LATE: c.late,
                     ABSENT: c.absent, "rate": _rate(line.rate)})
    for line in report.sessions:
        s, c = line.session, line.counts
        rows.append({"row": "session", "id": s.id, "name": s.name, "date": to_iso(s.started_at),
                     "group": s.group or "", "expected": c.total, PRESENT: c.present, LATE: c.late,
                     ABSENT: c.absent, "rate": _rate(line.rate)})
    return rows


def report_csv(report: Report, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in report_rows(report))
    return (BOM if bom else "") + out.getvalue()


def report_json(report: Report, generated_at: datetime) -> str:
    rows = report_rows(report)
    body = {"generated_at": to_iso(generated_at), "from": str(report.date_from), "to": str(report.date_to),
            "group": report.group,
            "people": [{k: v for k, v in r.items() if k not in ("row", "date")} for r in rows if r["row"] == "person"],
            "sessions": [{k: v for k, v in r.items() if k != "row"} for r in rows if r["row"] == "session"]}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
