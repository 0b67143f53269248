"""Named staff accounts, their roles and PINs, and who may do what.

Accounts live in the log's settings (`staff_accounts`), each with a salted scrypt hash of its PIN.
A log from before accounts, with one staff PIN, reads as one admin account named "admin" until
an account is added or changed. With no account and no PIN, nothing asks.

Wrong PINs count per account, in their own setting, and each PIN is checked with that count locked:
tries fired at once are held in turn like tries one after another (and right ones all go through). A command that only
reads the log (a snapshot) counts beside it, in a file of its own, and each side goes on from the other.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, get_args

from faceattend_tui.errors import InputError
from faceattend_tui.text import APOSTROPHES, scripts

from .common import from_iso, to_iso
from .models import AuditEntry
from .security import (
    FREE_TRIES,
    LOCKOUT_AFTER,
    LOCKOUT_SECONDS,
    LONGEST_WAIT,
    PIN_SETTING,
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    Credentials,
    PinError,
    audit,
    current_user,
    hash_pin,
    in_round,
    pin_problem,
    pin_wait,
    verify_pin,
)
from .store import NotFoundError, Store, StoreError
from .tries import TriesFile

ACCOUNTS_SETTING = "staff_accounts"  # {name: {"role", "pin", "created", "by"}}
FAILURES_PREFIX = "staff_failures:"  # + account name: {"count": wrong PINs in a row, "until": no try before}
UNKNOWN = "?"  # a name that is no account, as the audit says it (what was typed may be a PIN)
LEGACY_ADMIN = "admin"  # the account today's single staff PIN becomes
AUTOMATIC = ("station", "timetable")  # actors of what runs on its own; no account may take these names
Role = Literal["viewer", "staff", "admin"]
Action = Literal["pin", "export", "session", "mark", "void", "hours", "people", "erase", "extract", "db",
                 "timetable", "staff"]
ROLES: tuple[Role, ...] = get_args(Role)  # each may do what those before it may
UNCOUNTED_PAUSE = 2.0  # seconds a wrong PIN costs where the log cannot count it


class NotAllowed(PinError):
    """The right PIN of an account whose role may not do this."""


@dataclass(frozen=True)
class Permission:
    action: Action
    role: Role  # the least role that may do it
    what: str


PERMISSIONS = (
    Permission("pin", "viewer", "change one's own PIN (TUI ctrl+p, Change my PIN; faceattend pin)"),
    Permission("export", "viewer", "export sheets and write reports (TUI x; faceattend export, report)"),
    Permission("session", "staff", "start and stop sessions (TUI s; a headless station's --session)"),
    Permission("mark", "staff", "mark a person present, late or absent, with a reason (TUI m)"),
    Permission("void", "admin", "void or edit past sessions (faceattend sessions void, edit)"),
    Permission("hours", "admin", "correct a day's in and out in work mode (faceattend hours correct)"),
    Permission("people", "admin",
               "enroll, import, edit, remove and restore people (TUI e, d, roster import; faceattend people)"),
    Permission("erase", "admin", "erase a person with their records (people remove --erase)"),
    Permission("extract", "admin", "build the templates from the photos (faceattend extract)"),
    Permission("db", "admin", "upgrade the shared database or import a log into it (faceattend db)"),
    Permission("timetable", "admin", "import and remove timetables and days off (faceattend timetable)"),
    Permission("staff", "admin", "add and remove staff accounts (faceattend staff add, remove)"),
)
NEEDS = {p.action: p.role for p in PERMISSIONS}


def roles_table() -> str:
    """The table of what each role may do, as the README shows it."""
    lines = ["| action | viewer | staff | admin |", "|---|---|---|---|"]
    for p in PERMISSIONS:
        marks = ["yes" if allowed(role, p.action) else "-" for role in ROLES]
        lines.append(f"| {p.what} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def allowed(role: Role, action: Action) -> bool:
    return ROLES.index(role) >= ROLES.index(NEEDS[action])


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    pin: str  # scrypt hash
    created: datetime | None = None
    by: str = ""

    def to_doc(self) -> dict:
        return {"role": self.role, "pin": self.pin, "created": to_iso(self.created), "by": self.by}

    @classmethod
    def from_doc(cls, name: str, doc: dict) -> Account:
        role = _role(doc.get("role"))
        return cls(name, role, str(doc.get("pin") or ""), from_iso(doc.get("created")), str(doc.get("by") or ""))


def _role(value: Any) -> Role:
    """A stored role; an unknown one gets the least."""
    for role in ROLES:
        if value == role:
            return role
    return "viewer"


# ----- reading and writing the accounts ------------------------------------------------


def accounts(store: Store) -> dict[str, Account]:
    """The staff accounts by name; a log with only today's staff PIN has one admin, "admin"."""
    docs = store.get_setting(ACCOUNTS_SETTING) or {}
    if docs:
        return {name: Account.from_doc(name, doc) for name, doc in docs.items() if isinstance(doc, dict)}
    legacy = store.get_setting(PIN_SETTING)
    return {LEGACY_ADMIN: Account(LEGACY_ADMIN, "admin", legacy)} if legacy else {}


