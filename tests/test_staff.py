"""Named staff accounts: roles, PINs that lock per account (also under a burst of tries), the command line
that asks for them, and the single PIN of older logs becoming the admin's."""

from __future__ import annotations

import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from both_logs import BACKENDS, data_root, open_store
from fakes import FakeClock, FakeWorker

from faceattend_tui.attendance import Attendance, PinError, hash_pin, open_snapshot
from faceattend_tui.attendance.security import FREE_TRIES, PIN_SETTING, Credentials, pin_wait
from faceattend_tui.attendance.staff import (
    accounts,
    add_account,
    authorize,
    remove_account,
    roles_table,
    set_account_pin,
)
from faceattend_tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
ADMIN, STAFF, VIEWER = ("Ada", "246813"), ("Dana", "135792"), ("Vic", "975310")


@pytest.fixture(params=BACKENDS)
def data(request, tmp_path):
    return data_root(request, tmp_path)


def with_accounts(store) -> None:
    add_account(store, ADMIN[0], "admin", ADMIN[1], "setup")
    add_account(store, STAFF[0], "staff", STAFF[1], "setup")
    add_account(store, VIEWER[0], "viewer", VIEWER[1], "setup")


def refused(store, action, who) -> str:
    with pytest.raises(PinError) as caught:
        authorize(store, action, Credentials(*who))
    return str(caught.value)


def test_without_accounts_nothing_asks_and_the_machine_user_is_recorded(data):
    with open_store(data) as store:
        assert authorize(store, "erase", None, "maria") == "maria"


@pytest.mark.slow
def test_each_role_may_do_its_own_actions_and_no_more(data):
    with open_store(data) as store:
        with_accounts(store)
        assert authorize(store, "export", Credentials(*VIEWER)) == "Vic"
        assert "Vic has a viewer account: to start or stop a session needs a staff account or higher" in refused(
            store, "session", VIEWER)
        assert authorize(store, "session", Credentials(*STAFF)) == "Dana"
        assert authorize(store, "mark", Credentials("dana", STAFF[1])) == "Dana"  # any case of the name
        assert "needs an admin account" in refused(store, "people", STAFF)
        for action in ("people", "erase", "extract", "db", "staff"):
            assert authorize(store, action, Credentials(*ADMIN)) == "Ada"
        assert "give your staff name" in refused(store, "export", ("", ADMIN[1]))  # several accounts: a name
        denied = [e for e in store.audit_log() if e.action == "staff.denied"]
        assert [(e.user, e.details["action"]) for e in denied] == [("Vic", "session"), ("Dana", "people")]


def test_wrong_pins_wait_then_lock_per_account_and_are_audited(tmp_path):
    clock = FakeClock()
    store = open_store(tmp_path / "data", clock=clock)
    with_accounts(store)
    messages = []
    for attempt in range(1, 11):
        messages.append(refused(store, "session", ("Dana", "000000")))
        if pin_wait(attempt):  # a wait started: even the right PIN waits for it
            assert "wait" in refused(store, "session", STAFF) or "locked" in refused(store, "session", STAFF)
        clock.advance(seconds=61)
    assert messages[:4] == ["wrong staff name or PIN, 9 tries left", "wrong staff name or PIN, 8 tries left",
                            "wrong staff name or PIN, 7 tries left; wait 2 s before the next",
                            "wrong staff name or PIN, 6 tries left; wait 4 s before the next"]
    assert "locked after 10 wrong PINs; try again in 15 min" in messages[-1]
    assert "locked" in refused(store, "session", STAFF)  # even the right PIN, during the lockout
    assert authorize(store, "session", Credentials(*ADMIN)) == "Ada"  # another account is not locked out
    clock.advance(minutes=15)
    # once the lockout is over, counting starts again: one wrong try every 15 minutes cannot lock it for good
    assert refused(store, "session", ("Dana", "000000")) == "wrong staff name or PIN, 9 tries left"
    assert refused(store, "session", ("Dana", "000000")) == "wrong staff name or PIN, 8 tries left"  # and goes on
    assert authorize(store, "session", Credentials(*STAFF)) == "Dana"
    fails = [e for e in store.audit_log() if e.action == "pin.fail"]
    assert len(fails) == 12 and {e.details["staff"] for e in fails} == {"Dana"}
    assert "wrong staff name or PIN" in refused(store, "export", ("Nobody", "123456"))


def test_the_tries_left_do_not_tell_which_staff_names_are_accounts(tmp_path):
    """Names that are no account shared one count: after a few wrong tries under made-up names, a real
    name stood out by starting again at "9 tries left". The audit does not keep what was typed there."""
    store = open_store(tmp_path / "data", clock=FakeClock())
    with_accounts(store)
    for name in ("Zed Nobody", "Carl Smith", "Maria Gomez"):
        assert refused(store, "session", (name, "000000")) == "wrong staff name or PIN, 9 tries left"
    assert refused(store, "session", ("Dana", "000000")) == "wrong staff name or PIN, 9 tries left"
    assert refused(store, "session", ("zed  nobody", "000000")) == "wrong staff name or PIN, 8 tries left"
    typed = {e.details["staff"] for e in store.audit_log() if e.action == "pin.fail"}
    assert typed == {"?", "Dana"}
    assert not [key for key in store.all_settings() if "nobody" in key.casefold()]


