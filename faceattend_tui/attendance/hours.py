"""Work mode: a day's first sighting is "in", its last one is "out" once `out_after` minutes pass without
another; hours per person per day and over a period, as CSV or JSON."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from faceattend_tui.text import collation, same

from .common import from_iso
from .corrections import Correction, corrections
from .export import BOM, csv_cell, date_and_time, local_iso, time_zone
from .models import Person, Presence
from .store import NotFoundError, Store, StoreError

WRITE_EVERY = timedelta(seconds=60)  # a person still in view moves their last sighting this often at most
LONG_DAY = timedelta(hours=16)  # a working day longer than this is most likely two put together
SHORT_DAY = timedelta(minutes=10)  # seen no longer than this, then gone: nobody saw them leave
CLOCK_DOUBT = timedelta(minutes=15)  # a jump of a station's clock that may move a day's in or out this much
CLOCK_JUMPED = "the station's clock jumped"
DAY_COLUMNS = ("id", "name", "day", "in", "out", "hours", "in_time", "out_time", "check", "corrected")


def working_day(when: datetime, zone: tzinfo | None = None, changes_at: time = time(0)) -> date:
    """The working day a moment belongs to: days change at `changes_at` on the station's clock (an
    hour nobody works) and are named by the date they begin."""
    local = when.astimezone(zone)
    return local.date() - timedelta(days=1) if local.time() < changes_at else local.date()


class PresenceBook:
    """Writes sightings to the log, at most one a minute per person and day while they stay in view; the
    latest one held back is written when the station closes (`flush`)."""

    def __init__(self, store: Store, station: str, zone: tzinfo | None = None, day_changes_at: time = time(0)):
        self.store, self.station, self.zone, self.day_changes_at = store, station, zone, day_changes_at
        self._written: dict[tuple[str, date], datetime] = {}
        self._held: dict[tuple[str, date], datetime] = {}

    def seen(self, person_id: str, when: datetime) -> bool:
        """Record a sighting; True when it is the person's first of the working day at any door (they came in)."""
        day = working_day(when, self.zone, self.day_changes_at)
        last = self._written.get((person_id, day))
        if last is not None and timedelta(0) <= when - last < WRITE_EVERY:
            self._held[(person_id, day)] = when
            return False  # earlier than the last written: the clock was put back (a glitch ahead), written
        first = last is None and not self._seen_elsewhere(person_id, day)
        self.store.see(Presence(person_id, day, self.station, when, when))
        self._written[(person_id, day)] = when
        self._held.pop((person_id, day), None)
        return first

    def flush(self) -> None:
        """Write the sightings held back in the last minute: the day's last sighting is the last one shown.
        Each is tried: one of someone erased meanwhile (at another door) is dropped, and a failed write
        is raised once the others are written."""
        held, self._held = self._held, {}
        failed: list[StoreError] = []
        for (person_id, day), when in held.items():
            try:
                self.store.see(Presence(person_id, day, self.station, when, when))
            except NotFoundError:
                continue  # erased: nothing of them is written again
            except StoreError as exc:
                failed.append(exc)
        if failed:
            raise StoreError(f"{len(failed)} of {len(held)} not written: {failed[0]}") from failed[0]

    def renamed(self, old: str, new: str) -> None:
        """A roster import here gave someone another id: what is held back of them is written under it."""
        self._move(old, new)

    def forget(self, person_id: str) -> None:
        """An erasure here: what is held back or remembered of them goes with it."""
        self._move(person_id, None)

    def _move(self, person_id: str, to: str | None) -> None:
        """What is held back or remembered of someone, put under another id (None: dropped)."""
        for kept in (self._held, self._written):
            for key in [k for k in kept if k[0] == person_id]:
                value = kept.pop(key)
                if to is not None:
                    kept[(to, key[1])] = value


    def _seen_elsewhere(self, person_id: str, day: date) -> bool:
        """Whether the log has them on that day already (at any door); not while a shared database is
        away: this door's first sighting then counts as coming in."""
        if not self.store.state().online:
            return False
        try:
            return any(p.person_id == person_id for p in self.store.presence(day, day))
        except StoreError:
            return False


