"""The `faceattend` command line on the real models: identify, extract, doctor, models, errors."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceattend_tui.cli import main
from faceattend_tui.vision.runtime import cuda_problem

CPU = ["--device", "cpu", "--threads", "2"]


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def gallery_root(tmp_path_factory, sample_photo):
    """A data root with Yao Ming enrolled from yaoming.jpg."""
    root = tmp_path_factory.mktemp("gallery")
    (root / "database_image").mkdir()
    shutil.copy(sample_photo("yaoming.jpg"), root / "database_image" / "yaoming.jpg")
    assert main(["extract", "--data", str(root), *CPU]) == 0
    assert (root / "database_tensor" / "yaoming.npy").is_file()
    return root


def test_identify_json_prints_one_line_per_image_with_the_documented_keys(tmp_path, sample_photo, capfd):
    images = [sample_photo("yaoming.jpg"), sample_photo("gdp.jpg")]
    code = main(["identify", "--data", str(tmp_path), *CPU, "--json", *map(str, images)])
    out, err = capfd.readouterr()
    assert code == 0
    records = json_lines(out)
    assert [r["image"] for r in records] == [str(p) for p in images]
    assert all(set(r) == {"image", "faces"} for r in records)
    assert len(records[0]["faces"]) == 1 and len(records[1]["faces"]) >= 3
    for record in records:
        for face in record["faces"]:
            assert set(face) == {"box", "score", "landmarks", "name", "person_id", "display_name", "similarity",
                                 "match_score"}
            assert len(face["box"]) == 4 and all(isinstance(v, float) for v in face["box"])
            assert 0 < face["score"] <= 1
            assert np.asarray(face["landmarks"]).shape == (5, 2)
            assert face["name"] == "unknown" and face["person_id"] is None  # nobody enrolled
            assert -1 <= face["similarity"] <= 1
    assert "nobody is enrolled" in err


def test_identify_embeddings_only_when_asked(tmp_path, sample_photo, capfd):
    code = main(["identify", "--data", str(tmp_path), *CPU, "--json", "--embeddings", str(sample_photo("yaoming.jpg"))])
    out, _ = capfd.readouterr()
    assert code == 0
    (record,) = json_lines(out)
    (face,) = record["faces"]
    assert set(face) == {"box", "score", "landmarks", "name", "person_id", "display_name", "similarity", "embedding",
                         "match_score"}
    vector = np.asarray(face["embedding"])
    assert vector.shape == (512,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)


def test_identify_names_yao_ming_and_nobody_else(gallery_root, sample_photo, capfd):
    capfd.readouterr()
    code = main(["identify", "--data", str(gallery_root), *CPU, "--json", str(sample_photo("players.jpg"))])
    out, err = capfd.readouterr()
    assert code == 0
    (record,) = json_lines(out)
    names = [f["name"] for f in record["faces"]]
    assert len(names) >= 20
    assert names.count("yaoming") == 1
    assert set(names) == {"yaoming", "unknown"}
    yao = next(f for f in record["faces"] if f["name"] == "yaoming")
    assert yao["similarity"] > 0.5
    assert max(f["similarity"] for f in record["faces"] if f["name"] == "unknown") < 0.3
    assert "nobody is enrolled" not in err


def test_identify_text_output(gallery_root, sample_photo, capfd):
    code = main(["identify", "--data", str(gallery_root), *CPU, str(sample_photo("yaoming.jpg"))])
    out, _ = capfd.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{sample_photo('yaoming.jpg')}: 1 face"
    assert lines[1].split()[0] == "yaoming" and "similarity" in lines[1] and " match 0." in lines[1]


def test_identify_names_a_photo_without_a_face_and_exits_1(gallery_root, sample_photo, tmp_path, capfd):
    import cv2

    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((240, 320, 3), 180, np.uint8))
    code = main(["identify", "--data", str(gallery_root), *CPU, str(wall), str(sample_photo("yaoming.jpg"))])
    out, err = capfd.readouterr()
    assert code == 1 and f"skipped: {wall}: no face found" in err
    assert str(wall) not in out and "yaoming" in out  # said once, on stderr; the other photo still identified


def test_identify_json_gives_a_line_to_a_photo_it_cannot_read_too(gallery_root, sample_photo, tmp_path, capfd):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    photos = [str(broken), str(tmp_path / "missing.jpg"), str(sample_photo("yaoming.jpg"))]
    code = main(["identify", "--data", str(gallery_root), *CPU, "--json", *photos])
    out, err = capfd.readouterr()
    records = json_lines(out)
    assert code == 1 and [r["image"] for r in records] == photos  # matched to the inputs, one by one
    assert records[0]["faces"] == [] and "broken.jpg" in records[0]["error"] and "error" not in records[2]


def test_identify_names_people_with_their_ids_where_the_log_knows_them(tmp_path, sample_photo, capfd):
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,groups,photo\nS3,Céline Gérard,3A,yao.jpg\n", encoding="utf-8")
    data = tmp_path / "data"
    assert main(["people", "import", str(roster), "--data", str(data), *CPU]) == 0
    capfd.readouterr()
    assert main(["identify", "--data", str(data), *CPU, str(sample_photo("yaoming.jpg"))]) == 0
    lines = capfd.readouterr().out.splitlines()
    assert lines[1].strip().startswith("Céline Gérard (S3) ") and "similarity" in lines[1]
    assert main(["identify", "--data", str(data), *CPU, "--json", str(sample_photo("yaoming.jpg"))]) == 0
    ((face,),) = (record["faces"] for record in json_lines(capfd.readouterr().out))
    assert (face["name"], face["person_id"], face["display_name"]) == ("S3", "S3", "Céline Gérard")


def test_identify_falls_back_to_the_folder_name_without_a_log(gallery_root, tmp_path, sample_photo, capfd):
    shutil.copytree(gallery_root / "database_tensor", tmp_path / "database_tensor")  # templates, no log
    assert main(["identify", "--data", str(tmp_path), *CPU, "--json", str(sample_photo("yaoming.jpg"))]) == 0
    ((face,),) = (record["faces"] for record in json_lines(capfd.readouterr().out))
    assert (face["name"], face["person_id"], face["display_name"]) == ("yaoming", None, "yaoming")


def test_unreadable_image_among_several_is_skipped_with_exit_1(tmp_path, sample_photo, capfd):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    missing = tmp_path / "missing.png"
    good = sample_photo("yaoming.jpg")
    args = ["identify", "--data", str(tmp_path), *CPU, "--json", str(good), str(bad), str(missing), str(good)]
    code = main(args)
    out, err = capfd.readouterr()
    assert code == 1
    records = json_lines(out)  # one line per photo, those that could not be read with why
    assert [r["image"] for r in records] == [str(good), str(bad), str(missing), str(good)]
    assert ["error" in r for r in records] == [False, True, True, False]
    assert any(line.startswith("skipped:") and str(bad) in line for line in err.splitlines())
    assert any(line.startswith("skipped:") and str(missing) in line for line in err.splitlines())
    assert "Traceback" not in err


def test_random_bytes_recognizer_is_exit_2_with_one_line(tmp_path, sample_photo, capfd):
    bad = tmp_path / "models" / "bad.onnx"
    bad.parent.mkdir()
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    code = main(["identify", "--data", str(tmp_path), *CPU, "--recognizer", str(bad), str(sample_photo("yaoming.jpg"))])
    out, err = capfd.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and str(bad) in lines[0]
    assert "Traceback" not in err


def test_missing_recognizer_file_is_exit_2_naming_it(tmp_path, sample_photo, capfd):
    code = main(["identify", "--data", str(tmp_path), *CPU, "--recognizer", "nope.onnx", str(sample_photo("gdp.jpg"))])
    _, err = capfd.readouterr()
    assert code == 2
    assert "nope.onnx" in err and "Traceback" not in err


def test_doctor_reports_and_exits_0(tmp_path, capfd):
    code = main(["doctor", "--data", str(tmp_path), "--cameras", "1"])
    out, err = capfd.readouterr()
    assert code == 0
    for prefix in ("python:", "onnxruntime", "gpu:", "opencv:", "data root:", "models cache:", "detector",
                   "recognizer", "cameras:", "display:"):
        assert any(line.startswith(prefix) for line in out.splitlines()), prefix
    assert "sha256 ok" in out
    assert "Traceback" not in err


def test_doctor_without_camera_probing(tmp_path, capfd):
    code = main(["doctor", "--data", str(tmp_path), "--cameras", "0"])
    out, _ = capfd.readouterr()
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("cameras:")]
    assert "not checked" in line and "-1" not in line


def test_doctor_fails_where_the_station_could_not_load_its_models(tmp_path, capfd):
    if cuda_problem() is None:
        pytest.skip("CUDA works here")
    code = main(["doctor", "--data", str(tmp_path / "new"), "--cameras", "0", "--device", "cuda"])
    out, _ = capfd.readouterr()
    assert code == 1  # the station would refuse to start on the CPU when asked for CUDA
    assert any(line.startswith("models:") and "CANNOT LOAD" in line and "CUDA" in line for line in out.splitlines())
    assert "(not there yet: the station makes it)" in out


def test_doctor_flags_a_damaged_user_copy_of_a_default_model(tmp_path, capfd):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "w600k_mbf.onnx").write_bytes(b"damaged")
    code = main(["doctor", "--data", str(tmp_path), "--cameras", "0"])
    out, _ = capfd.readouterr()
    assert code == 1
    assert any(line.startswith("recognizer") and "MISMATCH" in line for line in out.splitlines())


@pytest.mark.parametrize("trouble", ["read-only", "full"])
def test_doctor_fails_where_the_station_could_not_write_its_records(tmp_path, capfd, monkeypatch, trouble):
    """A read-only or full data folder: the station refuses to start, so doctor must not say all is well."""
    from collections import namedtuple

    from faceattend_tui import doctor

    if trouble == "read-only":  # a test may run as root, whom permissions do not stop
        monkeypatch.setattr(doctor.os, "access", lambda path, mode: not mode & os.W_OK)
    else:
        usage = namedtuple("usage", "total used free")
        monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 4096, 4096))
    code = main(["doctor", "--data", str(tmp_path), "--cameras", "0"])
    out, _ = capfd.readouterr()
    assert code == 1
    (line,) = [line for line in out.splitlines() if "CANNOT WRITE" in line or "LOW ON SPACE" in line]
    assert line.startswith("data root:") and ("read-only" in line if trouble == "read-only" else "4 KiB free" in line)


def test_doctor_wants_room_for_the_log_to_be_written_whole_again(tmp_path, capfd, monkeypatch):
    """With 40 MiB free beside a 30 MiB log, doctor passed while the station could not fold its log at the
    end of the day (it is written whole beside the old one); and a little space was called "cannot write"."""
    from collections import namedtuple

    from faceattend_tui import doctor

    with open(tmp_path / "attendance.json", "wb") as log:
        log.truncate(30 * 2**20)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: usage(10**10, 10**10 - 40 * 2**20, 40 * 2**20))
    assert doctor.folder_lines(tmp_path) == [
        "data root:  LOW ON SPACE: 40.0 MiB free on its disk, 50.0 MiB wanted; the log (30.0 MiB) is written "
        "whole again when the station closes: make room"]
    (tmp_path / "attendance.json").write_text("{}")
    assert doctor.folder_lines(tmp_path) == []


def test_doctor_names_templates_the_station_would_leave_out(tmp_path, capfd):
    """One person's file copied over another's by hand: the station leaves them out, unrecognised."""
    from fakes import enroll_fake_people

    enroll_fake_people(tmp_path, ["S101", "S102"])
    tensors = tmp_path / "database_tensor"
    shutil.copy(tensors / "S102.npy", tensors / "S101.npy")
    assert main(["doctor", "--data", str(tmp_path), "--cameras", "0"]) == 1
    out, _ = capfd.readouterr()
    (line,) = [line for line in out.splitlines() if "LEFT OUT" in line]
    assert "LEFT OUT for 1 people" in line and "S101.npy: changed since the manifest was written" in line


def test_doctor_counts_templates_an_interrupted_extraction_left_to_rebuild_as_left_out(tmp_path, capfd):
    """The station leaves them out until extract runs again: doctor must not count them as enrolled."""
    from fakes import enroll_fake_people

    from faceattend_tui.gallery.templates import load_manifest, save_manifest

    enroll_fake_people(tmp_path, ["S101", "S102"])
    tensors = tmp_path / "database_tensor"
    manifest = load_manifest(tensors)
    manifest.people["S102"].stale = True
    save_manifest(tensors, manifest)
    assert main(["doctor", "--data", str(tmp_path), "--cameras", "0"]) == 1
    out, _ = capfd.readouterr()
    (line,) = [line for line in out.splitlines() if "LEFT OUT" in line]
    assert "S102.npy: not yet rebuilt by an interrupted extraction" in line


def test_models_list_shows_where_each_model_is(tmp_path, models_dir, capfd):
    code = main(["models", "list", "--data", str(tmp_path)])
    out, _ = capfd.readouterr()
    assert code == 0
    lines = out.splitlines()
    detector = next(line for line in lines if line.startswith("detector"))
    recognizer = next(line for line in lines if line.startswith("recognizer"))
    assert "scrfd_500m_bnkps" in detector and str(models_dir / "scrfd_500m_bnkps.onnx") in detector
    assert "w600k_mbf" in recognizer and "sha256 ok" in recognizer
    assert any(line.startswith("user models:") and str(tmp_path / "models") in line for line in lines)


def test_models_list_flags_a_missing_user_model(tmp_path, capfd):
    code = main(["models", "list", "--data", str(tmp_path), "--detector", "mine.onnx"])
    out, _ = capfd.readouterr()
    assert code == 0
    assert any(line.startswith("detector") and "mine.onnx" in line and "NOT FOUND" in line for line in out.splitlines())


@pytest.mark.parametrize("text", ["device = \n", "threshold = 'high'\n", "colour = 'blue'\n"])
def test_bad_config_file_is_exit_2_naming_it(tmp_path, sample_photo, capfd, text):
    config = tmp_path / "faceattend.toml"
    config.write_text(text)
    code = main(["identify", "--data", str(tmp_path), *CPU, str(sample_photo("yaoming.jpg"))])
    out, err = capfd.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(config) in lines[0]
    assert "Traceback" not in err


def test_config_file_threshold_is_used(gallery_root, tmp_path, sample_photo, capfd):
    """A threshold above Yao Ming's similarity in players.jpg makes him unknown there."""
    root = tmp_path / "data"
    shutil.copytree(gallery_root, root)
    (root / "faceattend.toml").write_text("threshold = 0.95\n")
    capfd.readouterr()
    assert main(["identify", "--data", str(root), *CPU, "--json", str(sample_photo("players.jpg"))]) == 0
    (record,) = json_lines(capfd.readouterr().out)
    assert {f["name"] for f in record["faces"]} == {"unknown"}


