"""LFW-style verification: pairs files, threshold statistics, and `faceattend eval lfw` end to end."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceattend_tui.cli import main
from faceattend_tui.evaluation import Pair, best_threshold, kfold_accuracy, parse_pairs, rates_at, tar_at_far
from faceattend_tui.vision.imageio import read_image

CPU = ["--device", "cpu", "--threads", "2"]


# --- pairs files --------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "pairs.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_pairs_file_without_folds(tmp_path):
    path = write(tmp_path, "3\nAbdullah_Gul\t13\t14\nAJ_Lamas\t1\tZach_Safrin\t1\nAaron_Peirsol\t1\t2\n")
    pairs, folds = parse_pairs(path)
    assert folds == 1
    assert pairs == [
        Pair("Abdullah_Gul/Abdullah_Gul_0013", "Abdullah_Gul/Abdullah_Gul_0014", True),
        Pair("AJ_Lamas/AJ_Lamas_0001", "Zach_Safrin/Zach_Safrin_0001", False),
        Pair("Aaron_Peirsol/Aaron_Peirsol_0001", "Aaron_Peirsol/Aaron_Peirsol_0002", True),
    ]


def test_pairs_file_with_folds_and_blank_lines(tmp_path):
    path = write(tmp_path, "10 300\n\nA 1 2\nB 1 C 2\n")
    pairs, folds = parse_pairs(path)
    assert folds == 10
    assert [p.same for p in pairs] == [True, False]


@pytest.mark.parametrize("text, line", [
    ("2\nA 1 2\nB 1\n", 3),
    ("2\nA 1 2\n\nB 1 C 2 D\n", 4),
    ("2\nA one 2\n", 2),
    ("A 1 2\nB 1 2\n", 1),  # no header: the first pair would silently be lost
])
def test_bad_line_names_file_and_line(tmp_path, text, line):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        parse_pairs(path)
    assert str(info.value).startswith(f"{path}:{line}:")


@pytest.mark.parametrize("text", ["", "\n\n", "0\n"])
def test_empty_pairs_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=str(path)):
        parse_pairs(path)


def test_a_pairs_file_that_is_a_device_is_refused_not_read_forever(tmp_path):
    """/dev/zero as the pairs file read until memory ran out."""
    with pytest.raises(ValueError, match="/dev/zero: not a regular file"):
        parse_pairs(Path("/dev/zero"))


# --- statistics on known scores -----------------------------------------------------------------


def test_best_threshold_separates_separable_scores():
    sims = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.3])
    same = np.array([True, True, True, False, False, False])
    threshold, accuracy = best_threshold(sims, same)
    assert accuracy == 1.0
    assert threshold == pytest.approx(0.5)


def test_best_threshold_with_overlap():
    sims = np.array([0.9, 0.4, 0.5, 0.1])
    same = np.array([True, True, False, False])
    threshold, accuracy = best_threshold(sims, same)
    assert accuracy == 0.75
    assert np.mean((sims >= threshold) == same) == 0.75


def test_kfold_accuracy_uses_thresholds_from_the_other_folds():
    # Fold 1 alone puts the threshold at 0.5, which wrongly accepts the 0.52 impostor of fold 2;
    # fold 2 alone puts it at 0.535, which is right for all of fold 1.
    sims = np.array([0.9, 0.8, 0.1, 0.2, 0.6, 0.55, 0.52, 0.45])
    same = np.array([True, True, False, False, True, True, False, False])
    mean, std = kfold_accuracy(sims, same, folds=2, shuffle=False)
    assert mean == pytest.approx(0.875)
    assert std == pytest.approx(0.125)


def test_kfold_accuracy_of_separable_scores_and_fixed_shuffle():
    rng = np.random.default_rng(5)
    sims = np.concatenate([rng.uniform(0.5, 1.0, 50), rng.uniform(-0.2, 0.3, 50)])
    same = np.arange(100) < 50
    assert kfold_accuracy(sims, same, 10, shuffle=True) == (1.0, 0.0)
    noisy = np.where(rng.random(100) < 0.1, -sims, sims)
    assert kfold_accuracy(noisy, same, 10, shuffle=True) == kfold_accuracy(noisy, same, 10, shuffle=True)


def test_tar_at_far():
    impostors = np.arange(10) / 10  # 0.0 ... 0.9
    genuine = np.array([0.95, 0.85, 0.5, 0.05])
    sims = np.concatenate([genuine, impostors])
    same = np.arange(len(sims)) < len(genuine)

    tar, threshold = tar_at_far(sims, same, 0.1)  # one impostor in ten may pass
    assert tar == 0.5 and threshold == pytest.approx(0.8, abs=1e-3)
    assert rates_at(sims, same, threshold) == (0.5, 0.1)

    tar, threshold = tar_at_far(sims, same, 1e-3)  # none may pass
    assert tar == 0.25 and threshold == pytest.approx(0.9, abs=1e-3)
    assert rates_at(sims, same, threshold)[1] == 0.0

    tar, threshold = tar_at_far(sims, same, 1.0)
    assert tar == 1.0


# --- end to end ---------------------------------------------------------------------------------


def crop_around(image: np.ndarray, box: np.ndarray, margin: float = 1.3) -> np.ndarray:
    """A square crop centred on a face, like LFW's, scaled to 250 x 250."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = margin * max(box[2] - box[0], box[3] - box[1])
    x1, y1 = int(max(0, cx - half)), int(max(0, cy - half))
    crop = image[y1 : int(cy + half), x1 : int(cx + half)]
    return cv2.resize(crop, (250, 250), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def tiny_lfw(engine, sample_photo, tmp_path_factory) -> Path:
    """<Name>/<Name>_NNNN.jpg from the sample photos, and a pairs file over them."""
    root = tmp_path_factory.mktemp("lfw")
    players = read_image(sample_photo("players.jpg"))
    group = read_image(sample_photo("gdp.jpg"))
    faces = engine.detect(players)
    yao = next(f for f in faces if 700 < f.box[0] < 760 and 120 < f.box[1] < 180)
    others = [f for f in faces if f is not yao]

    def save(name: str, number: int, image: np.ndarray) -> None:
        folder = root / "images" / name
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{name}_{number:04d}.jpg"), image)

    save("Yao_Ming", 1, crop_around(players, yao.box))
    (root / "images" / "Yao_Ming" / "Yao_Ming_0002.jpg").write_bytes(sample_photo("yaoming.jpg").read_bytes())
    save("Player_One", 1, crop_around(players, others[0].box))
    save("Player_Two", 1, crop_around(players, others[1].box))
    save("Gdp_Person", 1, crop_around(group, engine.detect(group)[0].box))
    (root / "pairs.txt").write_text(
        "4\n"
        "Yao_Ming\t1\t2\n"
        "Yao_Ming\t2\tPlayer_One\t1\n"
        "Player_One\t1\tGdp_Person\t1\n"
        "Yao_Ming\t1\tPlayer_Two\t1\n"
    )
    return root


def run_eval(root: Path, pairs: Path, capfd, *extra: str) -> tuple[int, str, str]:
    capfd.readouterr()
    code = main(["eval", "lfw", "--data", str(root), *CPU, "--pairs", str(pairs),
                 "--images", str(root / "images"), *extra])
    out, err = capfd.readouterr()
    return code, out, err


def test_eval_lfw_on_sample_photos(tiny_lfw, capfd):
    code, out, err = run_eval(tiny_lfw, tiny_lfw / "pairs.txt", capfd, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["pairs"] == 4 and result["images"] == 5
    assert result["no_face"] == [] and result["unreadable"] == []
    assert result["accuracy_at_best"] == 1.0
    assert result["accuracy_at_threshold"] == 1.0
    assert result["tar_at_threshold"] == 1.0 and result["far_at_threshold"] == 0.0
    assert all(math.isfinite(v) for v in result.values() if isinstance(v, float))
    assert 0.0 <= result["kfold_accuracy"] <= 1.0 and result["folds"] <= result["pairs"]
    assert "Traceback" not in err


def test_eval_lfw_text_report_and_missing_images(tiny_lfw, tmp_path, capfd):
    root = tmp_path / "copy"
    shutil.copytree(tiny_lfw, root)
    (root / "images" / "Player_Two" / "Player_Two_0001.jpg").unlink()
    grey = np.full((250, 250, 3), 128, np.uint8)
    cv2.imwrite(str(root / "images" / "Gdp_Person" / "Gdp_Person_0001.jpg"), grey)
    code, out, err = run_eval(root, root / "pairs.txt", capfd)
    assert code == 1  # measured, but not on every pair: as for extract, the exit code says so
    # the pair whose photo is gone is not measured: it is no failure of recognition
    assert "pairs 4 (3 measured: the others name a photo that could not be read), images 5, no face found in 1, " \
           "unreadable 1" in out
    assert "no face: Gdp_Person/Gdp_Person_0001" in err
    assert "fold accuracy" in out and "unreadable: " in err and "Player_Two_0001.jpg" in err
    code, out, err = run_eval(root, root / "pairs.txt", capfd, "--images", str(root))  # one folder too high
    assert code == 2 and out == "" and "no pair could be measured: their photos could not be read" in err


def test_eval_lfw_with_a_bad_pairs_file_is_one_error_line(tiny_lfw, tmp_path, capfd):
    pairs = write(tmp_path, "2\nYao_Ming\t1\t2\nYao_Ming\tx\n")
    code, out, err = run_eval(tiny_lfw, pairs, capfd)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"{pairs}:3:" in lines[0]


@pytest.mark.shared_data
@pytest.mark.slow
def test_lfw_view1_devtest_subset(shared_data, tmp_path, capfd):
    lfw = shared_data / "lfw-view1-devtest"
    rows = [line for line in (lfw / "pairsDevTest.txt").read_text().splitlines()[1:] if line.strip()]
    same = [r for r in rows if len(r.split()) == 3][:100]
    different = [r for r in rows if len(r.split()) == 4][:100]
    pairs = write(tmp_path, "200\n" + "\n".join(same + different) + "\n")
    capfd.readouterr()
    code = main(["eval", "lfw", "--data", str(tmp_path), *CPU, "--pairs", str(pairs),
                 "--images", str(lfw / "images"), "--json"])
    out, err = capfd.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["pairs"] == 200
    assert result["no_face"] == [] and result["unreadable"] == []
    assert result["accuracy_at_best"] >= 0.97
    assert result["kfold_accuracy"] >= 0.97


def test_a_pairs_file_from_notepad_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_bytes("1\r\nYao_Ming\t1\t2\r\n".encode("utf-8-sig"))
    assert parse_pairs(path) == ([Pair("Yao_Ming/Yao_Ming_0001", "Yao_Ming/Yao_Ming_0002", True)], 1)
    path.write_bytes("1\nYao_Ming\t1\t2\n".encode("utf-16"))
    with pytest.raises(ValueError, match=r"pairs.txt: not UTF-8 text .*save it as UTF-8"):
        parse_pairs(path)


def test_a_pair_of_two_people_that_names_one_person_twice_is_refused_not_scored_as_impostors(tmp_path):
    with pytest.raises(ValueError, match=r"pairs.txt:2: a pair of 4 fields is of two people, but this one names "
                                         r"Abdullah_Gul twice"):
        parse_pairs(write(tmp_path, "1\nAbdullah_Gul\t13\tAbdullah_Gul\t14\n"))


def test_the_best_threshold_of_several_as_good_is_the_middle_one_not_the_one_an_impostor_sits_under():
    sims = np.array([0.9, 0.8, 0.3, 0.25, 0.1])  # any threshold from 0.3 to 0.8 separates them
    same = np.array([True, True, False, False, False])
    threshold, accuracy = best_threshold(sims, same)
    assert accuracy == 1.0 and threshold == pytest.approx(0.55)


def test_a_file_of_one_persons_pairs_only_gives_json_a_script_can_read(tiny_lfw, tmp_path, capfd):
    pairs = write(tmp_path, "1\nYao_Ming\t1\t2\n")
    code, out, err = run_eval(tiny_lfw, pairs, capfd, "--json")
    result = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
    assert code == 0 and result["far_at_threshold"] is None and result["different_pairs"] == 0
    assert "RuntimeWarning" not in err
    code, out, err = run_eval(tiny_lfw, pairs, capfd)
    assert "note: the file has no different-person pairs" in out and "FAR -" in out
