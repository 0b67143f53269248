"""Staff accounts on the command line: who asks (name and PIN), and `faceattend staff` and `pin`.

A PIN is never an argument: it is typed on a terminal, or given to scripts in FACEATTEND_PIN
(with FACEATTEND_STAFF naming the account).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend_tui.attendance import current_user
from faceattend_tui.attendance.models import plural
from faceattend_tui.attendance.security import MIN_PIN_LENGTH, Credentials, PinError, pin_problem
from faceattend_tui.attendance.staff import (
    LEGACY_ADMIN,
    accounts,
    add_account,
    authorize,
    find,
    remove_account,
    roles_table,
    set_account_pin,
    staff_required,
)
from faceattend_tui.cli import EXIT_OK, say
from faceattend_tui.cli.records import (
    CommandError,
    actor,
    asked_first,
    checked_first,
    refuse_while_a_station_runs,
    writable,
)
from faceattend_tui.config import Settings
from faceattend_tui.text import cell

STAFF_VARIABLE = "FACEATTEND_STAFF"
PIN_VARIABLE = "FACEATTEND_PIN"
EXIT_REFUSED = 4  # a staff PIN was needed and not given, wrong, or the account's role may not
RESET_PHRASE = "reset the pin"
NEW_PIN_TRIES = 3  # a refused or mistyped new PIN is asked again this many times in all

if TYPE_CHECKING:
    from faceattend_tui.attendance import Store
    from faceattend_tui.attendance.staff import Action
    from faceattend_tui.cli import Command, Subparsers


def credentials(store: Store) -> Credentials | None:
    """Who runs this command: from the environment, or asked on the terminal; None when nothing asks."""
    if not staff_required(store):
        return None
    pin = os.environ.get(PIN_VARIABLE)
    if pin is not None:
        return Credentials(os.environ.get(STAFF_VARIABLE, ""), pin)
    if not sys.stdin.isatty():
        raise CommandError(f"this needs a staff name and PIN: run it on a terminal, or set {STAFF_VARIABLE} and "
                           f"{PIN_VARIABLE} for a script", EXIT_REFUSED)
    name = os.environ.get(STAFF_VARIABLE) or ("" if len(accounts(store)) == 1 else input("staff name: ").strip())
    return Credentials(name, getpass.getpass("staff PIN: "))


def asks_on_terminal(store: Store) -> bool:
    """Whether `credentials` will ask the staff member at the terminal (and wait for them)."""
    return staff_required(store) and PIN_VARIABLE not in os.environ and sys.stdin.isatty()


def authorized(store: Store, action: Action, fallback: str | None = None, given: Credentials | None = None) -> str:
    """The staff member to record for `action` (`given`: the name and PIN asked already); CommandError
    (exit 4) when refused."""
    try:
        return authorize(store, action, given or credentials(store), fallback)
    except PinError as exc:
        raise CommandError(str(exc), EXIT_REFUSED) from None


def new_pin(whose: str) -> str:
    """A new PIN, typed twice (or FACEATTEND_NEW_PIN for a script); on a terminal a PIN the rules refuse
    is said at once and asked again, before it is typed a second time."""
    given = os.environ.get("FACEATTEND_NEW_PIN")
    if given is not None:
        if pin_problem(given, whose):
            raise CommandError(f"FACEATTEND_NEW_PIN: {pin_problem(given, whose)}")
        return given
    if not sys.stdin.isatty():
        raise CommandError("a new PIN is typed on a terminal (or given in FACEATTEND_NEW_PIN for a script)")
    for _ in range(NEW_PIN_TRIES):
        pin = getpass.getpass(f"new PIN for {whose} (at least {MIN_PIN_LENGTH} characters): ")
        problem = pin_problem(pin, whose) or ("" if getpass.getpass("again: ") == pin else "the two PINs differ")
        if not problem:
            return pin
        say(problem)
    raise CommandError(f"no PIN set after {NEW_PIN_TRIES} tries; nothing changed")


# ----- faceattend staff ----------------------------------------------------------------------


def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    if args.role != "admin" and not has_accounts(settings):  # said before the PIN is asked or a log made
        raise CommandError(f"the data folder {settings.data.resolve()} has no staff account yet: the first is an "
                           "admin (--role admin); or give --data for the folder where the admin was made")
    first = not has_accounts(settings)  # the first account, an admin, may start the log
    if first:  # said before the new PIN is typed twice for nothing
        refuse_while_a_station_runs(settings, "; stop the station first")
    chosen: list[str] = [new_pin(args.name)] if first else []  # asked before the data is held (nothing asks a PIN)
    ask = None if first else lambda: chosen.append(new_pin(args.name))
    with writable(settings, "staff", fresh=first, ask=ask) as attendance:
        try:
            name = actor(attendance)  # refused here, before a new PIN is asked, without a staff PIN
            account = add_account(attendance.store, args.name, args.role, chosen[0] if chosen else new_pin(args.name),
                                  name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    say(f"staff account {account.name} added ({account.role})")
    return EXIT_OK


def has_accounts(settings: Settings) -> bool:
    from faceattend_tui.attendance.tiny.files import LOG_NAME
    from faceattend_tui.cli.records import snapshot

    if not settings.database and not (settings.data / LOG_NAME).exists():
        return False
    with snapshot(settings) as store:
        return bool(accounts(store))


def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> int:
    from faceattend_tui.cli.records import snapshot

    with snapshot(settings) as store:
        found = accounts(store)
    for account in sorted(found.values(), key=lambda a: a.name.casefold()):
        since = f"since {account.created:%Y-%m-%d}" if account.created else "from the single staff PIN"
        by = f" (added by {account.by})" if account.by else ""
        print(f"{cell(account.name, 32)} {account.role:7s} {since}{by}")
    say(plural(len(found), "staff account") if found else "no staff accounts: nothing asks for a PIN")
    return EXIT_OK


def cmd_staff_remove(args: argparse.Namespace, settings: Settings) -> int:
    with writable(settings, "staff") as attendance:
        try:
            account = remove_account(attendance.store, args.name, actor(attendance))
        except (LookupError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        left = staff_required(attendance.store)
    say(f"staff account {account.name} removed" + ("" if left else "; no account is left, nothing asks for a PIN"))
    return EXIT_OK


def cmd_staff_reset(args: argparse.Namespace, settings: Settings) -> int:
    """A lost PIN: a new one without the old, for whoever may write to the data root. Loud and audited."""
    if not settings.database and not settings.data.is_dir():  # a mistyped --data: not a question of access
        raise CommandError(f"{settings.data}: no such folder; give the data folder with --data")
    if not os.access(settings.data, os.W_OK):
        raise CommandError(f"{settings.data}: a PIN reset needs write access to the data root", EXIT_REFUSED)
    refuse_while_a_station_runs(settings, "; stop the station first")
    from faceattend_tui.cli.records import snapshot

    with snapshot(settings) as store:  # everything asked before the data is held: a station may start meanwhile
        known = find(store, args.name) is not None
    if not known:
        raise CommandError(f"no staff account named {args.name!r}")
    say(f"This gives {args.name} a new PIN without the old one. It is recorded in the audit log as a "
        f"PIN reset by {current_user()}, and every station says so until {args.name} chooses a new PIN.")
    if not args.yes and not sys.stdin.isatty():
        raise CommandError("not reset: no terminal to confirm on; run it again with --yes")
    if not args.yes and input(f'type "{RESET_PHRASE}" to go on: ').strip().lower() != RESET_PHRASE:
        raise CommandError("not reset")
    pin = new_pin(args.name)
    with writable(settings) as attendance:
        if find(attendance.store, args.name) is None:  # removed while the PIN was typed
            raise CommandError(f"no staff account named {args.name!r}")
        account = set_account_pin(attendance.store, args.name, pin, actor(attendance), reset=True)
    say(f"the PIN of {account.name} was reset")
    return EXIT_OK


def cmd_staff_roles(args: argparse.Namespace, settings: Settings) -> int:
    print(roles_table())
    return EXIT_OK


# ----- faceattend pin: one's own PIN ----------------------------------------------------------


def cmd_pin(args: argparse.Namespace, settings: Settings) -> int:
    """Change one's own PIN; with no account yet, make the first admin ("admin"); --clear, --reset."""
    if args.reset:
        return _reset_only(args, settings)
    # the station's Change my PIN changes an account's PIN; it makes no first account and clears none
    at_the_station = not args.clear and has_accounts(settings)
    refuse_while_a_station_runs(settings, "; change it at the station: ctrl+p, Change my PIN" if at_the_station
                                else "; stop the station first")
    # everything asked on the terminal before the data is held: a station may start meanwhile
    first = new_pin(LEGACY_ADMIN) if not args.clear and not has_accounts(settings) else None
    given = asked_first(settings) if first is None else None
    if given is not None:
        checked_first(settings, "staff" if args.clear else "pin", given)  # before a new PIN is typed twice
    chosen = new_pin(own_name(settings, given)) if given is not None and not args.clear else None
    with writable(settings, fresh=not args.clear) as attendance:  # nothing to clear where there is no log
        store = attendance.store
        if not staff_required(store):
            if args.clear:
                raise CommandError("there is no staff PIN to clear")
            account = add_account(store, LEGACY_ADMIN, "admin", first or new_pin(LEGACY_ADMIN), actor(attendance))
            say(f"staff PIN set: the admin account {account.name!r} (add others with: faceattend staff add)")
            return EXIT_OK
        name = authorized(store, "staff" if args.clear else "pin", given=given)  # any role may change its own
        if args.clear:
            return _clear(store, name)
        set_account_pin(store, name, chosen or new_pin(name), name)
    say(f"the PIN of {name} was changed")
    return EXIT_OK