@dataclass(frozen=True)
class DayHours:
    person: Person
    day: date
    came: datetime  # the day's first sighting, at any door
    last: datetime  # the latest sighting
    out: datetime | None  # the last sighting once `out_after` passed without another; None: still in
    check: str = ""  # why a person should look at this day before paying it; empty: nothing odd
    corrected: str = ""  # who corrected the day by hand, and why

    @property
    def hours(self) -> float:
        """Rounded to a hundredth, as written: a period's total is the sum of its days as shown."""
        return round((self.last - self.came).total_seconds() / 3600, 2)


@dataclass(frozen=True)
class DayRule:
    """How days were cut when the report is made: the station's clock and the day change."""

    zone: tzinfo | None = None
    changes_at: time = time(0)
    jumps: tuple[tuple[datetime, datetime], ...] = ()  # wall-clock spans a station's clock jumped over or repeated

    def check(self, day: date, came: datetime, last: datetime, out: datetime | None) -> str:
        """What looks wrong with a day: sightings outside it (the day change or the time zone was
        changed since), an in or out in a span the clock jumped through, a day too long to be one shift,
        or nobody seen leaving."""
        ends = last - timedelta(microseconds=1) if last > came else last  # out at the day change: still that day
        if {working_day(came, self.zone, self.changes_at), working_day(ends, self.zone, self.changes_at)} != {day}:
            return "sightings outside this working day (was day_changes_at or timezone changed?)"
        jumped = next(((low, high) for low, high in self.jumps if low <= came <= high or low <= last <= high), None)
        if jumped is not None:
            low, high = (moment.astimezone(self.zone) for moment in jumped)
            return f"{CLOCK_JUMPED} between {low:%H:%M} and {high:%H:%M}: its in or out may be off by as much"
        if last - came > LONG_DAY:
            return f"longer than {LONG_DAY.total_seconds() / 3600:g} h: two shifts, or a pass by the door at night?"
        if out is not None and last - came <= SHORT_DAY:
            seen = "seen once" if came == last else f"seen for {round((last - came).total_seconds() / 60)} min only"
            return f"{seen}: nobody saw them leave"
        return ""


def day_hours(sightings: list[Presence], people: dict[str, Person], out_after: float, now: datetime,
              locale: str | None = None, rule: DayRule | None = None,
              fixes: dict[tuple[str, date], Correction] | None = None) -> list[DayHours]:
    """One line per person and day (all doors together, and the days corrected by hand), by day then name."""
    rule, fixes = rule or DayRule(), fixes or {}
    spans: dict[tuple[str, date], tuple[datetime, datetime]] = {}
    for p in sightings:
        came, last = spans.get((p.person_id, p.day), (p.first_seen, p.last_seen))
        spans[(p.person_id, p.day)] = (min(came, p.first_seen), max(last, p.last_seen))
    gone = timedelta(minutes=out_after)
    lines = []
    for pid, day in set(spans) | set(fixes):
        line = _day_line(people.get(pid), day, spans.get((pid, day)), fixes.get((pid, day)), now - gone, rule)
        if line is not None:
            lines.append(line)
    key = collation(locale)
    return sorted(lines, key=lambda d: (d.day, key(d.person.name), d.person.id))


def _day_line(person: Person | None, day: date, seen: tuple[datetime, datetime] | None, fix: Correction | None,
              gone_before: datetime, rule: DayRule) -> DayHours | None:
    """A person's day as the doors saw it, with a correction by hand over it; None when there is no day."""
    came, last = seen or (None, None)
    if fix is not None:
        came, last = fix.came or came, fix.left or last
    if person is None or came is None or last is None:
        return None
    last = max(last, came)
    out = last if (fix is not None and fix.left is not None) or last <= gone_before else None
    check = rule.check(day, came, last, out)
    if fix is not None:  # looked at by whoever corrected it: only what still looks wrong (a long day) is said
        looked_at = check.startswith(("seen", CLOCK_JUMPED))
        return DayHours(person, day, came, last, out, "" if looked_at else check, fix.note)
    return DayHours(person, day, came, last, out, check)


def people_of(store: Store, group: str | None = None) -> list[Person]:
    """Everyone on the roster (who left too), or who is or was in `group`, found case and accents aside."""
    return [p for p in store.people() if group is None or any(same(g, group) for g in p.all_groups())]


def in_group(person: Person, group: str | None, when: datetime | None = None) -> bool:
    """Whether `person` was in `group` at `when` (now: None); any group is None's."""
    groups = person.groups if when is None else person.groups_at(when)
    return group is None or any(same(g, group) for g in groups)


