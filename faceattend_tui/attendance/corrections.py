"""Work mode: a day's in and out corrected by hand (a camera that missed someone leaving by another
door, or an arrival logged under the wrong person), kept in the log's settings beside the sightings,
audited, and read by the hours reports over what the doors saw."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from faceattend_tui.errors import InputError

from .common import from_iso, to_iso
from .models import check_text
from .security import Names, audit
from .store import GoneMeanwhile, Store
from .timetable import END_OF_DAY, parse_clock

CORRECTIONS_SETTING = "hours_corrections"  # {"<person id>@<YYYY-MM-DD>": correction doc}
MAX_REASON = 500  # characters: a reason, not a letter


EARLIER_KEPT = 5  # earlier corrections of a day kept under the latest, for a take-back to go back to


@dataclass(frozen=True)
class Correction:
    came: datetime | None  # None: as the doors saw it
    left: datetime | None
    by: str
    reason: str
    at: datetime
    earlier: Correction | None = None  # the day's correction before this one: a take-back goes back to it

    def to_doc(self, depth: int = EARLIER_KEPT) -> dict[str, Any]:
        doc: dict[str, Any] = {"in": to_iso(self.came), "out": to_iso(self.left), "by": self.by,
                               "reason": self.reason, "at": to_iso(self.at)}
        if self.earlier is not None and depth > 0:
            doc["earlier"] = self.earlier.to_doc(depth - 1)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Correction:
        at = from_iso(doc["at"])
        assert at is not None
        earlier = doc.get("earlier")
        return cls(from_iso(doc.get("in")), from_iso(doc.get("out")), str(doc.get("by") or ""),
                   str(doc.get("reason") or ""), at, cls.from_doc(earlier) if isinstance(earlier, dict) else None)

    @property
    def note(self) -> str:
        """Who corrected the day and why, and who before them where an end they set still counts."""
        said = f"corrected by {self.by}: {self.reason}"
        earlier = self.earlier
        if earlier is not None and (earlier.by, earlier.reason) != (self.by, self.reason) and \
                ((earlier.came is not None and earlier.came == self.came) or
                 (earlier.left is not None and earlier.left == self.left)):
            said += f"; earlier by {earlier.by}: {earlier.reason}"
        return said


def _key(person_id: str, day: date) -> str:
    return f"{person_id}@{day.isoformat()}"


def corrections(store: Store) -> dict[tuple[str, date], Correction]:
    """Every correction, by person and working day; a damaged entry is left out, not fatal."""
    found: dict[tuple[str, date], Correction] = {}
    for key, doc in (store.get_setting(CORRECTIONS_SETTING) or {}).items():
        person_id, _, day = str(key).rpartition("@")
        try:
            found[(person_id, date.fromisoformat(day))] = Correction.from_doc(doc)
        except (KeyError, TypeError, ValueError, AssertionError):
            continue
    return found


def checked_reason(reason: str) -> str:
    reason = check_text(" ".join(reason.split()), "the reason")
    if not reason:
        raise InputError("a correction needs a reason (--reason), for whoever pays these hours")
    if len(reason) > MAX_REASON:
        raise InputError(f"the reason is longer than {MAX_REASON} characters")
    return reason


def correct_day(store: Store, person_id: str, day: date, came: datetime | None, left: datetime | None,
                reason: str, user: str, seen: tuple[datetime, datetime] | None = None,
                whole: bool = False) -> Correction:
    """Set a day's in and/or out by hand, with a reason; an end not given stays as an earlier correction
    of the day set it, else as the doors saw it (`seen`). Refused when the day would end before it
    begins. Audited as hours.correct, with what the day was before, in the same write: the earlier
    correction is read with the setting locked, so two doors correcting one day at once both count."""
    reason = checked_reason(reason)
    if came is None and left is None:
        raise InputError("give the corrected in, out or both")
    if came is not None and left is not None and left <= came:
        raise InputError(f"the out {left:%H:%M} is not after the in {came:%H:%M}")
    key, made = _key(person_id, day), []

    def change(docs: dict[str, Any] | None) -> dict[str, Any]:
        before = _parsed((docs or {}).get(key))
        correction = _merged(before, came, left, seen, whole, day, Correction(came, left, user, reason, store.now()))
        made.append((before, correction))
        return {**(docs or {}), key: correction.to_doc()}

    with store.batch():  # the setting, then the person: an erasure takes them in that order too
        store.update_setting(CORRECTIONS_SETTING, change)
        still_there(store, person_id)
        before, correction = made[-1]
        audit(store, "hours.correct", {"person": person_id, "day": day.isoformat(), "in": to_iso(correction.came),
                                       "out": to_iso(correction.left), "reason": reason,
                                       "before": _was(before, seen)}, user)
    return correction


def _parsed(doc: Any) -> Correction | None:
    try:
        return None if doc is None else Correction.from_doc(doc)
    except (KeyError, TypeError, ValueError, AssertionError):
        return None


def _merged(before: Correction | None, came: datetime | None, left: datetime | None,
            seen: tuple[datetime, datetime] | None, whole: bool, day: date, new: Correction) -> Correction:
    """`new` with the end it does not give taken from the earlier correction; refused when the day it makes
    has no end (`whole`) or ends before it begins."""
    came = came or (before.came if before else None)
    left = left or (before.left if before else None)
    begins, ends = came or (seen[0] if seen else None), left or (seen[1] if seen else None)
    if whole and (begins is None or ends is None):  # a day with one end would count nowhere, unseen
        raise InputError(f"nobody saw them on {day}: give both the in and the out")
    if begins is not None and ends is not None and ends <= begins:
        raise InputError(f"the day would end ({_moment(ends)}) before it begins ({_moment(begins)}): "
                         "give both the in and the out")
    return dataclasses.replace(new, came=came, left=left, earlier=before)


def _moment(when: datetime) -> str:
    """Date and time on the station's clock, with the seconds where a door saw someone at 05:25:04."""
    when = when.astimezone()  # a sighting is kept in UTC: said as the typed time beside it is
    return f"{when:%Y-%m-%d %H:%M:%S}" if when.second else f"{when:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class DayCut:
    """How working days are cut: the station's clock and the hour one day ends and the next begins."""

    zone: tzinfo | None = None
    changes_at: time = time(0)

    def at(self, day: date, typed: str | None, what: str, end: bool = False) -> datetime | None:
        """A time of day typed for a working day: before the day change it is the next morning (a night
        shift), 24:00 (an end) is midnight at its end. A time the clocks skipped is refused."""
        if typed is None:
            return None
        clock = parse_clock(typed, what, end=end)
        # an end at the day change itself is the next morning's: the working day ends then
        next_morning = clock < self.changes_at or clock == END_OF_DAY or (end and clock == self.changes_at)
        when = day + timedelta(days=1) if next_morning else day
        naive = datetime.combine(when, time(0) if clock == END_OF_DAY else clock)
        moment = naive.astimezone() if self.zone is None else naive.replace(tzinfo=self.zone)
        if moment.astimezone(timezone.utc).astimezone(self.zone).replace(tzinfo=None) != naive:
            raise InputError(f"{what} {typed} did not exist on {when} (the clocks went forward then)")
        return moment