def staff_required(store: Store) -> bool:
    """Whether privileged actions ask for a staff account (any account, or today's PIN, exists)."""
    return bool(accounts(store))


def find(store: Store, name: str) -> Account | None:
    """The account of this name, as names compare (`name_key`)."""
    return _named(accounts(store), name)


def _change(store: Store, change: Callable[[dict[str, Account]], dict[str, Account]]) -> None:
    """Change the accounts as they are when written, with the setting locked: two doors adding or removing
    accounts at once on a shared database each see the other's change (`change` may refuse, raising).
    Today's single PIN is then one of them and goes."""
    legacy = store.get_setting(PIN_SETTING)

    def apply(docs: Any) -> dict[str, Any] | None:
        current = {n: Account.from_doc(n, d) for n, d in (docs or {}).items() if isinstance(d, dict)}
        if not current and legacy:
            current = {LEGACY_ADMIN: Account(LEGACY_ADMIN, "admin", legacy)}
        return {n: a.to_doc() for n, a in change(current).items()} or None

    store.update_setting(ACCOUNTS_SETTING, apply)
    if legacy:
        store.set_setting(PIN_SETTING, None)


def _named(found: dict[str, Account], name: str) -> Account | None:
    wanted = name_key(name)
    return next((a for n, a in found.items() if name_key(n) == wanted), None)


INVISIBLE = {0x034F, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}  # the grapheme joiner, variation selectors


def name_key(name: str) -> str:
    """How staff names compare: case, width ("ｓｔａｔｉｏｎ"), runs of spaces, the kind of apostrophe and
    characters that show nothing aside ("Dana Lee" with an invisible mark is Dana Lee)."""
    text = unicodedata.normalize("NFKC", name).translate(APOSTROPHES)
    seen = "".join(ch for ch in text if ord(ch) not in INVISIBLE and unicodedata.category(ch) != "Cf")
    return " ".join(seen.casefold().split())


MAX_NAME = 64  # characters: María de los Ángeles Fernández-Gómez fits
NAME_MARKS = " .-_'’·・׳״‧\u200c\u200d"  # besides letters and digits: O'Brien, ジョン・スミス, ג׳ון, 黃‧小明, علی‌رضا


def name_shape(name: str) -> bool:
    """1 to MAX_NAME characters: a letter or digit first, then letters (with their vowel signs and accents,
    as Hindi, Thai or Yoruba write them), digits, spaces and NAME_MARKS."""
    def fits(ch: str) -> bool:
        return ch.isalnum() or unicodedata.category(ch).startswith("M") or ch in NAME_MARKS
    return 1 <= len(name) <= MAX_NAME and name[0].isalnum() and all(fits(ch) for ch in name)


def check_name(name: str) -> str:
    name = " ".join(unicodedata.normalize("NFC", name).split())  # an accent typed apart is one letter
    if not name_shape(name):
        raise InputError(f"a staff name is 1 to {MAX_NAME} letters, digits, spaces, apostrophes, dots, dashes or "
                         f"underscores, starting with a letter or digit: {name!r}")
    if name_key(name) in AUTOMATIC:
        raise InputError(f"{name!r} names what the station does on its own; choose another name")
    if len(scripts(name)) > 1:  # "Dаna" with a Cyrillic а reads as Dana in every list
        raise InputError(f"{name!r} mixes letters of several alphabets ({', '.join(sorted(scripts(name)))}), "
                         "so it can pass for another name; write it in one")
    return name