def thirty_at_once(try_pin) -> list[str]:
    """What 30 threads calling try_pin() at once were told ("accepted" or the refusal)."""
    outcomes = []

    def attack() -> None:
        try:
            try_pin()
            outcomes.append("accepted")
        except PinError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=attack) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_after_a_lockout_counted_by_readers_a_writers_tries_count_up_again(tmp_path):
    """Ten wrong PINs through `export` (counted beside the log), then guesses through a command that
    writes: the count goes on from the readers', so the waits and the next lockout come again."""
    from faceattend_tui.attendance.tries import TriesFile

    clock = FakeClock()
    store = open_store(tmp_path / "data", clock=clock)
    with_accounts(store)
    over = {"count": 10, "until": "2000-01-01T00:00:00+00:00"}  # the readers' lockout, long over
    TriesFile(store.tries_path).update("staff_failures:Dana", lambda _: over)
    said = [refused(store, "session", ("Dana", "000000")) for _ in range(2)]
    assert said == ["wrong staff name or PIN, 9 tries left", "wrong staff name or PIN, 8 tries left"]
    store.close()


def test_a_lockout_holds_when_the_tries_file_beside_the_log_is_deleted(tmp_path):
    """Deleting the .tries file during Dana's 15-minute lockout let her right PIN through at once."""
    clock = FakeClock()
    store = open_store(tmp_path / "data", clock=clock)
    with_accounts(store)
    assert "locked after 10 wrong PINs; try again in 15 min" in guess(store, clock, 10)[-1]
    store.tries_path.unlink()  # a clean-up, or someone who wants more guesses
    clock.advance(minutes=1)
    assert "locked" in refused(store, "session", STAFF)  # the log keeps the lockout too
    assert "locked" in refused(store, "session", STAFF)  # and goes on keeping it (the refusal wiped it)
    clock.advance(minutes=15)
    assert authorize(store, "session", Credentials(*STAFF)) == "Dana"
    store.close()


def test_thirty_wrong_pins_at_once_are_held_like_thirty_in_a_row(data):
    with open_store(data) as store:
        with_accounts(store)
        outcomes = thirty_at_once(lambda: authorize(store, "session", Credentials("Dana", "000000")))
        checked = [e for e in store.audit_log() if e.action == "pin.fail"]
        waited = [e for e in store.audit_log() if e.action == "pin.refused"]
        assert "accepted" not in outcomes and len(outcomes) == 30
        assert len(checked) == FREE_TRIES  # after these, every try met the wait the last one started
        assert len(checked) + len(waited) == 30  # every try is in the audit
        assert "wait" in refused(store, "session", STAFF)  # the right PIN too waits its turn


def test_a_log_with_the_single_staff_pin_has_one_admin_named_admin(data):
    with open_store(data) as store:
        store.set_setting(PIN_SETTING, hash_pin("246813"))
        assert list(accounts(store)) == ["admin"] and accounts(store)["admin"].role == "admin"
        assert authorize(store, "erase", "246813") == "admin"  # a bare PIN, as before
        add_account(store, "Dana", "staff", "135792", "admin")
        assert store.get_setting(PIN_SETTING) is None and sorted(accounts(store)) == ["Dana", "admin"]
        assert authorize(store, "staff", Credentials("admin", "246813")) == "admin"


def test_the_last_admin_goes_only_with_the_last_account(data):
    with open_store(data) as store:
        with pytest.raises(ValueError, match="first staff account must be an admin"):
            add_account(store, "Dana", "staff", "135792", "x")
        with_accounts(store)
        with pytest.raises(ValueError, match="last admin"):
            remove_account(store, "Ada", "Ada")
        with pytest.raises(ValueError, match="what the station does on its own"):
            add_account(store, "Station", "staff", "135792", "Ada")
        remove_account(store, "Dana", "Ada")
        remove_account(store, "Vic", "Ada")
        remove_account(store, "Ada", "Ada")
        assert authorize(store, "erase", None, "maria") == "maria"  # nothing asks any more


def test_names_that_read_alike_are_one_account_and_mixed_alphabets_are_refused(data):
    with open_store(data) as store:
        with_accounts(store)  # Ada, Dana, Vic
        for alike in ("dana", "Dana ", "Ｄａｎａ"):  # case, spaces, full-width letters
            with pytest.raises(ValueError, match="already a staff account"):
                add_account(store, alike, "staff", "135792", "Ada")
        with pytest.raises(ValueError, match="mixes letters of several alphabets"):
            add_account(store, "D\u0430na", "admin", "135792", "Ada")  # a Cyrillic a
        with pytest.raises(ValueError, match="what the station does on its own"):
            add_account(store, "ｓｔａｔｉｏｎ", "staff", "135792", "Ada")
        assert add_account(store, "Ce\u0301line", "staff", "135792", "Ada").name == "Céline"  # accent typed apart
        for real in ("山田さくら", "佐々木 健", "ユーコ", "O'Brien", "सीता", "สมศักดิ์", "Adébáyọ̀", "ジョン・スミス",
                     "علی\u200cرضا", "ג׳ון", "黃‧小明", "María de los Ángeles Fernández-Gómez"):
            assert add_account(store, real, "staff", "135792", "Ada").name == real  # names people have
        for alike in ("O’Brien", "Dana\u034f", "Dana\ufe00"):  # another apostrophe, marks that show nothing
            with pytest.raises(ValueError, match="already a staff account"):
                add_account(store, alike, "staff", "135792", "Ada")
        assert authorize(store, "session", Credentials("  DANA  ", STAFF[1])) == "Dana"


