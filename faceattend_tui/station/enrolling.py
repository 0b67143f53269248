"""A newcomer's enrollment under way, kept in the data folder until they are on the roster: one cut short
(the station killed, the machine off) between its samples and its record is finished, or undone, at the
next start, under the name staff typed, never as a person named after a folder id."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from faceattend_tui.attendance import Attendance
from faceattend_tui.attendance.models import printable
from faceattend_tui.config import Settings
from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import keep_note
from faceattend_tui.gallery import enroll
from faceattend_tui.station.updates import EnrollTarget

ENROLLING = "enrolling.json"  # photo folder -> the newcomer staff are enrolling into it


@dataclass(frozen=True)
class Pending:
    name: str
    person_id: str
    groups: tuple[str, ...]
    by: str  # the staff member who saved it
    when: str  # ISO 8601


def begun(data: Path) -> dict[str, Pending]:
    """The enrollments under way, by photo folder (an unreadable list: none)."""
    return _read(data) or {}


def _read(data: Path) -> dict[str, Pending] | None:
    """The enrollments under way; None when their list cannot be read."""
    try:
        found = json.loads((data / ENROLLING).read_text(encoding="utf-8"))
        return {str(folder): Pending(str(p["name"]), str(p["person_id"]), tuple(map(str, p["groups"])), str(p["by"]),
                                     str(p["when"])) for folder, p in found.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def cut_short(data: Path) -> list[str]:
    """Enrollments never finished, each said with what finishes it (doctor)."""
    found = _read(data)
    if found is None:
        return [f"{data / ENROLLING} cannot be read: a newcomer's enrollment was cut short; see `faceattend audit`, "
                "enroll them again if they are not on the roster, then delete the file"]
    return [f"the enrollment of {printable(p.name)} (photos in database_image/{printable(folder)}) begun "
            f"{p.when[:16].replace('T', ' ')}" + (f" by {printable(p.by)}" if p.by else "") + " was cut short: run "
            "`faceattend extract` to finish it under that name" for folder, p in found.items()]


def note(data: Path, folder: str, who: EnrollTarget | None = None, by: str = "") -> None:
    """Keep (`who`) or drop (None: on the roster now, or undone) a newcomer's enrollment into `folder`."""
    under_way = {k: v for k, v in begun(data).items() if k != folder}
    if who is not None:
        under_way[folder] = Pending(" ".join(who.name.split()), who.person_id, tuple(who.groups), by,
                                    datetime.now().astimezone().isoformat(timespec="seconds"))
    keep_note(data / ENROLLING, json.dumps({k: asdict(v) for k, v in under_way.items()}).encode("utf-8")
              if under_way else None)


def finish_cut_short(attendance: Attendance, settings: Settings, enrolled: dict[str, int]) -> list[str]:
    """Enrollments a station never finished: the newcomer added under the name typed when their templates
    are in, else the photos of the half-saved samples removed. One line each, to be said."""
    said = []
    for folder, pending in begun(settings.data).items():
        try:
            if _photos_only(attendance, settings, folder, enrolled):  # kept for extract, which finishes it
                said.append(f"the enrollment of {printable(pending.name)} was cut short after some of its photos "
                            "were saved, before their templates: run `faceattend extract` to finish it under that "
                            "name (or enroll them again)")
                continue
            said += _finish(attendance, settings, folder, pending, folder in enrolled)
        except FaceattendError as exc:  # a hand-edited list ("../exports"): that entry dropped, the rest goes on
            said.append(f"{settings.data / ENROLLING}: the enrollment of {printable(pending.name)} into "
                        f"{printable(folder)} cannot be finished ({exc}); enroll them again")
        note(settings.data, folder)
    return said


def _photos_only(attendance: Attendance, settings: Settings, folder: str, enrolled: dict[str, int]) -> bool:
    """Photos saved and no templates made of them yet, nobody's on the roster (a name refused: GalleryError)."""
    enroll.check_name(folder)
    return folder not in enrolled and attendance.by_folder(folder) is None and \
        enroll.has_photos(settings.images_dir, folder)


def _finish(attendance: Attendance, settings: Settings, folder: str, pending: Pending, has_templates: bool
            ) -> list[str]:
    who = printable(pending.name)
    if attendance.by_folder(folder) is not None:
        return []  # on the roster already: only the note was left
    if not has_templates:
        enroll.remove_person(settings, folder)
        return [f"the enrollment of {who} was cut short before its samples were saved: enroll them again"]
    try:
        attendance.add_person(pending.name, person_id=pending.person_id or folder, groups=pending.groups,
                              folder=folder, user=pending.by or None)
    except FaceattendError as exc:
        return [f"the enrollment of {who} was cut short and cannot be finished ({exc}); its samples are in "
                f"{settings.images_dir / folder}"]
    return [f"the enrollment of {who} was cut short after its samples were saved; {who} is on the roster now"]