def add_account(store: Store, name: str, role: str, pin: str, actor: str) -> Account:
    """A new account; the first one must be an admin, so someone can manage the others."""
    name = check_name(name)
    if role not in ROLES:
        raise InputError(f"the role is one of {', '.join(ROLES)}, not {role!r}")
    if pin_problem(pin, name):
        raise InputError(pin_problem(pin, name))
    account = Account(name, role, hash_pin(pin), store.now(), actor)

    def add(found: dict[str, Account]) -> dict[str, Account]:
        if _named(found, name):
            raise InputError(f"there is already a staff account named {name!r}")
        if not found and role != "admin":
            raise InputError("the first staff account must be an admin (--role admin)")
        return {**found, name: account}

    with store.batch():
        _change(store, add)
        audit(store, "staff.add", {"staff": name, "role": role}, actor)
    return account


def remove_account(store: Store, name: str, actor: str) -> Account:
    """Remove an account; the last admin goes only with the last account (then nothing asks)."""
    account = _existing(store, name)

    def remove(found: dict[str, Account]) -> dict[str, Account]:
        if account.name not in found:
            raise NotFoundError(f"the staff account {account.name!r} was removed meanwhile")
        rest = {n: a for n, a in found.items() if n != account.name}
        if account.role == "admin" and rest and not any(a.role == "admin" for a in rest.values()):
            raise InputError(f"{account.name} is the last admin; add another admin account first")
        return rest

    with store.batch():
        _change(store, remove)
        _forget_failures(store, account.name)
        audit(store, "staff.remove", {"staff": account.name, "role": account.role}, actor)
    return account


def set_account_pin(store: Store, name: str, pin: str, actor: str, *, reset: bool = False) -> Account:
    """A new PIN for an account: its own change, or a reset for a lost one (audited as such)."""
    account = _existing(store, name)
    if pin_problem(pin, account.name):
        raise InputError(pin_problem(pin, account.name))
    changed = Account(account.name, account.role, hash_pin(pin), account.created, account.by)
    details = {"staff": account.name}
    if reset:
        details["warning"] = "set without the previous PIN (lost PIN reset)"

    def repin(found: dict[str, Account]) -> dict[str, Account]:
        if account.name not in found:
            raise NotFoundError(f"the staff account {account.name!r} was removed meanwhile")
        return {**found, account.name: changed}

    with store.batch():
        _change(store, repin)
        _forget_failures(store, account.name)
        audit(store, "staff.reset" if reset else "staff.pin", details, actor)
    return changed


def _existing(store: Store, name: str) -> Account:
    account = find(store, name)
    if account is None:
        known = ", ".join(sorted(accounts(store))) or "none"
        raise NotFoundError(f"no staff account named {name!r} (accounts: {known})")
    return account


def open_resets(store: Store) -> list[AuditEntry]:
    """The lost-PIN resets whose account has not chosen its own PIN since (another account's change
    does not count), oldest first."""
    pending: dict[str, AuditEntry] = {}
    for entry in store.audit_log():
        whose = name_key(str(entry.details.get("staff") or LEGACY_ADMIN))
        if entry.action in ("pin.reset", "staff.reset"):
            pending[whose] = entry
        elif entry.action in ("staff.pin", "staff.remove"):
            pending.pop(whose, None)
        elif entry.action in ("pin.set", "pin.clear"):  # the single staff PIN of before accounts
            pending.pop(name_key(LEGACY_ADMIN), None)
    return sorted(pending.values(), key=lambda e: e.time)


# ----- checking who asks ------------------------------------------------------------------


def authorize(store: Store, action: Action, given: Credentials | str | None, fallback: str | None = None) -> str:
    """The actor to record for a privileged action, or PinError.

    With no account, anyone may, recorded under `fallback` (the user of the machine). Otherwise the
    account named (or the only one) must give its PIN and have a role that may do `action`.
    """
    found = accounts(store)
    if not found:
        return fallback or current_user()
    who = Credentials.of(given)
    if not who.pin:  # not a try: nothing to count
        raise PinError("this needs a staff PIN" if len(found) == 1 else "this needs your staff name and PIN")
    account = _chosen(found, who.staff)
    with store.exclusive():
        _check(store, account, who, action, fallback or current_user())
    assert account is not None  # _check refused a name that is no account
    if not allowed(account.role, action):
        audit(store, "staff.denied", {"staff": account.name, "role": account.role, "action": action}, account.name)
        higher = " or higher" if NEEDS[action] != ROLES[-1] else ""
        raise NotAllowed(f"{account.name} has {_a(account.role)} account: to {doing(action)} needs "
                         f"{_a(NEEDS[action])} account{higher}")
    return account.name


def _chosen(found: dict[str, Account], name: str) -> Account | None:
    """The account a name picks; the only account when no name is given."""
    if not name.strip():
        if len(found) == 1:
            return next(iter(found.values()))
        raise PinError("give your staff name with the PIN")
    return _named(found, name)