def test_a_new_pin_replaces_the_old_and_a_reset_is_audited_as_such(tmp_path):
    with open_store(tmp_path / "data") as store:
        with_accounts(store)
        set_account_pin(store, "Dana", "864200", "Ada", reset=True)
        assert "wrong staff name or PIN" in refused(store, "session", STAFF)
        assert authorize(store, "session", Credentials("Dana", "864200")) == "Dana"
        reset = next(e for e in store.audit_log() if e.action == "staff.reset")
        assert reset.user == "Ada" and "lost PIN" in reset.details["warning"]


def test_each_reset_pin_is_said_until_its_own_account_chooses_a_new_one(tmp_path):
    from faceattend_tui.attendance.staff import open_resets

    with open_store(tmp_path / "data") as store:
        with_accounts(store)  # Ada (admin), Dana, Vic
        set_account_pin(store, "Ada", "864200", "root", reset=True)
        set_account_pin(store, "Dana", "864211", "root", reset=True)
        set_account_pin(store, "Vic", "975310", "Vic")  # someone else's own change clears nobody's warning
        assert [e.details["staff"] for e in open_resets(store)] == ["Ada", "Dana"]
        set_account_pin(store, "Ada", "135799", "Ada")
        assert [e.details["staff"] for e in open_resets(store)] == ["Dana"]


def test_the_roles_table_in_the_readme_is_the_one_the_code_applies():
    assert roles_table() in (ROOT / "README.md").read_text(encoding="utf-8")


# ----- the command line ---------------------------------------------------------------------


@pytest.fixture
def staffed(tmp_path, monkeypatch) -> Path:
    """A data root with a person and three accounts; no PIN in the environment."""
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Céline Gérard", person_id="S3")
        with_accounts(store)
    for name in ("FACEATTEND_STAFF", "FACEATTEND_PIN", "FACEATTEND_NEW_PIN"):
        monkeypatch.delenv(name, raising=False)
    return data


def as_staff(monkeypatch, who) -> None:
    monkeypatch.setenv("FACEATTEND_STAFF", who[0])
    monkeypatch.setenv("FACEATTEND_PIN", who[1])


def test_commands_that_change_or_export_records_refuse_without_a_pin(staffed, monkeypatch, capsys):
    data = str(staffed)
    for argv in (["people", "remove", "S3", "--erase"], ["people", "edit", "S3", "--name", "X"], ["export"],
                 ["report"], ["staff", "add", "Eve"]):
        assert main([*argv, "--data", data]) == 4, argv
        assert "needs a staff name and PIN" in capsys.readouterr().err
    as_staff(monkeypatch, STAFF)
    assert main(["people", "remove", "S3", "--erase", "--data", data]) == 4
    assert "Dana has a staff account: to erase a person needs an admin account" in capsys.readouterr().err
    assert main(["people", "list", "--data", data]) == 0  # reading the roster asks nothing
    as_staff(monkeypatch, ADMIN)
    assert main(["people", "edit", "S3", "--name", "Céline G.", "--data", data]) == 0
    with open_snapshot(staffed) as store:
        edit = next(e for e in store.audit_log() if e.action == "person.update")
    assert edit.user == "Ada"


def test_extract_into_the_gallery_asks_the_pin_however_its_path_is_spelt(staffed, capsys):
    """The templates the station recognises by: `--out data/x/../database_tensor` is the same folder."""
    (staffed / "database_image" / "Mallory").mkdir(parents=True)
    for out in (None, staffed / "x" / ".." / "database_tensor"):
        assert main(["extract", "--data", str(staffed), *(["--out", str(out)] if out else [])]) == 4, out
        assert "needs a staff name and PIN" in capsys.readouterr().err
    assert not (staffed / "database_tensor" / "Mallory.npy").exists()
    attacker = staffed.parent / "attacker"  # a data folder of one's own, written into the staffed one's gallery
    (attacker / "database_image" / "Mallory").mkdir(parents=True)
    assert main(["extract", "--data", str(attacker), "--out", str(staffed / "database_tensor")]) == 2
    assert "holds the templates of the data folder" in capsys.readouterr().err
    assert not (staffed / "database_tensor" / "Mallory.npy").exists()
    disk = staffed.parent / "disk"  # another station whose templates are kept on another disk, linked in
    (disk / "tmpl").mkdir(parents=True)
    (staffed.parent / "linked").mkdir()
    (staffed.parent / "linked" / "attendance.json").write_text("{}")
    (staffed.parent / "linked" / "database_tensor").symlink_to(disk / "tmpl")
    assert main(["extract", "--data", str(attacker), "--out", str(staffed.parent / "linked" / "database_tensor")]) == 2
    assert "holds the templates of the data folder" in capsys.readouterr().err and not list((disk / "tmpl").iterdir())


def test_a_headless_station_refused_its_session_exits_4_as_documented(staffed, monkeypatch, capsys):
    import faceattend_tui.station.core

    monkeypatch.setattr(faceattend_tui.station.core, "WorkerHandle", FakeWorker)
    headless = ["station", "--headless", "--session", "Maths", "--source", "0", "--max-seconds", "0.3",
                "--data", str(staffed)]
    assert main(headless) == 4
    assert "needs your staff name and PIN" in capsys.readouterr().err
    as_staff(monkeypatch, VIEWER)
    assert main(headless) == 4  # a role that may not start sessions
    assert "Vic has a viewer account" in capsys.readouterr().err