def test_invalid_device_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["identify", "--data", str(tmp_path), "--device", "gpu", "x.jpg"])
    assert info.value.code == 2
    assert "--device" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["export", "--format", "xml"], ["extract", "--threads", "abc"], ["staff"],
                                  ["people", "list", "--bogus"]])
def test_bad_usage_is_one_line_on_stderr_as_the_help_says(argv, capsys):
    """argparse printed its usage block first: two to seven lines."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and "--help" in err


def test_options_given_before_the_command_are_said_to_go_after_it(capsys):
    """They were taken for the station's: "unrecognized arguments: people list (see faceattend station --help)"."""
    with pytest.raises(SystemExit):
        main(["--data", "d", "people", "list"])
    assert "options go after the command: faceattend people ... --data d" in capsys.readouterr().err


def test_models_list_offers_only_the_options_that_change_what_it_lists(capsys):
    """--database, --threshold, --threads and --static-shapes were offered and did nothing."""
    with pytest.raises(SystemExit):
        main(["models", "list", "--help"])
    offered = capsys.readouterr().out
    assert "--detector" in offered and "--recognizer" in offered
    assert not any(flag in offered for flag in ("--database", "--threshold", "--threads", "--static-shapes"))


def test_an_option_is_taken_only_as_written_in_full(tmp_path, capsys):
    """--era was taken for --erase, --gr for --group: a typo could do what it did not say."""
    with pytest.raises(SystemExit):
        main(["people", "remove", "S1", "--era", "--data", str(tmp_path)])
    assert "unrecognized arguments: --era (see faceattend people remove --help)" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["export"], ["pin"], ["report"], ["people", "list"]])