def _check(store: Store, account: Account | None, who: Credentials, action: Action, login: str) -> None:
    """A PIN tried for an account; a wrong one is audited under the `login` it came from (whoever typed
    it is not the account's owner, maybe), the account it was for in the details."""
    key = account.name if account else unknown_key(who.staff)  # as slow as checking an account's PIN
    shown = account.name if account else UNKNOWN
    wrong = "wrong staff name or PIN" if who.staff.strip() else "wrong PIN"  # never tells which names exist
    aside = _aside(store)
    try:
        outcome = _try(store, key, aside, lambda: _right(account, who))
    except StoreError:
        if not store.read_only:
            raise
        _uncounted(store, key, account, who, wrong, (action, login))  # a reader that cannot write beside the log
        return
    if outcome.wait_left > 0:
        audit(store, "pin.refused", {"staff": shown, "failures": outcome.count, "action": action}, login)
        raise PinError(_waiting(outcome.count, outcome.wait_left))
    if outcome.count == 0:
        _forget_failures(store, key)
        return
    count, wait = outcome.count, pin_wait(outcome.count)
    audit(store, "pin.fail", {"staff": shown, "failures": count, "wait_seconds": wait, "action": action}, login)
    if wait >= LOCKOUT_SECONDS:
        raise PinError(_waiting(count, wait))
    left = LOCKOUT_AFTER - in_round(count)
    raise PinError(f"{wrong}, {left} {'try' if left == 1 else 'tries'} left"
                   + (f"; wait {wait} s before the next" if wait else ""))


UNKNOWN_SALT = b"faceattend: a staff name that is no account"


def unknown_key(name: str) -> str:
    """Where the wrong tries of a name that is no account are counted: each such name on its own, as an
    account's are (one count shared by them all told the real names apart: they alone started again at
    "9 tries left"). A slow digest, not the name: what was typed there may be a PIN, and the log keeps
    this no easier to guess from than the PINs' own hashes. It takes as long as checking a PIN, which a
    name that is no account never has: both answer in the same time."""
    digest = hashlib.scrypt(name_key(name).encode("utf-8"), salt=UNKNOWN_SALT, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=12)
    return UNKNOWN + digest.hex()


def _right(account: Account | None, who: Credentials) -> bool:
    """Whether the PIN is the account's (a name that is no account took its time in `unknown_key`)."""
    return account is not None and verify_pin(who.pin or "", account.pin)


def _uncounted(store: Store, key: str, account: Account | None, who: Credentials, wrong: str,
               asked: tuple[Action, str]) -> None:
    """Where no try can be counted: the log's lockout still holds, each wrong try costs time and is
    audited where the audit can still be written (`asked`: the action, the login)."""
    state = store.get_setting(FAILURES_PREFIX + key)
    left = _seconds_left(state if isinstance(state, dict) else {}, store.shared_now())
    if left > 0:
        raise PinError(_waiting(int(state.get("count", 0)), left))
    if _right(account, who):
        return
    with contextlib.suppress(StoreError, OSError):
        audit(store, "pin.fail", {"staff": account.name if account else UNKNOWN, "action": asked[0],
                                  "counted": False}, asked[1])
    time.sleep(UNCOUNTED_PAUSE)
    raise PinError(f"{wrong} (tries cannot be counted here; each wrong one waits)")


def _aside(store: Store) -> TriesFile | None:
    """Where a reader of this log counts wrong PINs (the log keeps the writers' count)."""
    return TriesFile(store.tries_path) if store.tries_path is not None else None


def _forget_failures(store: Store, key: str) -> None:
    """A right PIN, a new PIN or a removed account: the wrong tries so far no longer count. Beside the
    log a count of 0 is kept with its time, so that a writer's older count in the log does not win."""
    if not store.read_only:
        store.set_setting(FAILURES_PREFIX + key, None)
    aside = _aside(store)
    if aside is not None and (not store.read_only or aside.path.exists()):
        cleared = {"count": 0, "at": to_iso(store.shared_now())}
        with contextlib.suppress(StoreError):
            aside.update(FAILURES_PREFIX + key, lambda state: cleared if state else None)


@dataclass
class Outcome:
    count: int = 0  # wrong tries in a row with this one; 0: the PIN was right
    wait_left: float = 0.0  # > 0: refused unchecked, this many seconds still to wait