def test_a_pin_is_asked_on_a_terminal(staffed, monkeypatch, capsys):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "Ada")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": ADMIN[1])
    assert main(["people", "edit", "S3", "--groups", "3A", "--data", str(staffed)]) == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "000000")
    assert main(["people", "edit", "S3", "--groups", "3B", "--data", str(staffed)]) == 4
    assert "wrong staff name or PIN, 9 tries left" in capsys.readouterr().err  # as for a name that is no one's

    def station_starts_meanwhile(prompt: str = "") -> str:  # the command waits at its prompt: nothing is held
        from faceattend_tui.attendance import acquire_lock

        acquire_lock(staffed, what="station").release()
        return ADMIN[1]

    monkeypatch.setattr("getpass.getpass", station_starts_meanwhile)
    assert main(["people", "edit", "S3", "--groups", "3C", "--data", str(staffed)]) == 0


def test_an_export_whose_pin_was_typed_while_someone_was_erased_leaves_them_out(staffed, monkeypatch, capsys):
    """The export read the log, then waited at its PIN prompt while an admin erased Céline: the sheet it wrote
    then named her, and the erasure, done by then, never knew of it."""
    with open_store(staffed) as store:
        att = Attendance(store)
        att.start_session("Maths")
        att.check_in("S3", 0.8)
        att.stop_session()
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "Ada")

    def erased_meanwhile(prompt: str = "") -> str:
        with open_store(staffed) as store:
            Attendance(store).remove_person("S3", erase=True, user="Ada")
        return ADMIN[1]

    monkeypatch.setattr("getpass.getpass", erased_meanwhile)
    out = staffed.parent / "sheet.csv"
    assert main(["export", "--session", "1", "--out", str(out), "--data", str(staffed)]) == 0
    assert "S3" not in out.read_text(encoding="utf-8") and "Céline" not in out.read_text(encoding="utf-8")


def test_a_pin_reset_asks_everything_before_the_data_is_held(staffed, monkeypatch, capsys):
    """Whoever sits at the reset's prompts must not keep the station from starting (nor be turned away)."""
    from faceattend_tui.attendance import acquire_lock

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "reset the PIN")

    def station_starts_meanwhile(prompt: str = "") -> str:
        acquire_lock(staffed, what="station").release()
        return "864279"

    monkeypatch.setattr("getpass.getpass", station_starts_meanwhile)
    assert main(["staff", "reset", "Dana", "--data", str(staffed)]) == 0
    assert "the PIN of Dana was reset" in capsys.readouterr().err
    as_staff(monkeypatch, ("Dana", "864279"))
    assert main(["export", "--data", str(staffed)]) == 3  # the new PIN opens; nothing to export
    assert main(["staff", "reset", "Nobody", "--yes", "--data", str(staffed)]) == 2
    assert "no staff account named 'Nobody'" in capsys.readouterr().err
    assert main(["staff", "reset", "Dana", "--yes", "--data", str(staffed / "nosuch")]) == 2  # a mistyped --data
    assert "no such folder" in capsys.readouterr().err


def test_a_script_resets_the_only_accounts_pin_with_yes(tmp_path, monkeypatch, capsys):
    """pin --reset always ended 'not reset' without a terminal: it took no --yes, as staff reset does."""
    data = tmp_path / "data"
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "246813")
    assert main(["pin", "--data", str(data)]) == 0  # the admin
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "975310")
    assert main(["pin", "--reset", "--data", str(data)]) == 2
    assert "not reset: no terminal to confirm on; run it again with --yes" in capsys.readouterr().err
    assert main(["pin", "--reset", "--yes", "--data", str(data)]) == 0
    with open_store(data) as store:
        assert authorize(store, "session", Credentials("admin", "975310")) == "admin"


