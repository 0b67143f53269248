"""PIN hashes and waits, the current user, the single-station lock file and audit records."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faceattend_tui.errors import RecordsError
from faceattend_tui.filelock import Busy, HeldLock, current_user, hold, holder_record
from faceattend_tui.files import atomic_write, make_private_dir
from faceattend_tui.text import fold, letter

from .models import AuditEntry, Person

if TYPE_CHECKING:
    from .store import Store

LOCK_NAME = "faceattend.lock"
# A station's lock left by a crash, kept here for the next station when a command took the lock first
CUT_OFF_NAME = ".station-cut-off"
PIN_SETTING = "staff_pin"  # the single PIN of logs from before staff accounts
MIN_PIN_LENGTH = 6
FREE_TRIES = 3  # wrong PINs before each further one makes the next try wait
LONGEST_WAIT = 60  # seconds
LOCKOUT_AFTER = 10  # wrong PINs in a row lock PIN entry...
LOCKOUT_SECONDS = 15 * 60  # ...for this long

# scrypt cost: about 16 MiB and a few tens of milliseconds per check.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1


# ----- user and audit ---------------------------------------------------------


def audit(store: Store, action: str, details: dict[str, Any] | None = None, user: str | None = None) -> AuditEntry:
    """Write an audit record (time, user, action, details) to the store and return it."""
    entry = make_audit(store.now(), action, details, user)
    store.add_audit(entry)
    return entry


def make_audit(when: datetime, action: str, details: dict[str, Any] | None = None,
               user: str | None = None) -> AuditEntry:
    return AuditEntry(time=when, user=user or current_user(), action=action, details=dict(details or {}))


# ----- erasure: the audit without the person ------------------------------------

ABOUT_KEYS = ("id", "person")  # an entry whose id or person is theirs is about them
TEXT_KEYS = ("name", "previous_name", "reason", "evidence")  # what such an entry says about them
OWN_NAME_KEYS = ("name", "previous_name")  # an entry about someone else: their own name, kept


ERASED_SETTING = "erased_folders"  # hashes of the photo folders of people erased: not taken in again unasked


def folder_hash(folder: str) -> str:
    return hashlib.sha256(f"erased folder {folder}".encode()).hexdigest()


def note_erased(store: Store, folder: str) -> None:
    """An erased person's folder: photos of it left at a door (or put back) must not bring them back."""
    if folder:
        store.update_setting(ERASED_SETTING, lambda found: sorted({*(found or []), folder_hash(folder)}))


def erased_folders(store: Store) -> Callable[[str], bool]:
    """Whether a folder was an erased person's (read once); one a person owns again was added on purpose."""
    found = set(store.get_setting(ERASED_SETTING) or [])
    return lambda folder: folder_hash(folder) in found


def erased_nobodys(store: Store, people: Iterable[Person] | None = None) -> Callable[[str], bool]:
    """Whether a photo folder was an erased person's and is nobody's again (put back with a backup, left at
    a door): refused, never matched. `people`: the log's, where already read."""
    erased = erased_folders(store)
    owned = {p.folder for p in (store.people() if people is None else people) if p.folder}
    return lambda folder: folder not in owned and erased(folder)


def erased_token() -> str:
    """An anonymous stand-in for an erased person: one per erasure, used in every record it rewrites."""
    return "erased-" + secrets.token_hex(5)


def id_hash(person_id: str) -> str:
    """What the erasure's audit entry keeps of the id: a later clean-up of exports (`--exports`, here or at
    another door) finds the erasure's token by it."""
    return hashlib.sha256(f"erased id {person_id}".encode()).hexdigest()


def erasures_by_id(entries: Iterable[AuditEntry]) -> Callable[[str], datetime | None]:
    """When an id was last erased (None: never), in any case where the erasure kept that much."""
    found: dict[str, datetime] = {}
    for entry in entries:
        for key in ("id_hash", "id_any_case") if entry.action == "person.erase" else ():
            hashed = entry.details.get(key)
            if isinstance(hashed, str) and (hashed not in found or found[hashed] < entry.time):
                found[hashed] = entry.time
    return lambda person_id: found.get(id_hash(person_id)) or found.get(id_hash(person_id.casefold()))