def seen_on(store: Store, person_id: str, day: date) -> tuple[datetime, datetime] | None:
    """The first and the last sighting of a person's working day, at any door; None when nobody saw them."""
    sightings = [p for p in store.presence(day, day) if p.person_id == person_id]
    if not sightings:
        return None
    return min(p.first_seen for p in sightings), max(p.last_seen for p in sightings)


def correct_typed(store: Store, person_id: str, day: date, typed: tuple[str | None, str | None], reason: str,
                  user: str, cut: DayCut, labels: tuple[str, str] = ("in", "out"),
                  whole: bool = False) -> tuple[Correction, bool]:
    """A correction as staff type it (HH:MM on the station's clock, `labels` naming the two fields in
    errors): only for a day worked and times already past, then as `correct_day` (`whole`: a day must
    have both ends after it). Returns it, and whether the doors saw the person that day."""
    now = store.now()
    if day > now.astimezone(cut.zone).date():
        raise InputError(f"{day} has not come yet: a correction is for a day worked")
    came, left = cut.at(day, typed[0], labels[0]), cut.at(day, typed[1], labels[1], end=True)
    for what, when in zip(labels, (came, left), strict=True):
        if when is not None and when > now:
            raise InputError(f"{what} {when:%Y-%m-%d %H:%M} has not come yet: a correction is for time worked")
    seen = seen_on(store, person_id, day)
    return correct_day(store, person_id, day, came, left, reason, user, seen, whole), seen is not None


