"""Rows to records and back: the selects the store reads with, and the shapes it reads them into."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from ..common import aware
from ..models import AuditEntry, Checkin, Mark, PastGroups, Person, Presence, Session, clean_groups, group_as_read

SELECT_PERSON = ("select p.id, p.name, p.created, p.folder, p.state, p.left_at, p.images, "
                 "array(select g.name from person_groups g where g.person_id = p.id order by g.position), "
                 "coalesce((select jsonb_agg(jsonb_build_object('groups', h.groups, 'until', h.until, 'away', h.away) "
                 "order by h.position) from past_groups h where h.person_id = p.id), '[]'::jsonb) "
                 "from people p")
SELECT_SESSION = ("select s.id, s.name, s.started_at, s.ended_at, s.late_after_minutes, s.station, s.group_name, "
                  "array(select e.person_id from expected e where e.session_id = s.id order by e.position), "
                  "s.voided_at, s.voided_by, s.void_reason from sessions s")
SELECT_CHECKIN = ("select id, session_id, person_id, time, similarity, track_id, late, station, last_seen, evidence "
                  "from checkins")
SELECT_MARK = "select session_id, person_id, status, reason, by, at, previous, id from marks"
INSERT_CHECKIN = (
    "insert into checkins (id, session_id, person_id, time, similarity, track_id, late, station, last_seen, "
    "evidence) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    # the earliest sighting is the arrival, whichever door saw it and whenever it reached the database
    "on conflict (session_id, person_id) do update set id = excluded.id, time = excluded.time, "
    "similarity = excluded.similarity, track_id = excluded.track_id, late = excluded.late, "
    "station = excluded.station, evidence = excluded.evidence, "
    "last_seen = greatest(checkins.last_seen, excluded.last_seen) where excluded.time < checkins.time "
    "returning id")


def local(value: datetime, zone: tzinfo | None = None) -> datetime:
    """On the station's clock, with its offset fixed: two moments of a zone compare by their wall times
    in Python, so 02:10 after the clocks went back would sort before 02:50 twenty minutes earlier."""
    moment = value.astimezone(zone)
    offset = moment.utcoffset()
    return moment if offset is None else moment.replace(tzinfo=timezone(offset))


def local_or_none(value: datetime | None, zone: tzinfo | None = None) -> datetime | None:
    return None if value is None else local(value, zone)


def the_row(cursor: psycopg.Cursor[TupleRow]) -> TupleRow:
    """The row of a query that always returns one (a count, an insert's `returning`)."""
    row = cursor.fetchone()
    assert row is not None, "the query returned no row"
    return row


def iso(value: Any) -> str | None:
    """A timestamp from a notification's JSON (PostgreSQL's ISO form) for Checkin.from_doc."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).isoformat()


def person_of(row: TupleRow, zone: tzinfo | None = None) -> Person:
    pid, name, created, folder, state, left_at, images, groups, past = row
    return Person(pid, name, local(created, zone), folder=folder or "", groups=clean_groups(groups or ()), state=state,
                  left_at=local_or_none(left_at, zone), images=int(images or 0),
                  past_groups=tuple(past_groups_of(doc, zone) for doc in past or ()))


def past_groups_of(doc: dict, zone: tzinfo | None = None) -> PastGroups:
    past = PastGroups.from_doc(doc)
    return PastGroups(past.groups, local(past.until, zone), past.away)


def save_past_groups(cur: psycopg.Cursor, people: list[Person]) -> None:
    """The people's past groups as they are to be kept (the rows of each, replaced)."""
    cur.execute("delete from past_groups where person_id = any(%s)", [[p.id for p in people]])
    rows = [(p.id, i, list(past.groups), aware(past.until), past.away)
            for p in people for i, past in enumerate(p.past_groups)]
    if rows:
        cur.executemany("insert into past_groups (person_id, position, groups, until, away) "
                        "values (%s, %s, %s, %s, %s)", rows)


def session_of(row: TupleRow, zone: tzinfo | None = None) -> Session:
    sid, name, started, ended, late, station, group, expected, voided_at, voided_by, void_reason = row
    return Session(int(sid), name, local(started, zone), local_or_none(ended, zone), late, station,
                   group_as_read(group), list(expected or []), local_or_none(voided_at, zone), voided_by or "",
                   void_reason or "")


def checkin_of(row: TupleRow, zone: tzinfo | None = None) -> Checkin:
    cid, session_id, person_id, when, similarity, track, late, station, last_seen, evidence = row
    return Checkin(int(session_id), person_id, local(when, zone), similarity=similarity, track_id=track,
                   late=bool(late), station=station, last_seen=local_or_none(last_seen, zone), evidence=evidence,
                   id=cid)


def mark_of(row: TupleRow, zone: tzinfo | None = None) -> Mark:
    session_id, person_id, status, reason, by, at, previous, mid = row
    return Mark(int(session_id), person_id, status, reason, by, local(at, zone), previous, id=mid)


def checkin_values(c: Checkin) -> list[Any]:
    return [c.id, c.session_id, c.person_id, aware(c.time), c.similarity, c.track_id, c.late, c.station,
            aware(c.last_seen) if c.last_seen else None, Jsonb(c.evidence) if c.evidence is not None else None]


UPSERT_PRESENCE = ("insert into presence (person_id, day, station, first_seen, last_seen) "
                   "values (%s, %s, %s, %s, %s) on conflict (person_id, day, station) do update set "
                   "first_seen = least(presence.first_seen, excluded.first_seen), "
                   "last_seen = greatest(presence.last_seen, excluded.last_seen)")
INSERT_MARK = ("insert into marks (id, session_id, person_id, status, reason, by, at, previous) values "
               "(%s, %s, %s, %s, %s, %s, %s, %s) on conflict (id) do nothing")
INSERT_AUDIT = ('insert into audit (id, time, "user", action, details) values (%s, %s, %s, %s, %s) '
                "on conflict (id) do nothing")


def presence_values(p: Presence) -> list[Any]:
    return [p.person_id, p.day, p.station, aware(p.first_seen), aware(p.last_seen)]


def mark_values(m: Mark) -> list[Any]:
    return [m.id, m.session_id, m.person_id, m.status, m.reason, m.by, aware(m.at), m.previous]


def audit_values(a: AuditEntry) -> list[Any]:
    return [a.id, aware(a.time), a.user, a.action, Jsonb(a.details)]


def upsert_presence(conn: psycopg.Connection, presence: Presence) -> None:
    """A day's sighting at a door: the earliest first and the latest last sighting are kept."""
    conn.execute(UPSERT_PRESENCE, presence_values(presence))


def insert_checkin(conn: psycopg.Connection, checkin: Checkin) -> bool:
    """Store a check-in (the earlier of two wins); True when this one is now the stored one."""
    if conn.execute(INSERT_CHECKIN, checkin_values(checkin)).fetchone() is not None:
        return True
    # an earlier arrival (another door's) stays; this later sighting still moves the last one seen
    conn.execute("update checkins set last_seen = greatest(coalesce(last_seen, time), %s) "
                 "where session_id = %s and person_id = %s",
                 [aware(checkin.last_seen or checkin.time), checkin.session_id, checkin.person_id])
    return False


def insert_expected(conn: psycopg.Connection, session_id: int, person_ids: list[str]) -> list[str]:
    if not person_ids:
        return []
    rows = conn.execute("insert into expected (session_id, person_id) select %s, p from unnest(%s::text[]) "
                        "with ordinality as u(p, n) order by n on conflict do nothing returning person_id",
                        [session_id, person_ids]).fetchall()
    return [r[0] for r in rows]


def keep_later_seen(checkin: Checkin, old: Checkin) -> None:
    """Keep the later "last seen" of the two records of one check-in (in `checkin`)."""
    if old.last_seen and (checkin.last_seen is None or checkin.last_seen < old.last_seen):
        checkin.last_seen = old.last_seen
