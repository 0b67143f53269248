"""Attendance over time: per person, the sessions they were expected at and how they came; per session, totals.

With a group, the report covers that group's sessions and, of the sessions for everyone, the
people who were in the group when each began (a person who changed groups since counts where they
were then: a class's past numbers stay as they were).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from faceattend_tui.text import collation, fold, same

from .export import BOM, csv_cell, date_and_time, local_iso, sessions_in_range, time_zone
from .models import ABSENT, LATE, PRESENT, Counts, Person, Session, join_groups
from .store import Store

if TYPE_CHECKING:
    from .sessions import Attendance

# The documented columns and keys (README, "Exports and reports"). New ones go at the end; none is
# ever renamed or moved. A CSV report holds one kind of row (`--by person` or `--by session`). A
# session's start (`date`, as it was first named) is ISO 8601 with its UTC offset, on the clock of
# the `timezone` setting, then again as a date and a time of day for spreadsheets.
PERSON_COLUMNS = ("id", "name", "group", "expected", "present", "late", "absent", "rate", "excused")
SESSION_COLUMNS = ("id", "name", "date", "start_date", "start_time", "group", "expected", "present", "late", "absent",
                   "rate", "excused", "void_reason")  # void_reason: with --voided, why it was voided
CSV_COLUMNS = {"person": PERSON_COLUMNS, "session": SESSION_COLUMNS}
JSON_KEYS = ("generated_at", "from", "to", "group", "people", "sessions", "running")
JSON_PERSON_KEYS = ("id", "name", "group", "expected", "present", "late", "absent", "rate", "excused")
JSON_SESSION_KEYS = ("id", "name", "date", "group", "expected", "present", "late", "absent", "rate", "start_date",
                     "start_time", "excused", "void_reason")


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
    locale: str | None = None  # the order of names (the `locale` setting; None: this machine's)
    running: list[Session] = field(default_factory=list)  # in the period and still running: not counted

    def below(self, rate: float) -> list[PersonLine]:
        """People whose attendance rate is under `rate` (0..1), lowest first."""
        found = [p for p in self.people if p.rate is not None and p.rate < rate]
        key = collation(self.locale)
        return sorted(found, key=lambda p: (p.rate, key(p.person.name), p.person.id))


def build_report(store: Store, date_from: date, date_to: date, group: str | None = None,
                 zone: str | tzinfo | None = None, locale: str | None = None, voided: bool = False) -> Report:
    """`zone`: the `timezone` setting, whose days the dates are and on whose clock times are written;
    `locale`: the `locale` setting, the order of names. `group` is found case and accents aside ("3a"
    selects 3A), and the report names it as it is stored. Voided sessions count only with `voided`;
    absence codes (excused, sick ...) are counted apart and left out of the rates. A session still
    running is not counted (everyone not in yet would read absent): the report lists it in `running`."""
    zone = time_zone(zone)
    people = {p.id: p for p in store.people()}
    in_range = [s for s in sessions_in_range(store.sessions(), date_from, date_to, zone) if voided or not s.voided]
    spellings = group_spellings(group, [s.group for s in in_range if s.group],
                                [g for p in people.values() for g in p.all_groups()])
    if spellings:
        group = group if group in spellings else min(spellings)
    of_group = [s for s in in_range if group is None or s.group is None or s.group in spellings]
    chosen = [s for s in of_group if not s.active]
    lines: dict[str, PersonLine] = {}
    session_lines = []
    all_outcomes = store.outcomes_of(s.id for s in chosen)
    for session in chosen:
        counts = Counts()
        outcomes = all_outcomes[session.id]
        members = 0
        for person_id in dict.fromkeys([*session.expected, *outcomes]):
            person = people.get(person_id)
            if person is None or (group is not None and session.group is None
                                  and spellings.isdisjoint(person.groups_at(session.started_at))):
                continue  # erased, or not in the group this report is about when the session began
            status = outcomes.get(person_id, ABSENT)
            counts.add(status)
            members += 1
            lines.setdefault(person_id, PersonLine(person)).counts.add(status)
        if group is not None and session.group is None and members == 0:
            continue  # a session for everyone before anyone of this group was there (all excused is theirs)
        session_lines.append(SessionLine(session, counts))
    key = collation(locale)
    ordered = sorted(lines.values(), key=lambda p: (key(p.person.name), p.person.id))
    return Report(date_from, date_to, group, session_lines, ordered, zone, locale,
                  [s for s in of_group if s.active])


def report_groups(attendance: Attendance) -> list[str]:
    """Every group anyone is or was in, those who left included: a class's past numbers stay reportable
    after everyone moved on (each written as the log writes it today)."""
    key = collation(attendance.locale)
    spelled = {fold(g): g for p in attendance.store.people() for g in p.all_groups()}  # the store keeps the past
    spelled.update({fold(g): g for g in attendance.groups()})
    return sorted(spelled.values(), key=lambda g: (key(g), g))


def group_spellings(group: str | None, *stored: list[str]) -> set[str]:
    """The stored names of the group `group` names, case and accents aside ("3a": {"3A"}); just `group`
    when nothing stored matches (None: no group)."""
    if group is None:
        return set()
    return {g for names in stored for g in names if same(g, group)} or {group}


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def report_rows(report: Report) -> list[dict[str, Any]]:
    """Person rows, then session rows ("row" says which), keyed by the columns of both kinds."""
    rows: list[dict[str, Any]] = []
    for line in report.people:
        c = line.counts
        group = report.group or join_groups(line.person.groups)  # a group's report: the group counted in
        rows.append({"row": "person", "id": line.person.id, "name": line.person.name, "date": None,
                     "group": group, "expected": c.total, PRESENT: c.present, LATE: c.late,
                     ABSENT: c.absent, "rate": _rate(line.rate), "start_date": None, "start_time": None,
                     "excused": c.excused_total, "codes": dict(c.excused)})
    for session_line in report.sessions:
        s, c = session_line.session, session_line.counts
        day, time_of_day = date_and_time(s.started_at, report.zone)
        rows.append({"row": "session", "id": s.id, "name": s.name, "date": local_iso(s.started_at, report.zone),
                     "group": s.group or "", "expected": c.total, PRESENT: c.present, LATE: c.late, ABSENT: c.absent,
                     "rate": _rate(session_line.rate), "start_date": day, "start_time": time_of_day,
                     "excused": c.excused_total, "codes": dict(c.excused),
                     "void_reason": (s.void_reason or "voided") if s.voided else ""})
    return rows


def report_csv(report: Report, bom: bool = True, by: str = "person") -> str:
    """One row per person (`by` "person") or per session ("session"), with that kind's columns."""
    columns = CSV_COLUMNS[by]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([csv_cell(row[key]) for key in columns] for row in report_rows(report) if row["row"] == by)
    return (BOM if bom else "") + out.getvalue()


