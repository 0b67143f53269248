"""Names as people read them: found case and accents aside, sorted in the order of a language."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from fakes import a_lesson_of_3a

from faceattend_tui import text
from faceattend_tui.attendance import Attendance, build_report, open_store
from faceattend_tui.attendance.export import slug
from faceattend_tui.cli import main
from faceattend_tui.config import ConfigError, Settings, load_settings

NAMES = ["Gerhard", "Gérard", "Álvaro", "Zoé", "zack", "Émile"]
ICU = text.backend() == "icu"


# ----- matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(("needle", "haystack"), [
    ("celine", "Céline"), ("CÉLINE", "celine"), ("strasse", "Straße"), ("3a", "3A"), ("lodz", "Łódź"),
    ("ødegaard", "Odegaard"), ("fine", "ﬁne"), ("ab", "Ａｂ"), ("  elo ", "Élodie"), ("", "anyone"),
])
def test_matching_ignores_case_accents_and_compatibility_forms(needle, haystack):
    assert text.matches(needle, haystack)


def test_matching_still_tells_different_names_apart():
    assert not text.matches("celina", "Céline")
    assert not text.same("3A", "3B") and text.same(" 3a", "3A") and text.same("1ère-B", "1ERE-b")


def test_the_roster_filter_finds_celine_without_the_accent():
    from faceattend_tui.tui.fasttable import FastTable

    table = FastTable([("name", 20)])
    table.set_rows([("S1", ("Céline Dupont",)), ("S2", ("Marc Celan",)), ("S3", ("Zoé",))])
    table.apply_filter("celine")
    assert table.shown == ["S1"]
    table.apply_filter("CEL")
    assert table.shown == ["S1", "S2"]
    table.apply_filter("zoe")
    assert table.shown == ["S3"]


# ----- sorting ------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["fr", "en", "fr-FR", "en-US"])
def test_names_sort_as_people_expect(locale):
    ordered = sorted(NAMES, key=text.collation(locale))
    assert ordered[0] == "Álvaro"
    assert ordered.index("Gérard") < ordered.index("Gerhard")
    assert ordered.index("Émile") < ordered.index("Gérard")
    assert ordered[-2:] in (["zack", "Zoé"], ["Zoé", "zack"]) and ordered.index("zack") < ordered.index("Zoé")
    assert [text.sort_key(n, locale) for n in ordered] == sorted(text.sort_key(n, locale) for n in NAMES)


def test_without_icu_names_still_sort_case_and_accents_aside():
    ordered = sorted(NAMES, key=text.folded_key)
    assert ordered == ["Álvaro", "Émile", "Gérard", "Gerhard", "zack", "Zoé"]


@pytest.mark.skipif(not ICU, reason="needs ICU (pyicu-wheels) for a language's own order")
def test_a_language_with_its_own_order():
    names = ["Öberg", "Zorn", "Olsson", "Åsa", "Ärla"]
    assert sorted(names, key=text.collation("sv")) == ["Olsson", "Zorn", "Åsa", "Ärla", "Öberg"]
    assert sorted(names, key=text.collation("de")) == ["Ärla", "Åsa", "Öberg", "Olsson", "Zorn"]
    assert sorted(["Nz", "Ñu"], key=text.collation("es")) == ["Nz", "Ñu"]


NUMBERED = ["Room 10", "room 2", "Room 1b", "Ann", "Room 100", "Group 3A", "Group 12B"]
IN_ORDER = ["Ann", "Group 3A", "Group 12B", "Room 1b", "room 2", "Room 10", "Room 100"]


def test_numbers_in_names_sort_by_their_value():
    """A roster of "Room 2", "Room 10" reads in the order of the numbers, on every backend."""
    assert sorted(NUMBERED, key=text.collation("en")) == IN_ORDER
    assert sorted(NUMBERED, key=text.folded_key) == IN_ORDER
    root = text._pyuca()
    if root is not None:
        assert sorted(NUMBERED, key=text._pyuca_key(root)) == IN_ORDER


def test_a_number_outranks_case_and_accents_before_it_and_any_length_of_digits_counts():
    """With pyuca (the order without ICU), "ann 10" came before "Ann 2": its case was compared first."""

    class Root:  # levels as pyuca gives them: the letters, 0, then their case, 0
        def sort_key(self, part):
            return (*(ord(c) for c in part.casefold()), 0, *(int(c.isupper()) for c in part), 0)

    names = ["ann 10", "Ann 2", "Ann", "x" + "9" * 40, "x1" + "0" * 40, "Room ٣", "Room 12"]
    expected = ["Ann", "Ann 2", "ann 10", "Room ٣", "Room 12", "x" + "9" * 40, "x1" + "0" * 40]
    assert sorted(names, key=text._pyuca_key(Root())) == expected
    assert sorted(names, key=text.folded_key) == expected


def test_one_collator_per_locale_is_kept():
    assert text.collation("sv") is text.collation("SV")
    assert text.collation("fr-fr") is text.collation("fr_FR")


def test_without_the_collation_libraries_the_folded_order_is_used(monkeypatch):
    import builtins

    real_import, before = builtins.__import__, text.backend()

    def no_icu(name, *args, **kwargs):
        if name in ("icu", "pyuca"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_icu)
    text._collator.cache_clear()
    text._pyuca.cache_clear()
    try:
        assert text.backend() == "folded"
        assert sorted(NAMES, key=text.collation("sv")) == ["Álvaro", "Émile", "Gérard", "Gerhard", "zack", "Zoé"]
        assert sorted(NUMBERED, key=text.collation("sv")) == IN_ORDER
    finally:
        monkeypatch.undo()
        text._collator.cache_clear()
        text._pyuca.cache_clear()
    assert text.backend() == before


# ----- the locale ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "tag"), [
    ("fr_FR.UTF-8@euro", "fr-FR"), ("fr-fr", "fr-FR"), ("SV", "sv"), ("zh-hant-tw", "zh-Hant-TW"),
    ("de-DE-u-co-phonebk", "de-DE-u-co-phonebk"), ("es-419", "es-419"),
    ("fr FR", None), ("", None), ("x", None), ("1234", None), ("fr--FR", None), ("English_United States", None),
])
def test_language_tags(value, tag):
    assert text.language_tag(value) == tag


@pytest.mark.parametrize(("environ", "tag"), [
    ({"LANG": "fr_FR.UTF-8"}, "fr-FR"),
    ({"LC_ALL": "sv_SE.UTF-8", "LC_COLLATE": "de_DE.UTF-8", "LANG": "fr_FR.UTF-8"}, "sv-SE"),
    ({"LC_COLLATE": "de_DE.UTF-8", "LANG": "fr_FR.UTF-8"}, "de-DE"),
    ({"LC_ALL": "", "LANG": "pt_BR.UTF-8"}, "pt-BR"),
    ({"LC_ALL": "C"}, "en"), ({"LANG": "C.UTF-8"}, "en"), ({"LANG": "POSIX"}, "en"), ({}, "en"),
])
def test_the_machines_locale_comes_from_the_environment(environ, tag):
    assert text.machine_locale(environ) == tag


def test_the_locale_setting_defaults_to_the_machines(tmp_path, monkeypatch):
    for name in ("LC_ALL", "LC_COLLATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    settings = load_settings(tmp_path, environ={})
    assert settings.locale == "" and settings.locale_tag == "de-DE" and text.resolve(None) == "de-DE"
    monkeypatch.setenv("LC_ALL", "C")
    assert Settings().locale_tag == "en"
    assert load_settings(tmp_path, environ={"FACEATTEND_LOCALE": "sv_se"}).locale_tag == "sv-SE"
    (tmp_path / "faceattend.toml").write_text('locale = "fr-CA"\n')
    assert load_settings(tmp_path, environ={}).locale_tag == "fr-CA"


@pytest.mark.parametrize("value", ["fr FR", "12", "français", "fr-", "en_US.UTF-8 extra"])
def test_a_malformed_locale_is_one_line_naming_the_setting(tmp_path, value):
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={"FACEATTEND_LOCALE": value})
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"FACEATTEND_LOCALE: locale = {value!r} ")
    assert "language tag such as fr-FR" in message
    (tmp_path / "faceattend.toml").write_text(f'locale = "{value}"\n')
    with pytest.raises(ConfigError, match=r"faceattend.toml: locale = "):
        load_settings(tmp_path, environ={})


# ----- the roster, reports and the command line -----------------------------------------------


def make_log(data):
    with open_store(data) as store:
        att = Attendance(store)
        for number, (name, groups) in enumerate([("Gerhard", ["3A"]), ("Gérard", ["3A"]), ("Öberg", ["3A"]),
                                                  ("Zorn", ["3A"]), ("Álvaro", ["3A", "chœur"]),
                                                  ("Bob", ["3B"])], 1):
            att.add_person(name, person_id=f"S{number}", groups=groups)
        att.start_session("Maths", group="3A")
        att.check_in("S1")
        att.stop_session()
        att.start_session("Assembly")  # for everyone: the report of a group takes its people
        att.stop_session()


def test_people_and_groups_come_in_the_order_of_the_locale(tmp_path):
    make_log(tmp_path)
    with open_store(tmp_path) as store:
        names = [p.name for p in Attendance(store, locale="fr").people()]
        assert names[:3] == ["Álvaro", "Bob", "Gérard"] and names.index("Gérard") < names.index("Gerhard")
        assert Attendance(store, locale="fr").groups() == ["3A", "3B", "chœur"]
        summary = Attendance(store, locale="fr").summary(1)
        assert [row.name for row in summary.people][:2] == ["Álvaro", "Gérard"]
        if ICU:
            assert [p.name for p in Attendance(store, locale="sv").people()][-2:] == ["Zorn", "Öberg"]
            assert [p.name for p in Attendance(store, locale="de").people()][-2:] == ["Öberg", "Zorn"]


def test_a_report_finds_its_group_case_and_accents_aside(tmp_path):
    make_log(tmp_path)
    today = date.today()
    with open_store(tmp_path) as store:
        for asked in ("3a", "3A", " 3a "):
            report = build_report(store, today, today, asked, locale="fr")
            assert report.group == "3A"
            assert [s.session.name for s in report.sessions] == ["Maths", "Assembly"]
            assert [p.person.name for p in report.people] == ["Álvaro", "Gérard", "Gerhard", "Öberg", "Zorn"]
        choir = build_report(store, today, today, "CHOEUR", locale="fr")
        assert choir.group == "chœur" and [p.person.name for p in choir.people] == ["Álvaro"]
        nobody = build_report(store, today, today, "4C")
        assert nobody.group == "4C" and nobody.sessions == [] and not nobody.people  # no session of theirs


def test_report_group_3a_selects_group_3A_from_the_command_line(tmp_path, capsys):
    data = tmp_path / "data"
    make_log(data)
    today = str(date.today())
    out = tmp_path / "r.json"
    assert main(["report", "--data", str(data), "--from", today, "--to", today, "--group", "3a", "--format", "json",
                 "--out", str(out)]) == 0
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["group"] == "3A"
    capsys.readouterr()
    assert main(["report", "--data", str(data), "--from", today, "--to", today, "--group", "3Z"]) == 3
    err = capsys.readouterr().err
    assert "nobody in group '3Z'" in err and "groups: 3A" in err
    assert not list((data / "exports").glob("*3Z*"))  # no empty report written
    assert main(["report", "--data", str(data), "--from", "2020-01-01", "--to", "2020-01-31", "--group", "3a"]) == 3
    err = capsys.readouterr().err  # the group is there; the range has no session
    assert "no session between 2020-01-01 and 2020-01-31 for group '3a'" in err and "nobody" not in err
    assert {p["id"] for p in body["people"]} == {"S1", "S2", "S3", "S4", "S5"}
    assert body["people"][0]["name"] == "Álvaro"
    capsys.readouterr()
    assert main(["report", "--data", str(data), "--from", today, "--to", today, "--group", "3a"]) == 0
    written = capsys.readouterr().err.split("wrote ", 1)[1].split(": ", 1)[0]
    assert written.endswith(f"_{slug('3A', fallback='group')}.csv")  # named after the group as stored


def test_people_list_group_3a_lists_group_3A(tmp_path, capsys):
    data = tmp_path / "data"
    make_log(data)
    (data / "faceattend.toml").write_text('locale = "fr"\n')
    assert main(["people", "list", "--data", str(data), "--group", "3a", "--json"]) == 0
    listed = [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["Álvaro", "Gérard", "Gerhard", "Öberg", "Zorn"]
    assert main(["people", "list", "--data", str(data), "--group", "choeur"]) == 0
    captured = capsys.readouterr()
    assert "S5" in captured.out and "1 person in chœur" in captured.err
    assert main(["people", "list", "--data", str(data), "--group", "4C", "--json"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("written", "elsewhere"), [
    ("Zoë Ünal", "zoe  unal"), ("O'Brien", "O’Brien"), ("Anne-Marie", "anne marie"), ("José Núñez", "JOSE NUNEZ"),
    ("Łukasz Wiśniewski", "Lukasz Wisniewski"), ("Ann Lee", "Ann\u00a0Lee"),
])
def test_a_name_read_without_its_accents_or_with_another_apostrophe_is_the_same_name(written, elsewhere):
    assert text.name_key(written) == text.name_key(elsewhere)


def test_a_spelling_keeps_every_letter_but_case_spacing_and_the_kind_of_apostrophe():
    assert text.spelling_key("O’Brien") == text.spelling_key("o'brien") == text.spelling_key("O'Brien ")
    assert text.spelling_key("Zoe\u0308") == text.spelling_key("ZOË")  # accents apart (a Mac) or composed
    for one, other in (("Thư Hà", "Thu Hà"), ("Lê Hà", "Lệ Hà"), ("ジロウ", "シロウ"), ("Zoë", "Zoe")):
        assert text.spelling_key(one) != text.spelling_key(other)  # other names, in their languages


def test_names_that_differ_by_a_letter_stay_apart():
    assert text.name_key("Zoe Unal") != text.name_key("Zoe Ural")
    assert text.name_key("O'Brien") != text.name_key("OBrien")


def test_columns_of_names_in_any_script_stay_straight(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        attendance = Attendance(store)
        for number, name in enumerate(["王小明", "Ｚｏｅ", "Nguyễn Thị Hồng", "Ann Lee", "Joker 😀"], 1):
            attendance.add_person(name, person_id=f"S{number}", groups=["3A"])
    assert main(["people", "list", "--data", str(data)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 5 and len({text.width(row.split("3A")[0]) for row in rows}) == 1, rows


def test_a_spelling_is_the_same_across_widths_hyphens_and_spaces_but_not_across_letters():
    assert text.spelling_key("ｼﾛｳ") == text.spelling_key("シロウ")
    assert text.spelling_key("Anne-Marie Lê") == text.spelling_key("anne marie lê")
    assert text.spelling_key("Jürgen Groß") != text.spelling_key("Jürgen Gross")  # two surnames
    assert text.unaccented("Zoe O’Brien") and text.unaccented("Zoe\u00a0Unal") and not text.unaccented("Zoë")


def test_a_group_stored_with_a_zero_width_space_by_an_earlier_version_is_the_same_group_everywhere(tmp_path):
    """A log written before such characters were dropped: a person, a past session and a timetable slot
    of '3A' with a zero-width space. Each is 3A now, so the slot opens for 3A and 3A's report counts the
    session."""
    from faceattend_tui.attendance.sessions import stored_group
    from faceattend_tui.attendance.timetable import Slot

    data = tmp_path / "data"
    a_lesson_of_3a(data, {"S1": "Ann Lee", "S4": "Raj Koo"})
    log = data / "attendance.json"
    whole = json.loads(log.read_text(encoding="utf-8"))
    for doc in [*whole["people"].values(), *whole["sessions"].values()]:
        if doc.get("group") == "3A":
            doc["group"] = "3A\u200b"
        if doc.get("id") == "S4":
            doc["groups"] = ["3A\u200b"]
    log.write_text(json.dumps(whole), encoding="utf-8")
    with open_store(data) as store:
        assert [s.group for s in store.sessions()] == ["3A"]
        today = store.sessions()[0].started_at.date()
        report = build_report(store, today, today, "3A")
        assert [line.counts.total for line in report.sessions] == [2]
        assert stored_group(Attendance(store).groups(), "3A\u200b") == "3A"
    slot = Slot.from_doc({"name": "Maths", "group": "3A\u200b", "weekday": 1, "start": "08:00", "end": "09:00"})
    assert slot.group == "3A"
    assert text.same("3A\u200b", "3a") and not text.same("3A", "3B")


def test_a_virama_is_part_of_the_word_where_accents_are_not():
    """क्ष (with a virama) and कष are two words: two groups, not one; accents and case still fold."""
    assert not text.same("कक्षा 5", "ककषा 5") and text.same("कक्षा 5", "कक्षा 5 ")
    assert text.fold("क्ष") != text.fold("कष") and text.fold("Céline") == "celine"



def test_a_name_stored_with_a_joiner_between_latin_letters_is_found_as_typed():
    """An older version kept a zero-width joiner inside "José" (copied from a web page): `people edit "José
    Ruiz"` said there was no such person while the list showed him."""
    from faceattend_tui.attendance.models import Person
    from faceattend_tui.attendance.sessions import find_person

    jose = Person("S31", "Jo\u200dsé Ruiz", datetime(2026, 9, 1, tzinfo=timezone.utc))
    assert find_person({"S31": jose}, "José Ruiz") is jose
    assert text.spelling_key("علی\u200cرضا") != text.spelling_key("علیرضا")  # a Persian non-joiner is spelling
