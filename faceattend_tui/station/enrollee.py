"""Whom an enrollment from the camera is for, from what staff typed: an id or a name, as people type
them (any case, any spacing, accents or not), never a silent second person beside the one meant."""

from __future__ import annotations

from collections.abc import Iterable

from faceattend_tui.attendance import Person
from faceattend_tui.attendance.models import check_person_id, clean_name
from faceattend_tui.attendance.sessions import called
from faceattend_tui.errors import FaceattendError
from faceattend_tui.station.updates import EnrollTarget, StationError


def by_id(people: Iterable[Person], typed: str) -> Person | None:
    """The person with this id: exactly, else the only one whose id differs only in case."""
    everyone = list(people)
    exact = [p for p in everyone if p.id == typed.strip()]
    if exact:
        return exact[0]
    close = [p for p in everyone if p.id.casefold() == typed.strip().casefold()]
    return close[0] if len(close) == 1 else None


def by_name(people: Iterable[Person], typed: str) -> list[Person]:
    """Everyone the typed name means (`called`: its spelling, or, typed without accents, theirs aside)."""
    return called(people, typed)


def left(person: Person) -> StationError:
    when = f" on {person.left_at:%Y-%m-%d}" if person.left_at else ""
    return StationError(f"{person.name} ({person.id}) left{when}: `faceattend people restore {person.id}` brings "
                        "them back; a newcomer needs an id of their own")


def whom(people: list[Person], who: EnrollTarget) -> Person | None:
    """Someone on the roster (active), or None for a newcomer; raises when it is unclear or they left."""
    found = by_id(people, who.name)
    if found is not None:
        if not found.active:
            raise left(found)
        return found
    if who.person_id:
        taken = by_id(people, who.person_id)
        if taken is not None:
            raise StationError(f"id {who.person_id!r} is already {taken.name} ({taken.id})")
        check_newcomer(who)
        return None
    named = by_name(people, who.name)
    active = [p for p in named if p.active]
    if len(active) > 1:
        raise StationError(f"{len(active)} people are called {who.name!r}: type the id of one "
                           f"({', '.join(p.id for p in active)}), or a new id for a newcomer")
    if not active and named:
        raise left(named[0])
    if active:
        return active[0]
    check_newcomer(who)
    return None


def check_newcomer(who: EnrollTarget) -> None:
    """A newcomer's name and id as typed, checked before the capture rather than after it."""
    try:
        clean_name(who.name, "the name")
        if who.person_id:
            check_person_id(who.person_id)
    except FaceattendError as exc:
        raise StationError(str(exc)) from None