def _try(store: Store, key: str, aside: TriesFile | None, right: Callable[[], bool]) -> Outcome:
    """Check a PIN (`right`) with the account's count locked, so that tries fired at once are held in turn
    like tries one after another, and count it; a try that must still wait is refused unchecked.

    Every try is counted in the file beside the log, under its lock, the newer of its count and the
    log's going on (a right PIN on either side breaks the row); writers keep the count in the log too.
    A reader sees the log as it was when it started, the file as it is now: a command left at its PIN
    prompt meets a lockout that began meanwhile.
    """
    now = store.shared_now()  # one clock for every door: theirs may be minutes apart
    outcome = Outcome()
    setting = FAILURES_PREFIX + key

    def change(state: Any, other: Any) -> dict[str, Any] | None:
        state, other = (s if isinstance(s, dict) else {} for s in (state, other))
        newer = max((state, other), key=lambda s: _counted_at(s, now))  # the file's, when both are as new
        so_far = int(newer.get("count", 0))
        outcome.wait_left = max(_seconds_left(state, now), _seconds_left(other, now))
        if outcome.wait_left > 0:  # the side that holds the lockout is kept on both (a file deleted meanwhile)
            outcome.count = so_far
            return (state if _seconds_left(state, now) >= _seconds_left(other, now) else other) or None
        if right():  # the row is broken, here and for the other side's older count
            return {"count": 0, "at": to_iso(now)} if so_far else None
        outcome.count = so_far + 1
        return {"count": outcome.count, "until": to_iso(now + timedelta(seconds=pin_wait(outcome.count))),
                "at": to_iso(now)}

    if aside is not None:
        try:
            counted = aside.update(setting, lambda state: change(state, store.get_setting(setting)))
        except StoreError:
            if store.read_only:
                raise
        else:
            if not store.read_only:
                store.set_setting(setting, counted)
            return outcome
    if store.read_only:
        raise StoreError("this log cannot be written and has nowhere to count wrong PINs")
    store.update_setting(setting, lambda state: change(state, None))  # a shared database: its row is locked
    return outcome


CLOCK_SLACK = 60.0  # seconds a wait may seem to last beyond its length (tries read the clock a moment apart)


def _counted_at(state: dict[str, Any], now: datetime) -> datetime:
    """When a count was last changed; long ago for a count of before this was recorded, and for one
    counted while the clock ran ahead (its time is still to come), so that a right PIN since breaks the row."""
    long_ago = datetime.min.replace(tzinfo=timezone.utc)
    try:
        at = from_iso(state.get("at")) or long_ago
    except (TypeError, ValueError):
        return long_ago
    return long_ago if at > now + timedelta(seconds=CLOCK_SLACK) else at


def _seconds_left(state: dict, now: datetime) -> float:
    """The wait still to come. One that ends further off than its own length is over: the clock was put
    back since (NTP correcting one that ran ahead), and a wrong PIN's 2-second wait must not become a
    day's lockout, nor a lockout last as long as the clock was wrong."""
    until = from_iso(state.get("until")) if state else None
    if until is None or now >= until:
        return 0.0
    left = (until - now).total_seconds()
    return 0.0 if left > _longest(state) + CLOCK_SLACK else left


def _longest(state: dict) -> int:
    count = state.get("count")
    return pin_wait(count) if isinstance(count, int) and count > 0 else LOCKOUT_SECONDS


def _waiting(count: int, seconds: float) -> str:
    if in_round(count) >= LOCKOUT_AFTER or seconds > LONGEST_WAIT:  # a lockout, not one of the growing waits
        return (f"PIN entry is locked after {count} wrong PINs; try again in {_minutes(seconds)} "
                "(a lost PIN: faceattend staff reset NAME)")
    return f"too many wrong PINs: wait {max(1, round(seconds))} s before the next try"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{max(1, round(seconds))} s"


def _a(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def doing(action: Action) -> str:
    return {"pin": "change your PIN", "export": "export or report", "session": "start or stop a session",
            "mark": "mark a person",
            "people": "change the roster", "erase": "erase a person", "extract": "extract templates",
            "db": "change the database", "timetable": "change the timetable", "void": "void or edit a session",
            "staff": "manage staff accounts", "hours": "correct hours"}[action]


__all__ = ["ACCOUNTS_SETTING", "AUTOMATIC", "FREE_TRIES", "LEGACY_ADMIN", "NEEDS", "PERMISSIONS", "ROLES",
           "Account", "NotAllowed", "Permission", "accounts", "add_account", "allowed", "authorize", "check_name",
           "doing", "find", "open_resets", "remove_account", "roles_table", "set_account_pin", "staff_required"]
