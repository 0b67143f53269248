"""The .pth to ONNX converter, on a randomly initialised r18."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import onnxruntime as ort  # noqa: E402

from faceattend_tui.vision import iresnet  # noqa: E402
from faceattend_tui.vision.convert import NETWORKS, convert, cosines  # noqa: E402
from faceattend_tui.vision.runtime import ModelError  # noqa: E402


def random_r18() -> torch.nn.Module:
    """r18 in eval mode with non-trivial batch-norm statistics, so the check means something."""
    torch.manual_seed(0)
    model = iresnet.build("r18")
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def r18(tmp_path_factory):
    """The model and its state dict saved as a plain .pth."""
    model = random_r18()
    path = tmp_path_factory.mktemp("weights") / "r18.pth"
    torch.save(model.state_dict(), path)
    return model, path


def run_onnx(path, faces: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    assert [o.name for o in session.get_outputs()] == ["embedding"]
    return session.run(None, {"input": faces})[0]


@pytest.mark.slow
def test_converts_plain_state_dict(r18):
    model, weight = r18
    lines = []
    report = convert(weight, "r18", log=lines.append)
    out = weight.with_suffix(".onnx")
    assert report["out"] == out and out.is_file()
    assert not list(out.parent.glob("*.part"))
    assert report["network"] == "r18"
    assert report["parameters"] == sum(p.numel() for p in model.parameters())
    assert report["min_cosine"] >= 0.999 and report["max_abs_diff"] < 1e-3
    assert [line.split()[0] for line in lines] == ["building", "loading", "exporting", "verifying", "wrote"]

    faces = np.random.default_rng(1).uniform(-1, 1, (3, 3, 112, 112)).astype(np.float32)
    got = run_onnx(out, faces)
    with torch.no_grad():
        expected = model(torch.from_numpy(faces)).numpy()
    assert got.shape == (3, 512)
    assert cosines(got, expected).min() >= 0.999


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["module.", "module._orig_mod.", "_orig_mod.", "backbone."])
def test_converts_wrapped_module_prefixed_checkpoint(r18, tmp_path, prefix):
    """DataParallel, torch.compile and a model holding the backbone name its tensors with a prefix."""
    model, _ = r18
    weight = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"{prefix}{k}": v for k, v in model.state_dict().items()}, "epoch": 3}, weight)
    out = tmp_path / "sub" / "backbone.onnx"
    report = convert(weight, "r18", out=out, log=lambda _: None)
    assert report["out"] == out and out.is_file()
    assert report["min_cosine"] >= 0.999
    assert run_onnx(out, np.zeros((2, 3, 112, 112), np.float32)).shape == (2, 512)


def test_wrong_network_names_file_and_suggests_the_right_one(r18, tmp_path):
    _, weight = r18
    with pytest.raises(ModelError) as error:
        convert(weight, "r34", out=tmp_path / "r34.onnx", log=lambda _: None)
    message = str(error.value)
    assert str(weight) in message and "does not fit r34" in message
    assert "missing" in message and "--network r18" in message
    assert "\n" not in message
    assert not list(tmp_path.glob("*.part"))


def test_text_file_is_not_a_checkpoint(tmp_path):
    weight = tmp_path / "notes.pth"
    weight.write_text("hello, not a checkpoint\n")
    with pytest.raises(ModelError, match="not a file written by torch.save") as error:
        convert(weight, "r18", log=lambda _: None)
    assert str(weight) in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("first", [b"\x89PNG\r\n\x1a\n", b"\x08\x08\x12\x07pytorch"], ids=["photo", "onnx"])
def test_a_photo_or_an_onnx_model_given_as_the_weights_is_not_a_checkpoint(tmp_path, first):
    """It was said to hold "pickled objects besides tensors": advice for another mistake."""
    weight = tmp_path / "model.pth"
    weight.write_bytes(first + bytes(range(256)) * 4)
    with pytest.raises(ModelError, match="not a file written by torch.save"):
        convert(weight, "r18", log=lambda _: None)


def test_a_checkpoint_cut_short_says_so(tmp_path):
    weight = tmp_path / "backbone.pth"
    torch.save({"w": torch.zeros(1000)}, weight)
    weight.write_bytes(weight.read_bytes()[:1500])
    with pytest.raises(ModelError, match="zip archive cannot be read: cut short or damaged") as error:
        convert(weight, "r18", log=lambda _: None)
    assert len(str(error.value)) < 200 + len(str(weight))


def test_checkpoint_without_tensors_is_refused(tmp_path):
    weight = tmp_path / "empty.pth"
    torch.save({"epoch": 3}, weight)
    with pytest.raises(ModelError, match="not a state dict"):
        convert(weight, "r18", log=lambda _: None)


def test_other_architecture_says_so(tmp_path):
    weight = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(4, 2).state_dict(), weight)
    with pytest.raises(ModelError, match="does not look like an IResNet"):
        convert(weight, "r18", log=lambda _: None)


def test_unknown_network(tmp_path):
    weight = tmp_path / "w.pth"
    weight.write_bytes(b"")
    with pytest.raises(ModelError, match="unknown network 'r200'"):
        convert(weight, "r200", log=lambda _: None)


def test_missing_file(tmp_path):
    weight = tmp_path / "absent.pth"
    with pytest.raises(ModelError, match="not found") as error:
        convert(weight, "r18", log=lambda _: None)
    assert str(weight) in str(error.value)


def test_without_torch_points_to_the_extra(tmp_path, monkeypatch):
    weight = tmp_path / "w.pth"
    weight.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModelError, match=r"from faceattend's source folder, .* -m pip install '\.\[convert\]'"):
        convert(weight, "r18", log=lambda _: None)


def test_network_names_match_the_backbones():
    assert tuple(iresnet.LAYERS) == NETWORKS


@pytest.mark.slow
def test_an_arcface_torch_training_checkpoint_converts_into_a_folder(r18, tmp_path):
    model, _ = r18
    weight = tmp_path / "checkpoint_gpu_0.pt"  # as arcface_torch saves it while training
    torch.save({"epoch": 20, "global_step": 1000, "state_dict_backbone": model.state_dict(),
                "state_dict_softmax_fc": {"weight": torch.zeros(3, 512)}}, weight)
    (tmp_path / "models").mkdir()
    report = convert(weight, "r18", out=tmp_path / "models", log=lambda _: None)
    assert report["out"] == tmp_path / "models" / "checkpoint_gpu_0.onnx" and report["min_cosine"] >= 0.999


@pytest.mark.slow
def test_weights_that_give_no_numbers_are_refused_and_nothing_is_written(r18, tmp_path):
    model, _ = r18
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["fc.weight"][0, 0] = float("nan")  # a diverged training run
    weight = tmp_path / "diverged.pth"
    torch.save(state, weight)
    with pytest.raises(ModelError, match="is not numbers"):
        convert(weight, "r18", log=lambda _: None)
    assert not weight.with_suffix(".onnx").exists()


@pytest.mark.parametrize("zeroed", ["fc.weight", "features.weight"])
def test_weights_that_give_one_output_for_every_face_are_refused(r18, tmp_path, zeroed):
    """A zeroed last layer was written as a model (min cosine 1.0), or refused as a disagreement (cosine 0)."""
    model, _ = r18
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state[zeroed].zero_()
    if zeroed == "features.weight":
        state["features.bias"].zero_()
    weight = tmp_path / "collapsed.pth"
    torch.save(state, weight)
    with pytest.raises(ModelError, match="gives the same output for every picture"):
        convert(weight, "r18", log=lambda _: None)
    assert not weight.with_suffix(".onnx").exists()


def test_an_existing_onnx_file_is_replaced_only_when_asked(r18, tmp_path):
    _, weight = r18
    out = tmp_path / "w600k_r18.onnx"
    out.write_bytes(b"the model a station runs on")
    with pytest.raises(ModelError, match="already exists; give --overwrite"):
        convert(weight, "r18", out=out, log=lambda _: None)
    assert out.read_bytes() == b"the model a station runs on"


def test_a_checkpoint_of_other_things_names_what_it_holds(tmp_path):
    weight = tmp_path / "trainer.pth"
    torch.save({"epoch": 3, "optimizer": {"lr": torch.tensor(0.1)}}, weight)
    with pytest.raises(ModelError, match=r"found dict with keys epoch, optimizer\); save the backbone's state_dict"):
        convert(weight, "r18", log=lambda _: None)


def test_a_file_of_the_users_beside_the_output_is_left_alone_and_only_onnx_names_are_written(r18, tmp_path):
    _, weight = r18
    mine = tmp_path / "mine.onnx.part"
    mine.write_text("notes")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "attendance.json").write_text("{}")
    with pytest.raises(ModelError, match="ends in .onnx"):  # --overwrite aimed at a data folder's log
        convert(weight, "r18", out=tmp_path / "d" / "attendance.json", overwrite=True, log=lambda _: None)
    with pytest.raises(ModelError, match="does not fit r34"):
        convert(weight, "r34", out=tmp_path / "mine.onnx", log=lambda _: None)
    assert mine.read_text() == "notes" and (tmp_path / "d" / "attendance.json").read_text() == "{}"


@pytest.mark.slow
def test_an_out_folder_named_with_a_slash_is_made_and_the_model_written_in_it(r18, tmp_path):
    _, weight = r18
    report = convert(weight, "r18", out=f"{tmp_path / 'newmodels'}/", log=lambda _: None)
    assert report["out"] == tmp_path / "newmodels" / "r18.onnx" and report["out"].is_file()


@pytest.mark.slow
def test_a_link_planted_where_the_model_is_first_written_is_not_followed(r18, tmp_path):
    # Another user who can write to the output folder guesses the half-written file's name (it held the
    # process id) and links it to a file of the user's: the export must not write through it.
    _, weight = r18
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / f".r18.onnx.{os.getpid()}.part").symlink_to(victim)
    report = convert(weight, "r18", out=shared / "r18.onnx", log=lambda _: None)
    assert victim.read_text() == "the user's own file"
    assert report["out"].stat().st_mode & 0o044 == 0o044 & ~current_umask()  # readable like any model
    assert sorted(p.name for p in shared.iterdir()) == [f".r18.onnx.{os.getpid()}.part", "r18.onnx"]


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.slow
def test_a_folder_swapped_for_a_link_while_converting_is_not_written_through(r18, tmp_path, monkeypatch):
    from faceattend_tui.vision import convert as module

    _, weight = r18
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    models = tmp_path / "pub" / "models"
    models.mkdir(parents=True)
    exported = module.export

    def swap_then_export(*args):  # someone who may write in pub/ moves models/ aside and links it elsewhere
        models.rename(tmp_path / "pub" / "old")
        models.symlink_to(elsewhere)
        exported(*args)

    monkeypatch.setattr(module, "export", swap_then_export)
    with pytest.raises(ModelError, match="not written"):
        convert(weight, "r18", out=models / "m.onnx", log=lambda _: None)
    assert list(elsewhere.iterdir()) == [] and list((tmp_path / "pub" / "old").iterdir()) == []


@pytest.mark.slow
def test_a_model_that_appears_at_the_output_while_converting_is_kept_without_overwrite(r18, tmp_path, monkeypatch):
    from faceattend_tui.vision import convert as module

    _, weight = r18
    out = tmp_path / "m.onnx"
    exported = module.export

    def station_model_arrives(*args):
        out.write_bytes(b"the model a station runs on")
        exported(*args)

    monkeypatch.setattr(module, "export", station_model_arrives)
    with pytest.raises(ModelError, match="appeared while converting; give --overwrite"):
        convert(weight, "r18", out=out, log=lambda _: None)
    assert out.read_bytes() == b"the model a station runs on"