def test_the_first_admin_made_by_name_is_asked_a_pin_before_the_data_is_held(tmp_path, monkeypatch, capsys):
    from faceattend_tui.attendance import acquire_lock

    data = tmp_path / "data"
    data.mkdir()
    for name in ("FACEATTEND_STAFF", "FACEATTEND_PIN", "FACEATTEND_NEW_PIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)

    def ctrl_c(prompt: str = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("getpass.getpass", ctrl_c)
    assert main(["staff", "add", "Boss", "--role", "admin", "--data", str(data)]) == 130
    assert list(data.iterdir()) == []  # no log left behind

    def station_starts_meanwhile(prompt: str = "") -> str:
        acquire_lock(data, what="station").release()
        return "528461"

    monkeypatch.setattr("getpass.getpass", station_starts_meanwhile)
    assert main(["staff", "add", "Boss", "--role", "admin", "--data", str(data)]) == 0
    assert "staff account Boss added (admin)" in capsys.readouterr().err


def test_a_wrong_staff_pin_or_role_is_said_before_a_new_pin_is_typed(staffed, monkeypatch, capsys):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    prompts: list[str] = []
    typed = iter(["000000", VIEWER[1], "000000"])
    names = iter(["Ada", "Vic", "Dana"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(names))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or next(typed))
    assert main(["staff", "add", "Eve", "--role", "staff", "--data", str(staffed)]) == 4  # Ada's PIN mistyped
    assert "wrong staff name or PIN" in capsys.readouterr().err
    assert main(["staff", "add", "Eve", "--role", "admin", "--data", str(staffed)]) == 4  # a viewer
    assert "Vic has a viewer account" in capsys.readouterr().err
    assert main(["pin", "--data", str(staffed)]) == 4  # one's own PIN, the old one mistyped
    assert prompts == ["staff PIN: "] * 3  # no new PIN asked, twice, for nothing


def test_a_command_refused_while_a_station_runs_asks_no_pin_first(staffed, monkeypatch, capsys):
    from faceattend_tui.attendance import acquire_lock

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": pytest.fail(f"asked {prompt!r} for nothing"))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail(f"asked {prompt!r} for nothing"))
    with acquire_lock(staffed, what="station"):
        assert main(["people", "edit", "S3", "--groups", "3A", "--data", str(staffed)]) == 2
        err = capsys.readouterr().err
        assert "attendance data is in use" in err and "stop the station, or use its own keys" in err
        assert main(["pin", "--data", str(staffed)]) == 2
        assert "change it at the station: ctrl+p, Change my PIN" in capsys.readouterr().err
        assert main(["staff", "reset", "Dana", "--data", str(staffed)]) == 2
        assert "attendance data is in use" in capsys.readouterr().err
        assert main(["pin", "--clear", "--data", str(staffed)]) == 2  # the station's Change my PIN clears none
        assert "stop the station first" in capsys.readouterr().err


def test_the_first_account_refused_while_a_station_runs_sends_nobody_back_to_the_station(tmp_path, monkeypatch,
                                                                                        capsys):
    """The station says 'faceattend pin makes the first account': pin must not send the user back to it."""
    from faceattend_tui.attendance import acquire_lock, open_store

    data = tmp_path / "data"
    open_store(data).close()
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail(f"asked {prompt!r} for nothing"))
    with acquire_lock(data, what="station"):
        for command in (["pin"], ["staff", "add", "Ada", "--role", "admin"]):
            assert main([*command, "--data", str(data)]) == 2
            err = capsys.readouterr().err
            assert "stop the station first" in err and "Change my PIN" not in err


def test_a_new_pin_the_rules_refuse_is_said_before_it_is_typed_again(staffed, monkeypatch, capsys):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    as_staff(monkeypatch, ADMIN)
    answers, prompts = iter(["pat2024", "480917", "480915", "480917", "480917"]), []

    def typed(prompt: str = "") -> str:
        prompts.append(prompt.split()[0])
        return next(answers)

    monkeypatch.setattr("getpass.getpass", typed)
    assert main(["staff", "add", "Pat", "--role", "staff", "--data", str(staffed)]) == 0
    err = capsys.readouterr().err
    assert "cannot be the staff name" in err and "the two PINs differ" in err  # the name: refused at once
    assert prompts == ["new", "new", "again:", "new", "again:"]  # "pat2024" was not asked twice
    as_staff(monkeypatch, ("Pat", "480917"))
    assert main(["export", "--data", str(staffed)]) == 3  # the PIN typed twice is the one kept


def test_ctrl_d_at_a_pin_prompt_cancels_in_one_line(staffed, monkeypatch, capsys):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    as_staff(monkeypatch, ADMIN)

    def end_of_input(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", end_of_input)
    assert main(["staff", "add", "Pat", "--role", "staff", "--data", str(staffed)]) == 2
    err = capsys.readouterr().err
    assert err == "cancelled at the end of the input; nothing changed\n"
    as_staff(monkeypatch, ADMIN)
    assert main(["staff", "list", "--data", str(staffed)]) == 0
    assert "Pat" not in capsys.readouterr().out


def test_staff_accounts_from_the_command_line(tmp_path, monkeypatch, capsys):
    data = str(tmp_path / "data")
    for name in ("FACEATTEND_STAFF", "FACEATTEND_PIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "246813")
    elsewhere = tmp_path / "elsewhere"  # the admin made in another data folder (--data forgotten)
    assert main(["staff", "add", "Dana", "--role", "staff", "--data", str(elsewhere)]) == 2
    assert f"the data folder {elsewhere} has no staff account yet" in capsys.readouterr().err
    assert not elsewhere.exists()  # asked no PIN and made no log
    assert main(["pin", "--data", data]) == 0  # the first PIN makes the admin "admin", as the single PIN did
    assert "the admin account 'admin'" in capsys.readouterr().err
    as_staff(monkeypatch, ("admin", "246813"))
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "135792")
    assert main(["staff", "add", "Dana", "--role", "viewer", "--data", data]) == 0
    assert main(["staff", "list", "--data", data]) == 0
    out = capsys.readouterr().out
    assert "Dana" in out and "viewer" in out and "admin" in out and "246813" not in out
    assert main(["staff", "remove", "admin", "--data", data]) == 2
    assert "last admin" in capsys.readouterr().err
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "907135")
    assert main(["staff", "reset", "Dana", "--yes", "--data", data]) == 0
    as_staff(monkeypatch, ("Dana", "907135"))
    assert main(["export", "--data", data]) == 3  # allowed; nothing to export yet
    with open_snapshot(Path(data)) as store:
        entries = [e for e in store.audit_log() if e.action.startswith("staff.")]
    assert [e.action for e in entries] == ["staff.add", "staff.add", "staff.reset"]
    assert entries[1].user == "admin" and entries[1].details == {"staff": "Dana", "role": "viewer"}


def test_wrong_pins_of_commands_that_only_read_the_log_count_toward_the_lockout(staffed, monkeypatch, capsys):
    as_staff(monkeypatch, ("Vic", "000000"))
    for _ in range(FREE_TRIES):
        assert main(["export", "--data", str(staffed)]) == 4  # exports read the file, never writing it
    assert "wrong staff name or PIN" in capsys.readouterr().err
    assert main(["report", "--data", str(staffed)]) == 4
    assert "wait" in capsys.readouterr().err
    as_staff(monkeypatch, VIEWER)
    assert main(["export", "--data", str(staffed)]) == 4  # the right PIN too waits its turn
    assert "wait" in capsys.readouterr().err
    with open_store(staffed) as store:  # the writers go on from the readers' count
        assert "wait" in refused(store, "export", VIEWER)
        fails = [e for e in store.audit_log() if e.action == "pin.fail"]
    assert [e.details["failures"] for e in fails] == list(range(1, FREE_TRIES + 1))
    assert {e.details["staff"] for e in fails} == {"Vic"}


def test_thirty_wrong_pins_at_once_from_readers_of_the_log_are_held_like_thirty_in_a_row(tmp_path):
    data = tmp_path / "data"
    with open_store(data) as store:
        with_accounts(store)

    def export_try() -> None:
        with open_snapshot(data) as snapshot:  # each its own view, as each command is
            authorize(snapshot, "export", Credentials("Vic", "000000"))

    outcomes = thirty_at_once(export_try)
    assert "accepted" not in outcomes and len(outcomes) == 30
    assert sum("tries left" in text for text in outcomes) == FREE_TRIES
    with open_store(data) as store:
        assert "wait" in refused(store, "export", VIEWER)


def test_right_pins_given_at_once_all_go_through_and_accuse_nobody(data):
    with open_store(data) as store:
        with_accounts(store)
        assert set(thirty_at_once(lambda: authorize(store, "session", Credentials(*STAFF)))) == {"accepted"}
        assert not [e for e in store.audit_log() if e.action.startswith("pin.")]


def test_exports_run_at_once_with_the_right_pin_all_go_through(tmp_path):
    data = tmp_path / "data"
    with open_store(data) as store:
        with_accounts(store)

    def export_try() -> None:
        with open_snapshot(data) as snapshot:  # a nightly job exporting several files at once
            authorize(snapshot, "export", Credentials(*VIEWER))

    assert set(thirty_at_once(export_try)) == {"accepted"}
    with open_store(data) as store:
        assert not [e for e in store.audit_log() if e.action.startswith("pin.")]


def test_a_reader_that_cannot_count_still_honours_the_lockout(staffed, monkeypatch, capsys):
    monkeypatch.setattr("faceattend_tui.attendance.staff.UNCOUNTED_PAUSE", 0)
    (staffed / "attendance.tries").mkdir()  # nowhere to count beside the log
    as_staff(monkeypatch, ("Vic", "000000"))
    assert main(["export", "--data", str(staffed)]) == 4
    assert "cannot be counted here" in capsys.readouterr().err
    with open_store(staffed) as store:  # the station counts in the log all the same: ten wrong PINs for Vic
        uncounted = [e for e in store.audit_log() if e.action == "pin.fail"]
        assert [e.details for e in uncounted] == [{"staff": "Vic", "action": "export", "counted": False}]  # said
        assert "9 tries left" in refused(store, "export", ("Vic", "000000"))
        until = (store.now() + timedelta(minutes=15)).isoformat()
        for _ in range(9):
            store.update_setting("staff_failures:Vic", lambda s: {"count": (s or {}).get("count", 0) + 1,
                                                                   "until": until})
    as_staff(monkeypatch, VIEWER)
    assert main(["export", "--data", str(staffed)]) == 4
    assert "locked after 10 wrong PINs" in capsys.readouterr().err


def test_a_lockout_holds_at_every_door_whose_clock_is_minutes_apart(pg_url, tmp_path):
    """A door whose clock ran 2 minutes fast locked Dana; the door beside it, on time, read that lockout
    as one of a clock put back since, and took ten more guesses."""
    from datetime import datetime

    from faceattend_tui.attendance import backends

    on_time = FakeClock(datetime.now().astimezone())
    fast = FakeClock(on_time.now + timedelta(minutes=2))
    doors = [backends.open_store(tmp_path / name, database=pg_url, upgrade_mode="auto", clock=clock)
             for name, clock in (("fast", fast), ("on-time", on_time))]
    try:
        with_accounts(doors[0])
        for _ in range(10):
            said = refused(doors[0], "session", ("Dana", "000000"))
            for clock in (fast, on_time):
                clock.advance(seconds=61)
        assert "locked after 10 wrong PINs" in said
        assert "locked" in refused(doors[1], "session", STAFF)
        for clock in (fast, on_time):
            clock.advance(minutes=15)
        assert authorize(doors[1], "session", Credentials(*STAFF)) == "Dana"
    finally:
        for door in doors:
            door.close()


def test_a_lockout_holds_at_a_door_whose_clock_is_set_while_it_runs(pg_url, tmp_path, monkeypatch):
    """A door that started 3 minutes fast, then was put right by NTP: it read another door's lockout as
    one of a clock put back, took guesses during it, and its right PIN ended it for every door."""
    from datetime import datetime

    from faceattend_tui.attendance import backends, security, staff
    from faceattend_tui.attendance.pg import store as pg_store

    quick = {n: 0 for n in range(1, 10)}  # no waits before the lockout: ten guesses in a moment
    monkeypatch.setattr(staff, "pin_wait", lambda n: quick.get(security.in_round(n), security.LOCKOUT_SECONDS))
    fast = [timedelta(minutes=3)]
    monkeypatch.setattr(pg_store, "local_now", lambda: datetime.now().astimezone() + fast[0])
    stepped = backends.open_store(tmp_path / "x", database=pg_url, upgrade_mode="auto")
    monkeypatch.undo()
    monkeypatch.setattr(staff, "pin_wait", lambda n: quick.get(security.in_round(n), security.LOCKOUT_SECONDS))
    on_time = backends.open_store(tmp_path / "y", database=pg_url, upgrade_mode="auto")
    try:
        with_accounts(on_time)
        fast[0] = timedelta(0)  # NTP steps the first door's clock back while it runs
        said = [refused(on_time, "session", ("Dana", "000000")) for _ in range(10)]
        assert "locked after 10 wrong PINs" in said[-1]
        assert "locked" in refused(stepped, "session", ("Dana", "000000"))
        assert "locked" in refused(stepped, "session", STAFF)
    finally:
        for door in (stepped, on_time):
            door.close()


def test_accounts_added_and_removed_at_once_at_two_doors_all_count(pg_url, tmp_path):
    """Two doors on one database: each change is made on the accounts as they are, none is lost."""
    from faceattend_tui.attendance import backends

    doors = [backends.open_store(tmp_path / name, database=pg_url, upgrade_mode="auto") for name in ("a", "b")]
    try:
        add_account(doors[0], "Ada", "admin", ADMIN[1], "setup")
        add_account(doors[0], "Tom", "staff", "135792", "setup")

        def add_many(store, prefix: str) -> None:
            for n in range(6):
                add_account(store, f"{prefix}{n}", "staff", "135792", "setup")

        threads = [threading.Thread(target=add_many, args=(doors[0], "DoorA")),
                   threading.Thread(target=add_many, args=(doors[1], "DoorB")),
                   threading.Thread(target=remove_account, args=(doors[1], "Tom", "Ada"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        names = set(accounts(doors[0]))
        assert names == {"Ada", *(f"Door{d}{n}" for d in "AB" for n in range(6))}  # Tom gone, nobody lost
    finally:
        for store in doors:
            store.close()


def test_a_wrong_pin_is_audited_under_the_login_it_came_from_not_the_account_it_was_for(data):
    """`audit --staff Ada` must not read as if the admin had guessed PINs."""
    with open_store(data) as store:
        with_accounts(store)
        with pytest.raises(PinError):
            authorize(store, "void", Credentials("Ada", "000000"), "mallory")
        (fail,) = [e for e in store.audit_log() if e.action == "pin.fail"]
        assert fail.user == "mallory" and fail.details["staff"] == "Ada"


def test_the_pins_a_guesser_tries_first_are_refused(data):
    with open_store(data) as store:
        with_accounts(store)
        for pin in ("111111", "123456", "987654", "aaaaaa"):
            with pytest.raises(ValueError, match="first one guessed"):
                add_account(store, "Eve", "staff", pin, "Ada")
        with pytest.raises(ValueError, match="cannot be the staff name"):
            add_account(store, "Bobby1", "staff", "bobby1", "Ada")
        add_account(store, "Sam Smith", "staff", "135790", "Ada")
        for pin in ("SamSmith", "Sam Smith", "SAM SMITH", "sam.smith", "smithsam", "ｓａｍｓｍｉｔｈ"):
            with pytest.raises(ValueError, match="cannot be the staff name"):
                set_account_pin(store, "Sam Smith", pin, "Sam Smith")
        add_account(store, "Céline Gérard", "staff", "135790", "Ada")
        with pytest.raises(ValueError, match="cannot be the staff name"):
            set_account_pin(store, "Céline Gérard", "celinegerard", "Céline Gérard")
        assert add_account(store, "Eve", "staff", "135790", "Ada").name == "Eve"


def test_a_name_with_digits_a_common_password_or_a_run_typed_again_is_refused(data):
    """Accepted before: dana123 for Dana Lee, admin123 for admin, password, qwerty, abcdef, 123123."""
    with open_store(data) as store:
        with_accounts(store)
        for name, pin in (("Dana Lee", "dana123"), ("Dana Lee", "Lee2026!"), ("admin", "admin123")):
            with pytest.raises(ValueError, match="cannot be the staff name, with or without digits"):
                add_account(store, name, "staff", pin, "Ada")
        for pin in ("password", "Admin2026", "letmein1", "112233"):
            with pytest.raises(ValueError, match="common password"):
                add_account(store, "Eve", "staff", pin, "Ada")
        for pin in ("abcdef", "ZYXWVU", "123123", "121212", "abcabc",
                    # accepted before: nine going on to zero, a run of four typed again, keys in a row
                    "qwerty", "1234567890", "0987654321", "12341234", "abcd1234", "asdf1234", "1qaz2wsx", "123qwe"):
            with pytest.raises(ValueError, match="first one guessed"):
                add_account(store, "Eve", "staff", pin, "Ada")
        for pin in ("P@ssw0rd", "p@ssw0rd!", "P4ssw0rd!", "Welc0me!", "w3lc0m3!"):  # letters as signs, a sign after
            with pytest.raises(ValueError, match="common password"):
                add_account(store, "Eve", "staff", pin, "Ada")
        for name, pin in (("Dana Lee", "482e91"), ("Eve", "bus-stop-42"), ("Ben Ng", "480917"),
                          ("admin", "in7395")):  # a letter or two of the name: random enough
            assert add_account(store, name, "staff", pin, "Ada").name == name


def readers_and_writer(tmp_path):
    """A writer of the log and a reader (an export) opened before it, on one clock the test moves."""
    clock = FakeClock()
    writer = open_store(tmp_path / "data", clock=clock)
    with_accounts(writer)
    reader = open_snapshot(tmp_path / "data", clock=clock)
    return clock, writer, reader


def guess(store, clock, times: int) -> list[str]:
    said = []
    for _ in range(times):
        said.append(refused(store, "session", ("Dana", "000000")))
        clock.advance(seconds=61)  # every wait but the lockout is over by then
    return said


def test_a_reader_started_before_a_lockout_meets_it_and_a_right_pin_anywhere_breaks_the_row(tmp_path):
    """An export left at its PIN prompt while someone guesses through commands that write: it sees the
    lockout (counted beside the log too), and its right PIN breaks the row for the writers as well."""
    clock, writer, reader = readers_and_writer(tmp_path)
    clock.advance(seconds=1)
    assert "locked after 10" in guess(writer, clock, 10)[-1]
    assert "locked" in refused(reader, "session", ("Dana", "000000"))
    assert "locked" in refused(reader, "session", STAFF)  # not even the right PIN, during the lockout
    clock.advance(minutes=15)
    assert guess(writer, clock, 2) == ["wrong staff name or PIN, 9 tries left", "wrong staff name or PIN, 8 tries left"]
    assert authorize(reader, "session", Credentials(*STAFF)) == "Dana"  # the right PIN, through an export
    assert guess(writer, clock, 1) == ["wrong staff name or PIN, 9 tries left"]  # a new row, not the 3rd try
    reader.close()
    writer.close()


def test_wrong_pins_from_a_reader_and_a_writer_at_once_each_count(tmp_path):
    """An export and a command that writes, each with a wrong PIN at the same moment: two tries, two counts."""
    _, writer, reader = readers_and_writer(tmp_path)
    said: list[str] = []
    pair = [threading.Thread(target=lambda s=s: said.append(refused(s, "session", ("Dana", "000000"))))
            for s in (writer, reader)]
    for thread in pair:
        thread.start()
    for thread in pair:
        thread.join()
    assert sorted(said) == ["wrong staff name or PIN, 8 tries left", "wrong staff name or PIN, 9 tries left"]
    reader.close()
    writer.close()


def test_the_roles_table_takes_data_as_every_command_does(tmp_path, capsys):
    assert main(["staff", "roles", "--data", str(tmp_path)]) == 0
    assert "| action | viewer | staff | admin |" in capsys.readouterr().out


def test_a_new_pin_is_asked_before_the_data_is_held_so_a_station_can_start_meanwhile(staffed, monkeypatch):
    """An admin adding an account leaves the terminal at "new PIN for Eve": the door's service restarts."""
    import getpass

    from faceattend_tui.attendance import acquire_lock

    starts = []

    def typed(prompt):
        if prompt.startswith("new PIN"):  # as the door starts: the data must not be held
            lock = acquire_lock(staffed, what="station")
            lock.release()
            starts.append("started")
        return {"staff PIN: ": ADMIN[1]}.get(prompt, "eve-pin-1234")

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: ADMIN[0])
    monkeypatch.setattr(getpass, "getpass", typed)
    assert main(["staff", "add", "Eve", "--role", "staff", "--data", str(staffed)]) == 0
    assert starts == ["started"]


def test_changing_ones_own_pin_asks_everything_before_the_data_is_held(staffed, monkeypatch):
    import getpass

    from faceattend_tui.attendance import acquire_lock

    starts = []

    def typed(prompt):
        acquire_lock(staffed, what="station").release()  # the door starts at any of the prompts
        starts.append(prompt)
        return {"staff PIN: ": STAFF[1]}.get(prompt, "new-pin-2468")

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: STAFF[0])
    monkeypatch.setattr(getpass, "getpass", typed)
    assert main(["pin", "--data", str(staffed)]) == 0
    assert starts == ["staff PIN: ", "new PIN for Dana (at least 6 characters): ", "again: "]


@pytest.mark.parametrize("action", ["session", "export"])  # counted in the log, or beside it by a reader
def test_a_clock_put_back_does_not_stretch_a_wait_or_a_lockout(tmp_path, action):
    """Wrong PINs typed while the clock ran a day ahead, then NTP put it right: a 2-second wait locked
    the account for a day, a 15-minute lockout lasted as long as the clock had been wrong and more."""
    clock = FakeClock()
    store = open_store(tmp_path / "data", clock=clock)
    with_accounts(store)
    clock.advance(days=1)
    for _ in range(FREE_TRIES + 1):  # a short wait is due
        refused(store, "session", ("Dana", "000000"))
    clock.advance(days=-1)
    reader = open_snapshot(tmp_path / "data", clock=clock)
    for _ in range(3):  # its end is not moved on with each try
        assert authorize(reader if action == "export" else store, action, Credentials(*STAFF)) == "Dana"
        clock.advance(seconds=1)
    reader.close()
    clock.advance(hours=1)
    assert "try again in 15 min" in guess(store, clock, 10)[-1]
    assert "try again in 14 min" in refused(store, "session", STAFF)
    clock.advance(hours=-1)
    assert authorize(store, action, Credentials(*STAFF)) == "Dana"
    store.close()