def erasure_details(token: str, records: int, person_id: str) -> dict[str, Any]:
    """The erasure's audit entry: its token, how many records went, and the id's hashes (never the id): as
    written, and in any case (a roster that writes it "s2" still names them)."""
    return {"id": token, "records": records, "id_hash": id_hash(person_id),
            "id_any_case": id_hash(person_id.casefold())}


def token_of_erasure(entries: Iterable[AuditEntry], person_id: str) -> str | None:
    """The token the erasure of `person_id` used, where its audit entry says (None: an erasure before
    entries kept the id's hash, or no erasure of that id)."""
    wanted = id_hash(person_id)
    found = [e.details.get("id") for e in entries if e.action == "person.erase" and e.details.get("id_hash") == wanted]
    return found[-1] if found and isinstance(found[-1], str) else None


def about(details: dict, person_id: str) -> bool:
    """Whether audit details are about this one person."""
    return any(details.get(key) == person_id for key in ABOUT_KEYS) or details.get("people") == [person_id]


def earlier_ids(all_details: Iterable[dict], person_id: str) -> set[str]:
    """A person's id and the ids they had before a roster import claimed them (a generated `p-...` id
    given the organisation's, recorded as "claimed" pairs), however many times over."""
    before: dict[str, set[str]] = {}
    for details in all_details:
        for pair in details.get("claimed") or ():
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(i, str) for i in pair):
                before.setdefault(pair[1], set()).add(pair[0])
    found, todo = {person_id}, [person_id]
    while todo:
        for old in before.get(todo.pop(), set()) - found:
            found.add(old)
            todo.append(old)
    return found


def about_any(details: dict, ids: set[str]) -> bool:
    return any(about(details, person_id) for person_id in ids)


def names_in_audit(all_details: Iterable[dict], person_id: str) -> set[str]:
    """Names the audit knew a person by: a name before a correction, the name when they left, the name
    under an id they had before."""
    rows = list(all_details)
    ids = earlier_ids(rows, person_id)
    found: set[str] = set()
    for details in rows:
        if about_any(details, ids):
            found.update(details[k] for k in ("name", "previous_name") if isinstance(details.get(k), str))
        for pair in details.get("renamed") or ():  # [id, name before] of a roster import
            if isinstance(pair, list) and len(pair) == 2 and pair[0] in ids and isinstance(pair[1], str):
                found.add(pair[1])
    return {name for name in found if name.strip()}


# Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar): a name in
# them is found inside a longer run of letters too ("和王小明一起来": with Wang Xiaoming).
UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
                      "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003ffff]")


def name_pattern(names: Iterable[str]) -> re.Pattern | None:
    """Any of these names as whole words, in any case, with or without their accents, in any order of
    their words and whatever stands between them ("Marr, Bob" finds "bob marr", "José Éa" finds
    "jose_ea" in a file's name); a name in a script written without spaces, wherever it stands. None
    when there is none."""
    orders = {order for n in names if n and n.strip() for spelt in {n, fold(n)} for order in name_orders(spelt)}
    if not orders:
        return None
    spaced = [order for order in orders if not UNSPACED.search("".join(order))]
    parts = [f"(?<!{letter()})(?:{_alternatives(spaced)})(?!{letter()})"] if spaced else []
    unspaced = [order for order in orders if order not in spaced]
    return re.compile("|".join(parts + ([_alternatives(unspaced)] if unspaced else [])), re.IGNORECASE)


def _alternatives(orders: list[tuple[str, ...]]) -> str:
    """Each order of words with anything but letters between them, the longest first."""
    return "|".join(sorted((r"[\W_]+".join(map(re.escape, order)) for order in orders), key=len, reverse=True))


def name_orders(name: str) -> set[tuple[str, ...]]:
    """A name's words as written, and (two to four words) in every order."""
    words = tuple(re.findall(letter() + "+", name)) or (name.strip(),)
    return set(itertools.permutations(words)) if 2 <= len(words) <= 4 else {words}