def test_record_commands_do_not_offer_model_options(command, capsys):
    from faceattend_tui.cli import main

    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert "--data" in out and "--detector" not in out and "--threshold" not in out


@pytest.mark.parametrize("command", [["watch"], ["station"], ["station", "--headless", "--session", "s"], ["demo"]])
def test_liveness_is_chosen_on_the_command_line(command, tmp_path, capsys):
    from faceattend_tui.cli import build_parser, settings_from

    args = build_parser().parse_args([*command, "--data", str(tmp_path), "--liveness", "blink"])
    assert settings_from(args).liveness == "blink"
    assert settings_from(build_parser().parse_args([*command, "--data", str(tmp_path)])).liveness == "off"
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*command, "--liveness", "photo"])
    assert info.value.code == 2 and "--liveness" in capsys.readouterr().err


def _commands(parser, path=()):
    """(command path, parser) of every command and sub-command."""
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield from _commands(command, (*path, name))


def test_every_command_and_option_says_what_it_is_for():
    import argparse

    from faceattend_tui.cli import build_parser

    silent = []
    for path, parser in _commands(build_parser()):
        if path and not parser.description:
            silent.append(" ".join(path))
        silent += [f"{' '.join(path)} {a.option_strings or a.dest}" for a in parser._actions
                   if not a.help and not isinstance(a, argparse._SubParsersAction)]
    assert silent == []