def _json_row(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A row's keys, with the absence codes counted one by one under "excused"."""
    return {k: (row["codes"] if k == "excused" else row[k]) for k in keys}


def report_json(report: Report, generated_at: datetime, by: str | None = None) -> str:
    """People and sessions; with `by`, only the people ("person") or only the sessions ("session")."""
    rows = report_rows(report)
    body: dict[str, Any] = {"generated_at": local_iso(generated_at, report.zone), "from": str(report.date_from),
                            "to": str(report.date_to), "group": report.group}
    if by in (None, "person"):
        body["people"] = [_json_row(r, JSON_PERSON_KEYS) for r in rows if r["row"] == "person"]
    if by in (None, "session"):
        body["sessions"] = [_json_row(r, JSON_SESSION_KEYS) for r in rows if r["row"] == "session"]
    # sessions of the period still running, not counted: a reader of the file knows its numbers are partial
    body["running"] = [{"id": s.id, "name": s.name, "date": local_iso(s.started_at, report.zone)}
                       for s in report.running]
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


MOST_BARS = 40  # bars a chart of a period shows: beyond, sessions are put together by week, then by month


def chart_bars(sessions: list[SessionLine], most: int = MOST_BARS,
               zone: tzinfo | None = None) -> tuple[list[str], list[int], str]:
    """A chart's bars over a period: labels, attended % and what one bar is ("session", "week" or
    "month"); a week's or a month's rate is its attended out of its expected, as a person's is.
    Days and labels are on the clock of `zone` (the report's; None: this machine's). A session where
    nobody was expected (everyone excused) has no rate and no bar: 0 % would read as all absent."""
    sessions = [line for line in sessions if line.counts.total]
    if len(sessions) <= most:
        return ([f"{line.session.started_at.astimezone(zone):%m-%d} {line.session.name}"[:14] for line in sessions],
                [round(100 * line.counts.attended / line.counts.total) for line in sessions], "session")
    weeks = _grouped(sessions, lambda day: day - timedelta(days=day.weekday()), zone)
    if len(weeks) <= most:
        return [f"{day:%m-%d}" for day in weeks], _rates(weeks), "week"
    months = _grouped(sessions, lambda day: day.replace(day=1), zone)
    return [f"{day:%Y-%m}" for day in months], _rates(months), "month"


def _grouped(sessions: list[SessionLine], start_of: Callable[[date], date],
             zone: tzinfo | None) -> dict[date, tuple[int, int]]:
    """Attended and expected, summed over the sessions of each week or month (by the day it starts)."""
    groups: dict[date, tuple[int, int]] = {}
    for line in sessions:
        key = start_of(line.session.started_at.astimezone(zone).date())  # the day on the report's clock
        attended, expected = groups.get(key, (0, 0))
        groups[key] = (attended + line.counts.attended, expected + line.counts.total)
    return groups


def _rates(groups: dict[date, tuple[int, int]]) -> list[int]:
    return [round(100 * attended / expected) for attended, expected in groups.values()]
