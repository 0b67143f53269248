"""Settings: one home for every default, read from the file, the environment and flags in that order."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from faceattend_tui.cli import main
from faceattend_tui.config import ConfigError, Range, Settings, describe, load_settings, settings_toml, validate
from faceattend_tui.live.recognizer import LiveRecognizer

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_has_a_one_line_description():
    for name, _, doc in describe():
        assert doc and "\n" not in doc, name


def test_file_then_environment_then_flags(tmp_path):
    (tmp_path / "faceattend.toml").write_text('threshold = 0.4\nvotes_needed = 4\ndevice = "cpu"\n')
    env = {"FACEATTEND_THRESHOLD": "0.45", "FACEATTEND_UNKNOWN_AFTER": "3.5"}
    settings = load_settings(tmp_path, {"threshold": 0.5, "device": None}, environ=env)
    assert (settings.threshold, settings.votes_needed, settings.unknown_after, settings.device) == (0.5, 4, 3.5, "cpu")


@pytest.mark.parametrize("text", ['device = "gpu"\n', "votes_needed = 2.5\n", "colour = 1\n", "threshold = [1]\n",
                                  'export_dir = "sheets\\u0000x"\n', 'door_font = "a\\u0000.ttf"\n'])
def test_bad_values_name_the_file(tmp_path, text):
    (tmp_path / "faceattend.toml").write_text(text)
    with pytest.raises(ConfigError, match="faceattend.toml"):
        load_settings(tmp_path, environ={})


def test_the_live_pipeline_takes_its_rules_from_the_settings(engine):
    from faceattend_tui.gallery.matcher import Gallery

    settings = Settings()
    live = LiveRecognizer(engine, Gallery.from_people({}), settings)
    rules = live.voter.rules
    assert rules.threshold == settings.threshold == 0.30
    assert (rules.votes_needed, rules.window_votes, rules.window_seconds) == (
        settings.votes_needed, settings.window_votes, settings.window_seconds)
    assert (rules.unknown_after, rules.recheck_seconds, rules.recheck_iou) == (
        settings.unknown_after, settings.recheck_seconds, settings.recheck_iou)
    assert (live.tracker.iou_threshold, live.tracker.max_misses) == (settings.track_iou, settings.track_max_misses)
    changed = dataclasses.replace(settings, threshold=0.4, unknown_after=5.0, votes_needed=2)
    rules = LiveRecognizer(engine, Gallery.from_people({}), changed).voter.rules
    assert (rules.threshold, rules.unknown_after, rules.votes_needed) == (0.4, 5.0, 2)


def test_the_readme_lists_every_setting_with_its_default():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Settings", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    assert block == settings_toml(), "README's settings block differs from config.settings_toml():\n" + settings_toml()
    listed = dict(re.findall(r'^(\w+)\s*=\s*("[^"]*"|\S+)', block, re.M))
    for name, default, _ in describe():
        expected = str(default).lower() if isinstance(default, bool) else str(default)
        assert listed[name].strip('"') == expected, name


def numeric_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(Settings) if f.type in ("int", "float", int, float)]


def test_every_numeric_setting_declares_a_range_its_default_is_in():
    assert len(numeric_fields()) > 20
    for spec in numeric_fields():
        assert isinstance(spec.metadata["range"], Range), f"{spec.name} declares no range"
        assert spec.default in spec.metadata["range"], spec.name
    assert validate(Settings()) == Settings()


# (faceattend.toml line, the allowed range the error must state); each was accepted before, and broke something
FAULTS = [
    ("det_size = 0", "160 <= det_size <= 1920"),
    ("det_size = -640", "160 <= det_size <= 1920"),
    ("cohort_k = -1", "1 <= cohort_k <= 100"),
    ("det_threshold = -5", "0 < det_threshold < 1"),
    ("threads = 100000", "0 <= threads <= 256"),
    ("threshold = 0", "0 < threshold < 1"),
    ("threshold = -0.2", "0 < threshold < 1"),
    ("threshold = nan", "0 < threshold < 1"),
    ("threshold = inf", "0 < threshold < 1"),
    ("cohort_floor = -inf", "0 <= cohort_floor < 1"),
    ("track_max_misses = -1", "0 <= track_max_misses <= 1000"),
    ("max_embeds_per_frame = 0", "1 <= max_embeds_per_frame <= 64"),
    ("window_seconds = 0", "0 < window_seconds <= 60"),
    ('timezone = "Mars/Olympus"', "Europe/Paris"),
    ("votes_needed = 6", "window_votes = 5"),
]


@pytest.mark.parametrize(("line", "allowed"), FAULTS)
def test_a_bad_value_in_the_file_is_one_line_with_the_file_the_value_and_the_range(tmp_path, line, allowed):
    config = tmp_path / "faceattend.toml"
    config.write_text(line + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={})
    message = str(info.value)
    name, value = line.split(" = ")
    assert "\n" not in message
    assert message.startswith(f"{config}: {name} = ")
    assert value.strip('"') in message and allowed in message


@pytest.mark.parametrize(("variable", "text", "allowed"), [
    ("FACEATTEND_THRESHOLD", "nan", "0 < threshold < 1"),
    ("FACEATTEND_DET_SIZE", "0", "160 <= det_size <= 1920"),
    ("FACEATTEND_TIMEZONE", "Nowhere", "Europe/Paris"),
])
def test_a_bad_value_from_the_environment_names_the_variable(tmp_path, variable, text, allowed):
    with pytest.raises(ConfigError, match=re.escape(variable + ":")) as info:
        load_settings(tmp_path, environ={variable: text})
    assert allowed in str(info.value)


def test_a_bad_override_names_its_flag(tmp_path):
    with pytest.raises(ConfigError, match=r"^--det-size: det_size = 100000 is outside the allowed range"):
        load_settings(tmp_path, {"det_size": 100000}, environ={})


def test_values_at_the_ends_of_their_ranges_are_accepted(tmp_path):
    (tmp_path / "faceattend.toml").write_text("threads = 256\ndet_size = 160\ntrack_max_misses = 0\n"
                                              'cohort_weight = 0\n')
    env = {"FACEATTEND_THRESHOLD": "0.99", "FACEATTEND_TIMEZONE": ""}
    settings = load_settings(tmp_path, {"det_size": 1920, "threads": 0}, environ=env)
    assert (settings.threads, settings.det_size, settings.threshold, settings.timezone) == (0, 1920, 0.99, "")


@pytest.mark.parametrize("text", ["threads = true\n", "threads = inf\n", "detector = [1]\n"])
def test_values_of_the_wrong_kind_are_refused(tmp_path, text):
    (tmp_path / "faceattend.toml").write_text(text)
    with pytest.raises(ConfigError, match="is not (a valid|text)"):
        load_settings(tmp_path, environ={})


def test_validate_checks_settings_made_in_code():
    with pytest.raises(ConfigError, match=r"^cohort_k = 0 is outside the allowed range 1 <= cohort_k <= 100$"):
        validate(Settings(cohort_k=0))


@pytest.mark.parametrize(("argv", "flag"), [
    (["doctor", "--cameras", "0", "--threshold", "nan"], "--threshold"),
    (["extract", "--threads", "100000"], "--threads"),
])
def test_a_bad_flag_is_exit_2_with_one_line(tmp_path, capfd, argv, flag):
    code = main([*argv, "--data", str(tmp_path)])
    out, err = capfd.readouterr()
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {flag}: ") and "outside the allowed range" in line


def test_a_bad_file_value_stops_a_command_with_exit_2(tmp_path, capfd):
    config = tmp_path / "faceattend.toml"
    config.write_text("window_seconds = 0\n")
    code = main(["doctor", "--cameras", "0", "--data", str(tmp_path)])
    out, err = capfd.readouterr()
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"error: {config}: window_seconds = 0.0 is outside the allowed range "
                                        "0 < window_seconds <= 60"]


def test_a_running_station_reads_the_time_on_the_clock_of_its_timezone_setting(monkeypatch):
    """The door's "checked in at 08:02" and the screen agree with the reports, on a machine kept on UTC."""
    import time as clock_module
    from datetime import datetime, timedelta

    from faceattend_tui.cli.clock import station_clock

    monkeypatch.setenv("TZ", "UTC")
    clock_module.tzset()
    try:
        with station_clock("Pacific/Kiritimati") as warning:  # UTC+14 all year
            assert warning == ""
            assert datetime.now().astimezone().utcoffset() == timedelta(hours=14)
        assert datetime.now().astimezone().utcoffset() == timedelta(0)  # as it was, after the run
        with station_clock("Nowhere/Atlantis") as warning:
            assert "no zone file on this machine" in warning
            assert datetime.now().astimezone().utcoffset() == timedelta(0)
    finally:
        monkeypatch.undo()
        clock_module.tzset()


