"""Work mode: a day's in and out corrected by hand (a camera that missed someone leaving by another
door, or an arrival logged under the wrong person), kept in the log's settings beside the sightings,
audited, and read by the hours reports over what the doors saw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from faceattend_tui.errors import InputError

from .common import from_iso, to_iso
from .models import check_text
from .security import audit

if TYPE_CHECKING:
    from .store import Store

CORRECTIONS_SETTING = "hours_corrections"  # {"<person id>@<YYYY-MM-DD>": correction doc}


@dataclass(frozen=True)
class Correction:
    came: datetime | None  # None: as the doors saw it
    left: datetime | None
    by: str
    reason: str
    at: datetime

    def to_doc(self) -> dict[str, Any]:
        return {"in": to_iso(self.came), "out": to_iso(self.left), "by": self.by, "reason": self.reason,
                "at": to_iso(self.at)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Correction:
        at = from_iso(doc["at"])
        assert at is not None
        return cls(from_iso(doc.get("in")), from_iso(doc.get("out")), str(doc.get("by") or ""),
                   str(doc.get("reason") or ""), at)

    @property
    def note(self) -> str:
        return f"corrected by {self.by}: {self.reason}"


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


def correct_day(store: Store, person_id: str, day: date, came: datetime | None, left: datetime | None,
                reason: str, user: str) -> Correction:
    """Set a day's in and/or out by hand, with a reason; audited as hours.correct."""
    reason = check_text(" ".join(reason.split()), "the reason")
    if not reason:
        raise InputError("a correction needs a reason (--reason), for whoever pays these hours")
    if came is None and left is None:
        raise InputError("give the corrected in (--in), out (--out) or both")
    if came is not None and left is not None and left <= came:
        raise InputError(f"the out {left:%H:%M} is not after the in {came:%H:%M}")
    correction = Correction(came, left, user, reason, store.now())
    store.update_setting(CORRECTIONS_SETTING,
                         lambda docs: {**(docs or {}), _key(person_id, day): correction.to_doc()})
    audit(store, "hours.correct", {"person": person_id, "day": day.isoformat(), "in": to_iso(came),
                                   "out": to_iso(left), "reason": reason}, user)
    return correction


def clear_correction(store: Store, person_id: str, day: date, user: str) -> bool:
    """Back to what the doors saw; False when the day had no correction."""
    key, found = _key(person_id, day), []

    def change(docs: dict[str, Any] | None) -> dict[str, Any] | None:
        docs = dict(docs or {})
        found.append(docs.pop(key, None))
        return docs or None

    store.update_setting(CORRECTIONS_SETTING, change)
    if found[0] is None:
        return False
    audit(store, "hours.uncorrect", {"person": person_id, "day": day.isoformat()}, user)
    return True


def forget_person(store: Store, person_id: str, new_id: str | None = None) -> None:
    """A person's corrections go with an erasure (`new_id` None) or follow a change of their id."""
    prefix = f"{person_id}@"

    def change(docs: dict[str, Any] | None) -> dict[str, Any] | None:
        kept = {}
        for key, doc in (docs or {}).items():
            if not key.startswith(prefix):
                kept[key] = doc
            elif new_id is not None:
                kept[f"{new_id}@{key[len(prefix):]}"] = doc
        return kept or None

    if any(key.startswith(prefix) for key in store.get_setting(CORRECTIONS_SETTING) or {}):
        store.update_setting(CORRECTIONS_SETTING, change)