def test_help_shows_defaults_exit_codes_and_the_pin_variable(capsys):
    for argv in (["--help"], ["export", "--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = " ".join(capsys.readouterr().out.split())
        assert "FACEATTEND_PIN" in text and "exit codes" in text
        if argv[0] == "export":
            assert "file format (default: csv)" in text
        if argv[0] == "demo":
            assert "(default: demo-data)" in text and "current dir" not in text


def test_headless_text_prints_stats_only_when_asked():
    import io

    from faceattend_tui.cli.headless import Headless, HeadlessOptions
    from faceattend_tui.live import events as ev

    stats = ev.Stats(fps=29.5, detect_ms=11.0, track_ms=0.1, embed_ms=4.0, faces=2, tracks=2, frames=30, dropped=0)
    printed = {}
    for label, options in (("text", HeadlessOptions("Maths")), ("stats", HeadlessOptions("Maths", stats=True)),
                           ("json", HeadlessOptions("Maths", json=True))):
        out = io.StringIO()
        Headless(None, options, out).on_event(stats)
        printed[label] = out.getvalue()
    assert printed["text"] == "" and "29.5 fps" in printed["stats"] and '"type": "stats"' in printed["json"]


def test_setting_flags_take_their_help_and_choices_from_the_settings():
    import dataclasses

    from faceattend_tui.cli import FLAG_SETTINGS, build_parser
    from faceattend_tui.config import Settings

    fields = {f.name: f for f in dataclasses.fields(Settings)}
    station = build_parser()._subparsers._group_actions[0].choices["station"]
    flags = {a.dest: a for a in station._actions}
    for name in FLAG_SETTINGS:
        flag = flags[name]
        assert fields[name].metadata["doc"] in flag.help and f"setting {name}" in flag.help, name
        assert tuple(flag.choices or ()) == tuple(fields[name].metadata["choices"]), name


def test_watch_on_a_source_that_is_not_there_says_so_at_once_with_exit_2(tmp_path, capsys):
    assert main(["watch", "--data", str(tmp_path), "--source", str(tmp_path / "nope.mp4"), "--no-preview"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == [f"error: source not found: '{tmp_path / 'nope.mp4'}' is not "
                                                      "a camera index, URL, file or folder"]


def test_watch_on_a_data_folder_that_is_not_there_says_so_and_makes_none(tmp_path, capsys):
    """A typo in --data made an empty folder and watched with nobody enrolled, exit 0."""
    assert main(["watch", "--data", str(tmp_path / "typo"), "--source", "0", "--no-preview"]) == 2
    assert "typo does not exist (a typo, or its disk not mounted?)" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_doctor_checks_the_stations_own_source_as_the_station_would(tmp_path, capsys):
    import cv2
    import numpy as np

    video = tmp_path / "door.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (1920, 1080))
    for _ in range(3):
        writer.write(np.zeros((1080, 1920, 3), np.uint8))
    writer.release()
    assert main(["doctor", "--data", str(tmp_path), "--cameras", "0", "--source", str(video)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("source:"))
    assert "1920x1080 at 10 fps; faces under about 66 px across are not recognised" in line  # a 1080p camera
    assert main(["doctor", "--data", str(tmp_path), "--cameras", "0", "--source", str(video),
                 "--camera-rotate", "270"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("source:"))
    assert "1080x1920 at 10 fps, turned 270 degrees clockwise (camera_rotate)" in line  # mounted on its side
    assert main(["doctor", "--data", str(tmp_path), "--cameras", "0", "--source", "rtsp://a:pw@127.0.0.1:9/s"]) == 1
    out = capsys.readouterr().out
    assert "source:     CANNOT OPEN: cannot open stream rtsp://a:***@127.0.0.1:9/s (refused" in out and "pw@" not in out


def test_a_station_command_line_that_would_be_ignored_or_draw_nowhere_is_refused(tmp_path, capsys):
    """A unit file without --headless wrote the screen's escape codes into the journal, recording nothing;
    --group without --session was dropped without a word."""
    from faceattend_tui.cli import main

    for option in (["--group", "3A"], ["--keep-open"]):
        assert main(["station", "--headless", *option, "--data", str(tmp_path)]) == 2
        assert "--group, --late-after and --keep-open go with --session" in capsys.readouterr().err
    assert main(["station", "--data", str(tmp_path)]) == 2  # pytest's stdin and stdout are no terminal
    assert "no terminal to draw the station's screen on" in capsys.readouterr().err
    for option in (["--session", "Bad\x1b[31m"], ["--session", "Maths", "--group", "3A\x07"]):
        assert main(["station", "--headless", *option, "--data", str(tmp_path)]) == 2  # not opened, nor audited
        assert "holds a control character; not stored" in capsys.readouterr().err
    assert not (tmp_path / "attendance.json").exists()


def test_a_screen_whose_output_goes_to_a_file_is_refused_rather_than_drawn_at_the_wrong_size(
        tmp_path, capsys, monkeypatch):
    import sys

    from faceattend_tui.cli import main

    for stream in ("stdin", "stderr"):  # on a terminal, `faceattend > out.txt`
        monkeypatch.setattr(getattr(sys, stream), "isatty", lambda: True)
    assert main(["station", "--data", str(tmp_path)]) == 2
    assert "the screen's output goes to a file or a pipe" in capsys.readouterr().err
    assert not (tmp_path / "attendance.json").exists()


def test_watch_whose_reader_goes_away_says_so_once_and_stops(capsys):
    """`watch --json | head -1` ended with "error: Broken pipe", exit 2, as if the station had failed."""
    import os

    from faceattend_tui.cli.watch import written

    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as out:
        assert written("a line", out) is False
        assert written("another", out) is True  # nothing left to fail at exit: the output now goes nowhere
    assert capsys.readouterr().err.count("its reader went away; stopped") == 1


def test_doctor_names_every_pair_of_people_who_look_like_one(tmp_path):
    import numpy as np
    from fakes import FAKE_SHA, enroll_fake_people

    from faceattend_tui.config import load_settings
    from faceattend_tui.doctor import records_lines
    from faceattend_tui.gallery.templates import Entry, load_manifest, save_manifest, save_person

    enroll_fake_people(tmp_path, ["Ann", "Bob", "Cleo"])
    tensors = tmp_path / "database_tensor"
    manifest = load_manifest(tensors)
    assert manifest is not None and manifest.recognizer.sha256 == FAKE_SHA
    ann = np.load(tensors / "Ann.npy")
    manifest.people["Ann Again"] = Entry([{"image": "Ann Again.jpg", "sha256": "y"}],
                                         save_person(tensors, "Ann Again", ann))  # one person under two names
    save_manifest(tensors, manifest)
    from faceattend_tui.attendance import Attendance, open_store

    with open_store(tmp_path) as store:
        Attendance(store).add_person("Ann Lee", person_id="S1", folder="Ann")
    (line,) = [x for x in records_lines(load_settings(tmp_path)) if "look like one person" in x]
    assert line == ("templates:  1 pair of people look like one person, who would check in as both: "
                    "Ann Lee (S1) and Ann Again (1.00)")  # by the roster's names where it has them


@pytest.mark.parametrize("where", ["missing", "empty"])
def test_a_headless_station_on_a_data_folder_missing_or_empty_refuses_instead_of_recording_nobody(
        tmp_path, capsys, where):
    """A typo in a service unit, a disk not mounted: the station ran all day with nobody, exit 0."""
    data = tmp_path / "srv" / "attendance"
    if where == "empty":
        data.mkdir(parents=True)
    code = main(["station", "--headless", "--data", str(data), "--source", str(tmp_path), "--session", "Shift",
                 "--no-preview", "--max-seconds", "1"])
    err = capsys.readouterr().err
    assert code == 2 and f"the data folder {data} " in err and "disk not mounted?" in err
    assert data.exists() == (where == "empty") and not (data / "attendance.json").exists()


@contextlib.contextmanager
def station_holding(data: Path):
    """Another process holding the data folder's lock as a running station does."""
    hold = (f"from faceattend_tui.attendance import acquire_lock; import time; "
            f"acquire_lock(__import__('pathlib').Path({str(data)!r}), what='station'); print('up', flush=True); "
            "time.sleep(60)")
    running = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert running.stdout.readline().strip() == "up"
        yield running
    finally:
        running.kill()
        running.wait()


def test_doctor_says_whether_a_station_runs_on_the_data_folder(tmp_path):
    """A service's health check: whether a process holds the station's lock, and one a crash left."""

    from faceattend_tui.attendance import acquire_lock
    from faceattend_tui.doctor import station_lines

    assert station_lines(tmp_path) == []
    with station_holding(tmp_path) as running:
        assert station_lines(tmp_path)[0].startswith(f"station:    running on this data folder (pid {running.pid} of "
                                                     "user ")
    ended = station_lines(tmp_path)
    assert ended[0].startswith("station:    none running; the last one ended without closing"), ended
    record = json.loads((tmp_path / "faceattend.lock").read_text())
    record["pid"] = os.getpid()  # its pid reused by another program named faceattend: still not running
    (tmp_path / "faceattend.lock").write_text(json.dumps(record), encoding="utf-8")
    assert station_lines(tmp_path)[0].startswith("station:    none running; the last one ended without closing")
    record["host"] = "door-2"  # a data folder shared over the network: that machine's locks are not seen here
    (tmp_path / "faceattend.lock").write_text(json.dumps(record), encoding="utf-8")
    assert "names host door-2" in station_lines(tmp_path)[0] and "cannot be told from this machine" in \
        station_lines(tmp_path)[0]
    acquire_lock(tmp_path, what="command").release()  # a command took the crashed station's lock since
    assert station_lines(tmp_path)[0].startswith("station:    none running; the last one ended without closing")


def test_doctor_as_a_health_check_leaves_a_running_stations_camera_screen_and_processor_alone(tmp_path, capsys,
                                                                                              monkeypatch):
    """Run while the station runs: it tried the cameras the station holds ("none of indexes 0-3 opens"), opened a
    second stream of its camera, put a window on the door's screen and warmed the models up beside it."""

    import faceattend_tui.doctor as doctor
    import faceattend_tui.live.preview as preview

    touched = []

    class Camera:
        def __init__(self, *args):
            touched.append(("camera", args))

        isOpened, release = (lambda self: False), (lambda self: None)

    monkeypatch.setattr(doctor.cv2, "VideoCapture", Camera)
    monkeypatch.setattr(doctor, "source_lines", lambda *a: touched.append(("source", a)) or [])
    monkeypatch.setattr(doctor, "warmup_lines", lambda *a: touched.append(("warm-up", a)) or [])
    monkeypatch.setattr(preview, "display_problem", lambda: touched.append(("window", ())))
    monkeypatch.setenv("DISPLAY", ":0")
    with station_holding(tmp_path):
        assert main(["doctor", "--data", str(tmp_path)]) == 0  # its source: camera 0
        out = capsys.readouterr().out
        assert touched == []
        assert "cameras:    not tried: the station runs on this data folder and holds its camera" in out
        assert "display:    display :0 (no window tried: the station runs on this data folder" in out
        assert main(["doctor", "--data", str(tmp_path), "--source", "/dev/video0"]) == 0  # camera 0 by its path
        assert "source:     not opened: the station runs on this data folder" in capsys.readouterr().out
        assert touched == []
    main(["doctor", "--data", str(tmp_path), "--cameras", "1"])  # none runs now: all of it is tried
    assert [what for what, _ in touched] == ["warm-up", "camera", "window"]


def test_doctor_fails_on_a_data_folder_the_station_refuses_and_on_a_failure_in_a_folder_named_D(tmp_path, capfd,
                                                                                                 monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    assert main(["doctor", "--data", str(shared), "--cameras", "0"]) == 1
    assert "data root:  UNFIT: the data folder" in capfd.readouterr().out
    monkeypatch.chdir(tmp_path)
    (tmp_path / "D").mkdir()
    assert main(["doctor", "--data", "D", "--cameras", "0", "--recognizer", "missing.onnx"]) == 1
    assert "NOT FOUND" in capfd.readouterr().out


def test_doctor_fetches_no_model_it_finds_missing(tmp_path, capfd, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("FACEATTEND_MODELS", str(cache))
    assert main(["doctor", "--data", str(tmp_path / "data"), "--cameras", "0"]) == 1
    out = capfd.readouterr().out
    assert "NOT INSTALLED" in out and "doctor fetches nothing" in out
    assert list(cache.iterdir()) == []


def test_the_time_lateness_begins_keeps_its_seconds_when_it_is_not_on_the_minute():
    from datetime import datetime, timezone

    from faceattend_tui.text import deadline_text

    utc = timezone.utc
    assert deadline_text(datetime(2026, 12, 6, 6, 18, 54, 300000, tzinfo=utc), utc) == "06:18:54"
    assert deadline_text(datetime(2026, 12, 6, 8, 10, tzinfo=utc), utc) == "08:10"


def test_doctor_with_liveness_on_names_a_missing_landmarks_model_and_fails(tmp_path, capfd, monkeypatch, models_dir):
    """Only the detector and the recogniser copied: doctor said every model was fine, exited 0, and an
    offline station could not start liveness."""
    import shutil

    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("scrfd_500m_bnkps.onnx", "w600k_mbf.onnx"):
        shutil.copy(models_dir / name, cache / name)
    monkeypatch.setenv("FACEATTEND_MODELS", str(cache))
    monkeypatch.setenv("FACEATTEND_LIVENESS", "blink")
    assert main(["doctor", "--data", str(tmp_path / "data"), "--cameras", "0", "--device", "cpu"]) == 1
    out = capfd.readouterr().out
    assert any(line.startswith("landmarks") and "NOT INSTALLED" in line for line in out.splitlines())
    assert sorted(p.name for p in cache.iterdir()) == ["scrfd_500m_bnkps.onnx", "w600k_mbf.onnx"]


def test_doctor_tells_template_files_of_an_extraction_cut_short_from_older_ones(tmp_path, capfd):
    """A first extraction killed before its manifest was written: doctor called its files 'lost, or the
    original project's', while its own note of the run cut short was beside them."""
    import numpy as np

    tensors = tmp_path / "database_tensor"
    tensors.mkdir()
    np.save(tensors / "ann.npy", np.ones((1, 512), np.float32) / np.sqrt(512))
    main(["doctor", "--data", str(tmp_path), "--cameras", "0"])
    assert "without a manifest (the original project's, or the manifest lost)" in capfd.readouterr().out
    (tensors / ".extraction-running.json").write_text('["ann"]')
    assert main(["doctor", "--data", str(tmp_path), "--cameras", "0"]) == 1
    assert "LEFT OUT: 1 .npy files without a manifest (an extraction cut short): run `faceattend extract`" \
        in capfd.readouterr().out