def hours_between(store: Store, date_from: date, date_to: date, out_after: float, group: str | None = None,
                  locale: str | None = None, rule: DayRule | None = None,
                  people: list[Person] | None = None) -> list[DayHours]:
    """The day lines of everyone seen from `date_from` to `date_to`, of `group` the day they came (someone
    who changed groups counts where they were then; `people`: read already)."""
    chosen = {p.id: p for p in (people if people is not None else people_of(store, group))}
    fixes = {k: c for k, c in corrections(store).items() if date_from <= k[1] <= date_to}
    rule = dataclasses.replace(rule or DayRule(), jumps=clock_jumps(store, CLOCK_DOUBT))
    lines = day_hours(store.presence(date_from, date_to), chosen, out_after, store.now(), locale, rule, fixes)
    return [line for line in lines if in_group(line.person, group, line.came)]


def clock_jumps(store: Store, at_least: timedelta = timedelta(0)) -> tuple[tuple[datetime, datetime], ...]:
    """The wall-clock spans a station's clock jumped over or went through twice (audited as `clock.jump`), by
    `at_least` or more: a sighting in one may carry a time that far off."""
    spans = []
    for entry in store.audit_log():
        seconds, now = entry.details.get("seconds"), entry.details.get("now")
        if entry.action != "clock.jump" or not isinstance(seconds, int | float) or not isinstance(now, str):
            continue
        try:
            after = from_iso(now)
        except ValueError:  # an entry changed by hand: no span
            continue
        if after is not None and abs(seconds) >= at_least.total_seconds():
            before = after - timedelta(seconds=seconds)
            spans.append((min(before, after), max(before, after)))
    return tuple(spans)


def totals(lines: list[DayHours], locale: str | None = None) -> list[dict]:
    """Per person over the period, by name: days seen, hours (the sum of the days as written), days to
    check and days corrected by hand."""
    found: dict[str, dict] = {}
    for line in lines:
        entry = found.setdefault(line.person.id, _entry(line.person))
        entry["days"] += 1
        entry["hours"] += line.hours
        entry["to_check"] += bool(line.check)
        entry["corrected"] += bool(line.corrected)
    key = collation(locale)
    by_name = sorted(found.values(), key=lambda e: (key(e["name"]), e["id"]))
    return [{**e, "hours": round(e["hours"], 2)} for e in by_name]


def _entry(person: Person) -> dict:
    return {"id": person.id, "name": person.name, "days": 0, "hours": 0.0, "to_check": 0, "corrected": 0,
            "left": not person.active}


def with_unseen(entries: list[dict], people: list[Person], locale: str | None = None) -> list[dict]:
    """The totals, and everyone else on the roster with no day in the period (a new hire the camera has
    not learnt yet, a door whose camera was down all week), by name: their days can be corrected too."""
    seen = {e["id"] for e in entries}
    key = collation(locale)
    everyone = entries + [_entry(p) for p in people if p.active and p.id not in seen]
    return sorted(everyone, key=lambda e: (key(e["name"]), e["id"]))


def _row(line: DayHours, zone: tzinfo | None) -> dict:
    return {"id": line.person.id, "name": line.person.name, "day": line.day.isoformat(),
            "in": local_iso(line.came, zone), "out": local_iso(line.out, zone), "hours": line.hours,
            "in_time": date_and_time(line.came, zone)[1], "out_time": date_and_time(line.out, zone)[1],
            "check": line.check, "corrected": line.corrected}


def hours_csv(lines: list[DayHours], zone: str | tzinfo | None = None, bom: bool = True) -> str:
    zone = time_zone(zone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(DAY_COLUMNS)
    writer.writerows([csv_cell(row[k]) for k in DAY_COLUMNS] for row in (_row(line, zone) for line in lines))
    return (BOM if bom else "") + out.getvalue()


def hours_json(lines: list[DayHours], date_from: date, date_to: date, generated_at: datetime,
               zone: str | tzinfo | None = None, locale: str | None = None) -> str:
    zone = time_zone(zone)
    body = {"generated_at": local_iso(generated_at, zone), "from": str(date_from), "to": str(date_to),
            "days": [_row(line, zone) for line in lines], "people": totals(lines, locale)}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
