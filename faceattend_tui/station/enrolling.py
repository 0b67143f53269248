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
    try:
        found = json.loads((data / ENROLLING).read_text(encoding="utf-8"))
        return {str(folder): Pending(str(p["name"]), str(p["person_id"]), tuple(map(str, p["groups"])), str(p["by"]),
                                     str(p["when"])) for folder, p in found.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


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
        who = printable(pending.name)
        if attendance.by_folder(folder) is not None:
            pass  # on the roster already: only the note was left
        elif folder in enrolled:
            try:
                attendance.add_person(pending.name, person_id=pending.person_id or folder, groups=pending.groups,
                                      folder=folder, user=pending.by or None)
                said.append(f"the enrollment of {who} was cut short after its samples were saved; {who} is on the "
                            "roster now")
            except FaceattendError as exc:
                said.append(f"the enrollment of {who} was cut short and cannot be finished ({exc}); its samples "
                            f"are in {settings.images_dir / folder}")
        else:
            enroll.remove_person(settings, folder)
            said.append(f"the enrollment of {who} was cut short before its samples were saved: enroll them again")
        note(settings.data, folder)
    return said