class Names:
    """An erased person's names in free text (see `name_pattern`), except where they are part of another
    person's longer name: erasing "Anna" leaves "Anna Leeds" alone. A namesake's name cannot be told
    apart from theirs, so in free text it is taken out too. Text is compared with accents composed."""

    def __init__(self, names: Iterable[str], others: Iterable[str] = ()) -> None:
        self.pattern = name_pattern(names)
        pattern = self.pattern
        longer = [] if pattern is None else [
            name for name in {unicodedata.normalize("NFC", o).strip() for o in others}
            if pattern.search(name) and not pattern.fullmatch(name)]
        self.others = name_pattern(longer)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where their names are in `text` (composed), outside other people's names."""
        if self.pattern is None:
            return []
        kept = [m.span() for m in self.others.finditer(text)] if self.others else []
        return [m.span() for m in self.pattern.finditer(text)
                if not any(a < m.end() and m.start() < b for a, b in kept)]

    def search(self, text: str) -> bool:
        return bool(self.spans(unicodedata.normalize("NFC", text)))

    def sub(self, token: str, text: str) -> str:
        """`text` with each of their names replaced by `token`; `text` itself when none is there."""
        composed = unicodedata.normalize("NFC", text)
        spans = self.spans(composed)
        if not spans:
            return text
        parts, last = [], 0
        for start, end in spans:
            parts += [composed[last:start], token]
            last = end
        return "".join(parts) + composed[last:]


def erased_names(person: Person, all_details: Iterable[dict], others: Iterable[str] = ()) -> Names:
    """Every name an erased person had (now, before a correction, when they left), as whole words, except
    inside the longer names of `others` (everyone else's names)."""
    return Names({person.name, *names_in_audit(all_details, person.id)}, others)


# Free text in other people's records that may name someone: a mark's reason, a session's name and why it was voided.
RECORD_TEXTS = {"marks": ("reason",), "sessions": ("name", "void_reason")}


def scrub_audit(rows: Iterable[tuple[Any, dict]], person: Person, token: str, names: Names) -> dict[Any, dict]:
    """The audit details that name a person, rewritten with `token` in their place: {row key: new details}.

    Their id (and any earlier one) and folder as a value, any of their `names` (`erased_names`) inside
    any text, and what entries about them say (a mark's reason, a former name) are replaced; counts and
    other people stay as they were, and so does the name of an entry about someone else (a namesake).
    """
    rows = list(rows)
    ids = earlier_ids((details for _, details in rows), person.id)
    exact = {value for value in (*ids, person.folder) if value}
    # entries of a log from the previous release name a person by their name where today's give the id
    subjects = ids | {person.name} | names_in_audit((details for _, details in rows), person.id)
    changed = {}
    for key, details in rows:
        new = scrub_value(details, exact, names, token)
        if about_any(details, subjects):
            new.update({k: token for k in TEXT_KEYS if k in new})
        elif about_another(details, ids):
            new.update({k: details[k] for k in OWN_NAME_KEYS if k in details})
        if new != details:
            changed[key] = new
    return changed


def about_another(details: dict, ids: set[str]) -> bool:
    """Whether audit details are about one person who is not them."""
    people = details.get("people")
    subject = people[0] if isinstance(people, list) and len(people) == 1 else None
    subject = subject or next((details[k] for k in ABOUT_KEYS if isinstance(details.get(k), str)), None)
    return isinstance(subject, str) and subject not in ids


def scrub_value(value: Any, exact: set[str], pattern: Names | None, token: str) -> Any:
    """`value` (JSON-like) with strings equal to one in `exact` and matches of `pattern` replaced by `token`."""
    if isinstance(value, str):
        return token if value in exact else pattern.sub(token, value) if pattern else value
    if isinstance(value, list):
        return [scrub_value(v, exact, pattern, token) for v in value]
    if isinstance(value, dict):
        return {scrub_value(k, exact, pattern, token): scrub_value(v, exact, pattern, token) for k, v in value.items()}
    return value


# ----- staff PIN -----------------------------------------------------------------


