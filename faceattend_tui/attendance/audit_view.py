"""The audit log as people read it: filtered by person, action, staff member and day, one line per entry."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo

from .models import AuditEntry
from .security import about_any, earlier_ids
from .staff import name_key


@dataclass(frozen=True)
class AuditFilter:
    person: str = ""  # a person id
    action: str = ""  # the start of an action, e.g. "session" or "pin.fail"
    staff: str = ""  # who did it (a staff account or the machine's user), as staff names compare
    date_from: date | None = None
    date_to: date | None = None

    def keeps(self, entry: AuditEntry, zone: tzinfo | None, ids: set[str] | None = None) -> bool:
        """Whether the filter keeps the entry; `ids`: the person's ids, theirs now and any earlier one."""
        day = entry.time.astimezone(zone).date() if zone else entry.time.astimezone().date()
        return ((not self.person or mentions(entry.details, ids or {self.person}))
                and (not self.action or entry.action.startswith(self.action.strip().lower()))
                and (not self.staff or name_key(entry.user) == name_key(self.staff))
                and (self.date_from is None or day >= self.date_from)
                and (self.date_to is None or day <= self.date_to))


def mentions(details: dict, ids: set[str]) -> bool:
    """Whether an entry is about this person (any of their `ids`) alone or lists them among others (an
    import, a sync)."""
    people = details.get("people")
    return about_any(details, ids) or isinstance(people, list) and any(i in people for i in ids)


def matching(entries: Iterable[AuditEntry], wanted: AuditFilter, zone: tzinfo | None = None) -> list[AuditEntry]:
    """The entries the filter keeps, oldest first; a person's include those under an id they had before
    a roster import gave them the organisation's."""
    entries = list(entries)
    ids = earlier_ids((e.details for e in entries), wanted.person.strip()) if wanted.person else None
    return sorted((e for e in entries if wanted.keeps(e, zone, ids)), key=lambda e: e.time)


LIST_SHOWN = 8  # items of a long list shown in a detail line (a year's export names 1,000 sessions)


def describe_details(details: dict, whole: bool = False) -> str:
    """Details as one short line: key=value, values as JSON where they are not plain text; a long
    list as its first items and how many there are, unless `whole` (`audit --json` keeps them all)."""
    parts = []
    for key, value in details.items():
        if isinstance(value, list) and len(value) > LIST_SHOWN and not whole:
            head = ", ".join(json.dumps(v, ensure_ascii=False) for v in value[:LIST_SHOWN - 1])
            shown = f"[{head}, ... {len(value) - LIST_SHOWN + 1} more]"
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    return ", ".join(parts)