def own_name(settings: Settings, given: Credentials) -> str:
    """The account whose PIN is being changed: the name given, or the only account's."""
    from faceattend_tui.cli.records import snapshot

    if given.staff:
        return given.staff
    with snapshot(settings) as store:
        found = list(accounts(store))
    return found[0] if len(found) == 1 else given.staff


def _clear(store: Store, name: str) -> int:
    """No PIN from now on: only when one account is left, its own."""
    if len(accounts(store)) > 1:
        raise CommandError("there are several staff accounts: remove them with faceattend staff remove NAME")
    remove_account(store, name, name)
    say("staff PIN cleared: nothing asks for a PIN now")
    return EXIT_OK


def _reset_only(args: argparse.Namespace, settings: Settings) -> int:
    """`pin --reset`: the reset of the only account."""
    from faceattend_tui.cli.records import snapshot

    with snapshot(settings) as store:
        found = accounts(store)
    if len(found) != 1:
        raise CommandError("name the account to reset: faceattend staff reset NAME" if found
                           else "there is no staff PIN to reset")
    args.name = next(iter(found))
    return cmd_staff_reset(args, settings)


def add_staff_commands(sub: Subparsers, add_data: Callable[[argparse.ArgumentParser], None],
                       records_command: Callable[[str, str], Command]) -> None:
    p = sub.add_parser("pin", help="change your own staff PIN (with no staff account yet: make the admin's)")
    add_data(p)
    p.add_argument("--clear", action="store_true", help="no PIN from now on (only with one account; asks its PIN)")
    p.add_argument("--reset", action="store_true", help="a lost PIN of the only account (as staff reset NAME)")
    p.add_argument("--yes", action="store_true", help="with --reset: do not ask for the confirmation phrase")
    p.set_defaults(func=records_command("cmd_pin", "staff"))

    p = sub.add_parser("staff", help="named staff accounts and their roles: add, list, remove, reset, roles")
    staff = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = staff.add_parser("add", help="a new account (asks for its PIN; the first account is an admin)")
    add_data(q)
    q.add_argument("name", help="the staff member's name (letters, digits, spaces, . - _)")
    q.add_argument("--role", choices=("admin", "staff", "viewer"), default="staff",
                   help="admin: everything; staff: sessions and marks; viewer: look and export")
    q.set_defaults(func=records_command("cmd_staff_add", "staff"))
    q = staff.add_parser("list", help="the accounts and their roles (no PIN is shown or needed)")
    add_data(q)
    q.set_defaults(func=records_command("cmd_staff_list", "staff"))
    q = staff.add_parser("remove", help="remove an account (the last admin goes only with the last account)")
    add_data(q)
    q.add_argument("name", help="the account's name")
    q.set_defaults(func=records_command("cmd_staff_remove", "staff"))
    q = staff.add_parser("reset", help="a lost PIN: a new one without the old (needs write access to the data "
                                       "root; audited, and every station says so)")
    add_data(q)
    q.add_argument("name", help="the account's name")
    q.add_argument("--yes", action="store_true", help="do not ask for the confirmation phrase")
    q.set_defaults(func=records_command("cmd_staff_reset", "staff"))
    q = staff.add_parser("roles", help="which role may do what")
    q.add_argument("--data", type=Path, help=argparse.SUPPRESS)  # taken as every command takes it; the table is fixed
    q.set_defaults(func=records_command("cmd_staff_roles", "staff"), data=None, database=None, config=None)