@pytest.mark.parametrize(("text", "env", "says"), [
    ("treshold = 0.4\n", {}, "unknown setting: treshold (did you mean threshold?)"),
    ('data = "/elsewhere"\n', {}, "the data folder is given with --data"),
    ('database = "postgresql://door@db/attendance"\n', {"FACEATTEND_DATABASE": " "}, "FACEATTEND_DATABASE is empty"),
    ("[station]\nthreshold = 0.4\n", {}, "no tables"),
    ("", {"FACEATTEND_TRESHOLD": "0.4"}, "FACEATTEND_TRESHOLD is not one faceattend reads: did you mean "
                                         "FACEATTEND_THRESHOLD?"),
    ("", {"faceattend_threshold": "0.4"}, "did you mean FACEATTEND_THRESHOLD?"),
    ("", {"FACEATTEND_DATA": "/srv/attendance"}, "FACEATTEND_DATA is not one faceattend reads"),
    ("", {"FACEATTEND_NAME": "front door"}, "give it as --name on the command line"),
    ("", {"FACEATTEND_HOME": "/opt"}, "give what it meant on the command line (faceattend COMMAND --help)"),
    ('database = "postgresql://door@db/attendance"\n', {"FACEATTEND_DATABASE": ""},
     "FACEATTEND_DATABASE is empty, and"),
    ('timezone = "Asia/Tokyo"\n', {"FACEATTEND_TIMEZONE": ""}, "FACEATTEND_TIMEZONE is empty, and"),
    ('export_dir = "/mnt/office"\n', {"FACEATTEND_EXPORT_DIR": ""}, "FACEATTEND_EXPORT_DIR is empty, and"),
    ("export_dir = true\n", {}, "export_dir = True is not text (in quotes)"),
    ('export_dir = "  "\n', {}, "is only spaces"),
    ('timezone = "right/Europe/Paris"\n', {}, "leap seconds"),
])
def test_a_setting_that_would_be_ignored_or_misread_is_refused(tmp_path, text, env, says):
    (tmp_path / "faceattend.toml").write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path, environ=env)
    assert says in str(refused.value)