def pin_problem(pin: str, name: str = "") -> str:
    """Why a new PIN cannot be taken ("" when it can): too short, blank or with a space at an end (a
    variable padded by accident), or the first a guesser tries: one key pressed over and over, a run of
    digits (123456, 987654), or the account's own name."""
    if not isinstance(pin, str) or len(pin) < MIN_PIN_LENGTH:
        return f"PIN must be at least {MIN_PIN_LENGTH} characters"
    if pin != pin.strip():
        return "a PIN cannot be blank, begin or end with a space"
    lower = pin.casefold()
    if len(set(pin)) == 1 or _repeats(lower) or _walked(_bare(pin)):
        return ("a PIN of one key repeated, of digits, letters or keys in a row (123456, 1234567890, abcd1234, "
                "qwerty, 1qaz2wsx), or of a run typed again (123123, 12341234) is the first one guessed; "
                "choose another")
    letters = "".join(ch for ch in _bare(pin) if not ch.isdigit())
    orders = (name, " ".join(reversed(name.split())))
    if name and len(letters) >= 3 and any(letters in _bare(order) for order in orders):  # dana123; not 482e91
        return "a PIN cannot be the staff name, with or without digits; choose another"
    plain = _bare(lower.translate(LEET))
    ends = _bare(re.sub(r"^[\W_]+|[\W_]+$", "", lower).translate(LEET))  # p@ssw0rd!, w3lc0m3! with a sign at the end
    if {_bare(pin), letters, plain, ends, "".join(ch for ch in plain if not ch.isdigit())} & COMMON_PINS:
        return "a common password, with or without digits, is among the first guessed; choose another"
    return ""


