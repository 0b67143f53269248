"""Settings: one home for every default, read from the file, the environment and flags in that order."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from faceattend_tui.config import ConfigError, Settings, describe, load_settings, settings_toml
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


@pytest.mark.parametrize("text", ['device = "gpu"\n', "votes_needed = 2.5\n", "colour = 1\n", "threshold = [1]\n"])
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
    listed = dict(re.findall(r"^(\w+)\s*=\s*(\S+)", block, re.M))
    for name, default, _ in describe():
        expected = str(default).lower() if isinstance(default, bool) else str(default)
        assert listed[name].strip('"') == expected, name
