"""ONNX Runtime sessions: provider choice, the CPU fallback note, quiet stderr and clear errors."""

from __future__ import annotations

import os

import onnxruntime as ort
import pytest

from faceattend_tui.vision import runtime
from faceattend_tui.vision.runtime import CPU, ModelError, RuntimeOptions, make_session, session_device


@pytest.fixture
def recognizer(models_dir):
    return models_dir / "w600k_mbf.onnx"


def test_cpu_device_uses_only_the_cpu_provider(recognizer):
    options = RuntimeOptions(device="cpu")
    assert runtime.choose_providers(options) == [CPU]
    session = make_session(recognizer, options)
    assert session.get_providers() == [CPU]
    assert session_device(session) == "cpu"
    assert options.notes == []


def test_auto_without_cuda_notes_the_reason_once_and_keeps_stderr_clean(recognizer, capfd):
    problem = runtime.cuda_problem()
    if problem is None:
        pytest.skip("CUDA works on this machine")
    options = RuntimeOptions(device="auto")
    first = make_session(recognizer, options)
    second = make_session(recognizer, options)  # the engine opens two models with the same options
    assert session_device(first) == session_device(second) == "cpu"
    if problem == runtime.NO_GPU:  # no NVIDIA driver: the plain words, once
        assert options.notes == ["no GPU found, running on the CPU"]
    else:
        assert options.notes == [f"running on the CPU: {problem}"]
    captured = capfd.readouterr()
    assert captured.err == ""
    assert "onnxruntime" not in captured.out.lower()


def test_a_cuda_provider_that_fails_to_start_is_a_note_not_red_stderr(recognizer, capfd, monkeypatch):
    """When the provider library seems fine but ONNX Runtime still cannot start CUDA."""
    if runtime.cuda_problem() is None:
        pytest.skip("CUDA works on this machine")
    if runtime.CUDA not in ort.get_available_providers():
        pytest.skip("this ONNX Runtime build has no CUDA provider to fail")
    monkeypatch.setattr(runtime, "cuda_problem", lambda: None)
    options = RuntimeOptions(device="auto")
    session = make_session(recognizer, options)
    assert session_device(session) == "cpu"
    assert len(options.notes) == 1 and "CUDA provider failed to start" in options.notes[0]
    err = capfd.readouterr().err
    assert "[E:onnxruntime" not in err and "[W:onnxruntime" not in err
    assert err == ""

    with pytest.raises(ModelError, match="CUDA provider failed to start"):
        make_session(recognizer, RuntimeOptions(device="cuda"))
    assert capfd.readouterr().err == ""


def test_cuda_asked_for_but_unusable_is_a_clear_model_error(recognizer):
    problem = runtime.cuda_problem()
    if problem is None:
        pytest.skip("CUDA works on this machine")
    with pytest.raises(ModelError) as info:
        make_session(recognizer, RuntimeOptions(device="cuda"))
    message = str(info.value)
    assert "CUDA" in message and problem in message


def test_random_bytes_model_is_a_model_error_naming_the_file(tmp_path, capfd):
    bad = tmp_path / "garbage-model.onnx"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(ModelError) as info:
        make_session(bad, RuntimeOptions(device="cpu"))
    assert str(bad) in str(info.value)
    assert "not a usable ONNX model" in str(info.value)
    assert "\n" not in str(info.value)
    assert capfd.readouterr().err == ""


def test_missing_model_file_is_a_model_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere" / "model.onnx"
    with pytest.raises(ModelError) as info:
        make_session(missing, RuntimeOptions(device="cpu"))
    assert str(missing) in str(info.value)
    assert "not found" in str(info.value)


def test_a_folder_is_not_a_model_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        make_session(tmp_path, RuntimeOptions(device="cpu"))


@pytest.mark.parametrize("device", ["gpu", "CUDA", "", "tpu"])
def test_invalid_device_is_rejected(device):
    with pytest.raises(ValueError, match="device must be one of auto, cpu, cuda"):
        RuntimeOptions(device=device)


def test_threads_setting_is_accepted(recognizer):
    session = make_session(recognizer, RuntimeOptions(device="cpu", threads=1))
    assert session.get_providers() == [CPU]


def test_without_an_nvidia_driver_the_note_says_no_gpu_found(recognizer, monkeypatch):
    if runtime.CUDA not in ort.get_available_providers():
        pytest.skip("this ONNX Runtime build has no CUDA provider")
    monkeypatch.setattr(runtime, "nvidia_driver", lambda: False)
    assert runtime.cuda_problem() == runtime.NO_GPU
    options = RuntimeOptions(device="auto")
    make_session(recognizer, options)
    make_session(recognizer, options)
    assert options.notes == ["no GPU found, running on the CPU"]
    with pytest.raises(runtime.ModelError, match="no GPU found"):
        make_session(recognizer, RuntimeOptions(device="cuda"))