# Rows of keys a guesser runs along, either way: digits (9 goes on to 0), the alphabet, a keyboard's rows and
# its columns (1qaz2wsx ...).
WALKS = ("1234567890" * 2, "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertzuiop",
         "azertyuiop", "qsdfghjklm", "wxcvbn", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p")
WALK_ROWS = (*WALKS, *(row[::-1] for row in WALKS))
WALK_PIECES = 2  # a PIN made of at most this many runs along them (abcd1234, 123qwe) is one
# Letters written as digits or signs (p@ssw0rd is password).
LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t"})


# What guessers try first (beside runs, repeats and the name): the most common passwords and PINs.
COMMON_PINS = frozenset({
    "password", "passw0rd", "qwerty", "qwertz", "azerty", "qwertyuiop", "asdfgh", "asdfghjkl", "zxcvbn",
    "letmein", "welcome", "iloveyou", "monkey", "dragon", "football", "baseball", "sunshine", "princess",
    "trustno", "trustno1", "master", "shadow", "secret", "changeme", "admin", "administrator", "root", "login",
    "school", "teacher", "student", "station", "attendance", "faceattend", "abc123", "pin", "code",
    "112233", "121212", "123321", "654321", "111222", "159753", "147258", "147852", "258456", "696969",
    "131313", "202020", "101010", "100200", "102030", "123654", "123789", "147369", "789456", "456789",
})


def _repeats(text: str) -> bool:
    """A run typed again and again: 121212, 123123, abcabc, 12341234."""
    return any(len(text) % size == 0 and text == text[:size] * (len(text) // size)
               for size in range(1, len(text) // 2 + 1))


def _walked(text: str) -> bool:
    """Whether the text is made of at most WALK_PIECES runs of 3 or more keys along WALKS, either way."""
    pieces, start = 0, 0
    while start < len(text):
        length = _longest_walk(text, start)
        if length < 3:
            return False
        pieces, start = pieces + 1, start + length
    return 0 < pieces <= WALK_PIECES


def _longest_walk(text: str, start: int) -> int:
    length = 0
    while start + length < len(text) and any(text[start:start + length + 1] in row for row in WALK_ROWS):
        length += 1
    return length


def _bare(text: str) -> str:
    """Letters and digits only, without accents or case: "Céline Gérard", "celine.gerard" -> "celinegerard"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isalnum()).casefold()


def hash_pin(pin: str) -> str:
    """Return a self-describing scrypt hash: ``scrypt$n$r$p$salt$hash`` (hex)."""
    problem = pin_problem(pin)
    if problem:
        raise ValueError(problem)
    salt = secrets.token_bytes(16)
    digest = _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """Check `pin` against a hash from :func:`hash_pin` in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        actual = _scrypt(pin, bytes.fromhex(salt), int(n), int(r), int(p))
    except (AttributeError, ValueError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


class PinError(RecordsError):
    """A PIN that was refused (wrong, missing, or tried too soon), with a message to show."""


@dataclass(frozen=True)
class Credentials:
    """Who asks for a privileged action: a staff account's name ("" for the only account) and its PIN."""

    staff: str = ""
    pin: str = ""

    @classmethod
    def of(cls, given: Credentials | str | None) -> Credentials:
        """Credentials from what a caller gave: credentials, a bare PIN, or nothing."""
        if isinstance(given, Credentials):
            return given
        return cls(pin=given or "")


def in_round(failures: int) -> int:
    """Wrong PINs since the last lockout ended (1 to LOCKOUT_AFTER): after a lockout, tries count from
    the start again, waits and lockout included, while the count itself goes on (readers and writers of
    the log each keep one, and the larger is taken)."""
    return (failures - 1) % LOCKOUT_AFTER + 1 if failures > 0 else 0


def pin_wait(failures: int) -> int:
    """Seconds before the next try after this many wrong PINs in a row."""
    failures = in_round(failures)
    if failures >= LOCKOUT_AFTER:
        return LOCKOUT_SECONDS
    if failures < FREE_TRIES:
        return 0
    return min(2 ** (failures - FREE_TRIES + 1), LONGEST_WAIT)


# ----- lock file -------------------------------------------------------------------


class LockedError(RecordsError, RuntimeError):
    """Another process holds the data directory."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        self.path = path
        self.holder = holder
        self.pid = holder.get("pid")
        self.user = holder.get("user")
        if holder.get("removed"):
            message = (f"attendance data is in use by another process (a station, a command), whose lock file "
                       f"{path} was deleted while it runs")
        elif self.pid is None:
            message = f"{path} is locked by another process (no details available)"
        else:
            message = (
                f"attendance data is in use by user {self.user or '?'} "
                f"(pid {self.pid} on {holder.get('host') or '?'}, since {holder.get('since') or '?'}); "
                f"lock file {path}"
            )
        super().__init__(message)


def acquire_lock(data_root: str | os.PathLike, user: str | None = None, what: str = "",
                 wait: float = 0.0) -> HeldLock:
    """Lock the data directory for this process, or raise :class:`LockedError`; `what` says what holds
    it ("station", "command"), and a lock another command holds is waited for up to `wait` seconds
    (commands are short; a station is not).

    The OS lock dies with its process, so a lock file left by a dead process is simply taken over.
    """
    root = Path(data_root)
    make_private_dir(root)
    holder = holder_record(user, what)
    deadline = time.monotonic() + wait
    while True:
        try:
            lock = hold(root / LOCK_NAME, holder)
        except Busy as exc:
            said = exc.holder.get("pid") is not None  # else taken a moment ago, its holder not written yet
            if (said and exc.holder.get("what") != "command") or time.monotonic() >= deadline:
                raise LockedError(exc.path, exc.holder) from None
            time.sleep(0.1)
            continue
        if lock.left_by.get("what") == "station" and what != "station":
            keep_cut_off(root, lock.left_by)
        return lock


def keep_cut_off(root: Path, left_by: dict[str, Any]) -> None:
    """A station's lock left by a crash, taken by a command: kept for the next station to say."""
    with contextlib.suppress(OSError):
        atomic_write(root / CUT_OFF_NAME, json.dumps(left_by).encode("utf-8"))


def station_cut_off(root: Path, lock: HeldLock) -> dict[str, Any]:
    """The lock record of a station that ended without closing (a crash, a kill): from the lock this station
    took over, or kept by a command that took it first; given once, then forgotten."""
    left = lock.left_by if lock.left_by.get("what") == "station" else {}
    marker = root / CUT_OFF_NAME
    if not left:
        with contextlib.suppress(OSError, ValueError):
            found = json.loads(marker.read_text(encoding="utf-8"))
            left = found if isinstance(found, dict) else {}
    with contextlib.suppress(OSError):
        marker.unlink()
    return left
