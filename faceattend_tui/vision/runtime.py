"""ONNX Runtime sessions, built in one place.

`auto` asks for CUDA only when its provider library really loads, and says in one line why the
CPU is used otherwise. ONNX Runtime's own error output is kept off the terminal.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

from faceattend_tui.config import DEVICES
from faceattend_tui.errors import VisionError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


class ModelError(VisionError):
    """A model file that is missing, unreadable or of the wrong shape for its role."""


class NodeArg(Protocol):
    """A model's input or output as ONNX Runtime describes it."""

    @property
    def name(self) -> str: ...

    @property
    def shape(self) -> list[int | str | None]: ...  # a number, a symbolic name or None (unknown) per dimension


class Session(Protocol):
    """What the models use of an onnxruntime.InferenceSession (or of a stand-in for one)."""

    def get_inputs(self) -> Sequence[NodeArg]: ...

    def get_outputs(self) -> Sequence[NodeArg]: ...

    def get_providers(self) -> list[str]: ...

    def run(self, output_names: list[str] | None, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]: ...


@dataclass
class RuntimeOptions:
    device: str = "auto"
    threads: int = 0  # 0: let ONNX Runtime choose
    notes: list[str] = field(default_factory=list)
    cuda_graphs: bool = True  # with static shapes on CUDA: replay each shape through a captured CUDA graph

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {self.device!r}")


NO_GPU = "no GPU found (no NVIDIA driver)"


def cuda_problem() -> str | None:
    """Why CUDA cannot be used here, or None when its provider library loads."""
    if CUDA not in ort.get_available_providers():
        return "this ONNX Runtime build has no CUDA provider (install onnxruntime-gpu)"
    if not nvidia_driver():
        return NO_GPU
    capi = Path(ort.__file__).parent / "capi"
    lib = capi / ("onnxruntime_providers_cuda.dll" if os.name == "nt" else "libonnxruntime_providers_cuda.so")
    if not lib.exists():
        return f"{lib.name} is missing from the ONNX Runtime install"
    _preload_cuda_wheels()
    try:
        ctypes.CDLL(str(lib))
    except OSError as exc:
        return f"a CUDA library is missing: {_short_dl_error(exc)}"
    return None


def nvidia_driver() -> bool:
    """Whether the NVIDIA driver's CUDA library loads (it comes with the driver, not with CUDA)."""
    try:
        if sys.platform == "win32":
            ctypes.WinDLL("nvcuda.dll")
        else:
            ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def nvidia_gpus() -> list[str]:
    """'name, memory, driver' of each NVIDIA GPU, as nvidia-smi tells it; [] without one."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return []
    query = ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
    try:
        done = subprocess.run([tool, *query], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    rows = [line.split(",") for line in done.stdout.splitlines() if line.count(",") == 2]
    return [f"{name.strip()}, {memory.strip()}, driver {driver.strip()}" for name, memory, driver in rows]


def _preload_cuda_wheels() -> None:
    """Let ONNX Runtime find CUDA libraries installed as nvidia-* wheels."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None or importlib.util.find_spec("nvidia") is None:
        return
    try:
        with quiet_stderr(), contextlib.redirect_stdout(io.StringIO()):
            preload()
    except Exception:  # noqa: BLE001 - preloading is best effort
        pass


def _short_dl_error(exc: OSError) -> str:
    text = str(exc)
    return text.split(": cannot open")[0] if ": cannot open" in text else text


def choose_providers(options: RuntimeOptions) -> list[str]:
    """Providers to ask for; records a note when auto falls back to the CPU."""
    if options.device == "cpu":
        return [CPU]
    problem = cuda_problem()
    if problem is None:
        return [CUDA, CPU]
    if options.device == "cuda":
        raise ModelError(f"CUDA was asked for but cannot be used: {problem}")
    note = "no GPU found, running on the CPU" if problem == NO_GPU else f"running on the CPU: {problem}"
    if note not in options.notes:
        options.notes.append(note)
    return [CPU]


def make_session(path: Path, options: RuntimeOptions) -> Session:
    """An inference session for one model file, with a clear error for a bad file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    if not os.access(path, os.R_OK):
        raise ModelError(f"{path}: permission denied (this user may not read the model file)")
    providers = choose_providers(options)
    try:
        with quiet_stderr():
            session = ort.InferenceSession(str(path), sess_options=session_options(options), providers=providers)
    except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types
        raise ModelError(f"{path}: not a usable ONNX model ({first_line(exc)})") from None
    if CUDA in providers and CUDA not in session.get_providers():
        note = "running on the CPU: the CUDA provider failed to start (driver or GPU not usable)"
        if options.device == "cuda":
            raise ModelError(note.replace("running on the CPU: ", ""))
        if note not in options.notes:
            options.notes.append(note)
    return session


def session_options(options: RuntimeOptions) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    # Idle threads sleep instead of spinning: the station shares its cores with the user interface.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if options.threads > 0:
        so.intra_op_num_threads = options.threads
        so.inter_op_num_threads = 1
    return so


def session_device(session: Session) -> str:
    return "cuda" if CUDA in session.get_providers() else "cpu"




def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class quiet_stderr:
    """Silence file descriptor 2 for a moment (ONNX Runtime writes there from C++)."""

    def __enter__(self) -> None:
        self._saved = None
        try:
            self._saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:
            self._saved = None

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