def _was(before: Correction | None, seen: tuple[datetime, datetime] | None) -> dict[str, Any]:
    """What the day was before a change: an earlier correction's ends, else the doors'."""
    if before is not None:
        return {"in": to_iso(before.came), "out": to_iso(before.left), "corrected_by": before.by}
    return {"in": to_iso(seen[0]), "out": to_iso(seen[1])} if seen else {}


def clear_correction(store: Store, person_id: str, day: date, reason: str, user: str,
                     shown: str | None = None) -> bool:
    """Take back the day's latest correction, with a reason: back to the one before it, else to what the
    doors saw; False when the day had no correction. With `shown` (the correction's note as staff saw it),
    refused when another door has changed it since."""
    reason = checked_reason(reason)
    key, found = _key(person_id, day), []

    def change(docs: dict[str, Any] | None) -> dict[str, Any] | None:
        docs = dict(docs or {})
        now = _parsed(docs.get(key))
        if shown is not None and now is not None and now.note != shown:
            raise InputError(f"the correction of {day} was changed meanwhile (now {now.note}); "
                             "look at the day again before taking it back")
        found.append(docs.pop(key, None))
        if now is not None and now.earlier is not None:  # a second admin's take-back leaves the first's
            docs[key] = now.earlier.to_doc()
        return docs or None

    with store.batch():  # taken back and audited in one write
        store.update_setting(CORRECTIONS_SETTING, change)
        if found[-1] is None:
            return False
        still_there(store, person_id)
        audit(store, "hours.uncorrect", {"person": person_id, "day": day.isoformat(), "reason": reason,
                                         "before": found[-1]}, user)
    return True


def still_there(store: Store, person_id: str) -> None:
    """Raise when the person was erased at another door since the screen was read; else they stay until
    this batch ends (an erasure begun meanwhile waits for it)."""
    if not store.hold_person(person_id):
        raise GoneMeanwhile(f"{person_id} was erased meanwhile at another door or by another command; "
                            "nothing was saved")


def scrub_reasons(store: Store, pattern: Names, token: str) -> None:
    """An erasure: the erased person's names in the reasons of other people's corrections (and of the earlier
    corrections kept under them) become the token."""
    def named(doc: Any) -> bool:
        return isinstance(doc, dict) and (bool(pattern.search(str(doc.get("reason", "")))) or named(doc.get("earlier")))

    def scrubbed(doc: Any) -> Any:
        if not isinstance(doc, dict):
            return doc
        return {**doc, "reason": pattern.sub(token, str(doc.get("reason", ""))),
                **({"earlier": scrubbed(doc["earlier"])} if "earlier" in doc else {})}

    if not any(named(doc) for doc in (store.get_setting(CORRECTIONS_SETTING) or {}).values()):
        return
    store.update_setting(CORRECTIONS_SETTING, lambda now: {key: scrubbed(doc) for key, doc in (now or {}).items()})


def forget_person(store: Store, person_id: str, new_id: str | None = None) -> int:
    """A person's corrections go with an erasure (`new_id` None) or follow a change of their id; returns
    how many they had."""
    prefix = f"{person_id}@"

    def change(docs: dict[str, Any] | None) -> dict[str, Any] | None:
        kept = {}
        for key, doc in (docs or {}).items():
            if not key.startswith(prefix):
                kept[key] = doc
            elif new_id is not None:
                kept[f"{new_id}@{key[len(prefix):]}"] = doc
        return kept or None

    theirs = sum(key.startswith(prefix) for key in store.get_setting(CORRECTIONS_SETTING) or {})
    if theirs or new_id is None:  # an erasure holds the setting first: a correction made meanwhile waits for it
        store.update_setting(CORRECTIONS_SETTING, change)
    return theirs