def test_a_settings_file_that_is_a_folder_or_a_broken_link_is_refused(tmp_path):
    (tmp_path / "faceattend.toml").mkdir()
    with pytest.raises(ConfigError, match="is not a settings file"):
        load_settings(tmp_path, environ={})
    (tmp_path / "faceattend.toml").rmdir()
    (tmp_path / "faceattend.toml").symlink_to(tmp_path / "etc" / "faceattend.toml")
    with pytest.raises(ConfigError, match="which is not there"):
        load_settings(tmp_path, environ={})


@pytest.mark.parametrize("below", ["", "data"])
def test_a_data_folder_that_is_a_file_is_said_so(tmp_path, below):
    """It read "faceattend.toml: Not a directory (is the data folder this user's?)"."""
    (tmp_path / "afile").write_text("x")
    data = tmp_path / "afile" / below if below else tmp_path / "afile"
    with pytest.raises(ConfigError, match=f"{tmp_path / 'afile'} is a file, not a folder: the data folder cannot be"):
        load_settings(data, environ={})


def test_a_settings_file_from_a_windows_editor_is_read(tmp_path):
    (tmp_path / "faceattend.toml").write_bytes(b"\xef\xbb\xbfthreshold = 0.4\r\n")
    assert load_settings(tmp_path, environ={}).threshold == 0.4


def test_a_relative_export_dir_is_inside_the_data_folder(tmp_path):
    (tmp_path / "faceattend.toml").write_text('export_dir = "sheets"\n')
    assert load_settings(tmp_path, environ={}).sheets_dir == tmp_path / "sheets"
    assert load_settings(tmp_path, {"export_dir": "/srv/share"}, environ={}).sheets_dir == Path("/srv/share")


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf"])
def test_a_headless_run_of_no_length_is_refused_before_any_session_starts(tmp_path, capfd, value):
    """--max-seconds nan stopped at once and recorded the whole class absent."""
    with pytest.raises(SystemExit) as stopped:
        main(["station", "--headless", "--session", "Maths", f"--max-seconds={value}", "--data", str(tmp_path)])
    out, err = capfd.readouterr()
    assert stopped.value.code == 2 and "is not a number of seconds above 0" in err and "started session" not in out
    assert not (tmp_path / "attendance.json").exists()


def test_two_settings_at_odds_name_where_each_came_from(tmp_path):
    (tmp_path / "faceattend.toml").write_text("votes_needed = 4\nwindow_votes = 5\n")
    with pytest.raises(ConfigError, match=r"\(window_votes = 3, from FACEATTEND_WINDOW_VOTES\)"):
        load_settings(tmp_path, environ={"FACEATTEND_WINDOW_VOTES": "3"})
