"""Convert an arcface_torch IResNet `.pth` checkpoint to ONNX and check it against PyTorch.

PyTorch is only needed here (the `convert` extra) and is imported when a conversion starts.
The export uses the TorchScript exporter (`dynamo=False`), which needs no extra packages.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from faceattend_tui.files import foreign_link, write_named
from faceattend_tui.vision.runtime import ModelError, RuntimeOptions, make_session

NETWORKS = ("r18", "r34", "r50", "r100")  # must match iresnet.LAYERS
OPSET = 17
SIDE = 112
EXPORT_BATCH = 2
CHECK_BATCH = 4  # differs from EXPORT_BATCH, so the check also covers the dynamic batch axis
MIN_COSINE = 0.999
# where training scripts keep the backbone's weights inside a checkpoint (arcface_torch: state_dict_backbone)
WRAPPERS = ("state_dict_backbone", "state_dict", "model", "backbone", "net")
INSTALL_HINT = (f"from faceattend's source folder, {sys.executable} -m pip install '.[convert]' (installed from a "
                f"wheel: {sys.executable} -m pip install 'torch>=2.4')")


def convert(weight: Path, network: str = "r100", out: Path | str | None = None,
            log: Callable[[str], None] = print, overwrite: bool = False) -> dict[str, Any]:
    """Build `network`, load `weight` into it, export ONNX to `out` (a folder: the weight's name in it)
    and verify it; returns a report. An existing file is replaced only with `overwrite`."""
    weight = Path(weight)
    folder = out is not None and (Path(out).is_dir() or str(out).endswith(("/", os.sep)))
    out = Path(out) if out is not None else weight.with_suffix(".onnx")
    if folder:  # an existing folder, or one named with a slash: the model goes in it under the weight's name
        out = out / weight.with_suffix(".onnx").name
    check_inputs(weight, network, out, overwrite)
    target = output_place(out)
    torch = import_torch(weight)
    from faceattend_tui.vision import iresnet

    start = time.perf_counter()
    log(f"building {network}")
    model = iresnet.build(network).eval()
    log(f"loading {weight}")
    state = read_state_dict(weight, torch)
    fit_state_dict(model, state, weight, network)
    log(f"exporting {out} (opset {OPSET})")
    with tempfile.TemporaryDirectory(prefix="faceattend-convert-") as scratch:  # ours alone, made private
        part = Path(scratch) / out.name
        export(model, part, weight, torch)
        log(f"verifying with ONNX Runtime (CPU) on a batch of {CHECK_BATCH}")
        try:
            max_diff, min_cos = verify(model, part, torch)
        except ModelError as exc:
            raise ModelError(f"{weight}: {exc}") from None
        if not min_cos >= MIN_COSINE:  # NaN too: weights that give no numbers (a diverged training run)
            raise ModelError(f"{weight}: ONNX output disagrees with PyTorch or is not numbers (cosine {min_cos:.5f}, "
                             f"at least {MIN_COSINE} needed)")
        place(part.read_bytes(), target, out, overwrite)
    report = {
        "out": out,
        "network": network,
        "parameters": sum(p.numel() for p in model.parameters()),
        "max_abs_diff": max_diff,
        "min_cosine": min_cos,
        "seconds": round(time.perf_counter() - start, 2),
    }
    log(f"wrote {out}: max abs diff {max_diff:.2e}, min cosine {min_cos:.6f}, {report['seconds']} s")
    return report


def check_inputs(weight: Path, network: str, out: Path, overwrite: bool = False) -> None:
    if network not in NETWORKS:
        raise ModelError(f"{weight}: unknown network {network!r} (choose one of {', '.join(NETWORKS)})")
    if not weight.is_file():
        raise ModelError(f"{weight}: weight file not found")
    if out.resolve() == weight.resolve():
        raise ModelError(f"{weight}: the ONNX output would overwrite the weight file; give another out path")
    if out.suffix.lower() != ".onnx":  # --overwrite aimed at a log or a photo would replace it
        raise ModelError(f"{out}: an ONNX model's file name ends in .onnx")
    if out.exists() and not overwrite:  # maybe the model a station runs on
        raise ModelError(f"{out} already exists; give --overwrite to replace it")
    foreign = foreign_link(Path(os.path.abspath(out)))
    if foreign is not None:
        raise ModelError(f"{out} goes through {foreign}, a link of another user: not followed")


def output_place(out: Path) -> Path:
    """The folder the model goes in, made if missing and pinned now (its links resolved): the model is
    written through these very folders, whatever is put in their place while it converts."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        target = out.parent.resolve(strict=True) / out.name
    except OSError as exc:
        raise ModelError(f"{out.parent}: cannot make or use this folder ({exc.strerror or exc})") from None
    if not os.access(target.parent, os.W_OK):
        raise ModelError(f"{out.parent}: this user cannot write in this folder")
    return target


def place(data: bytes, target: Path, out: Path, overwrite: bool) -> None:
    """Write the model as `target` within its pinned folders, never through a link, readable as a file
    written plainly would be; a file that appeared there meanwhile is replaced only with `overwrite`."""
    umask = os.umask(0)
    os.umask(umask)
    try:
        write_named(target, data, replace=overwrite, mode=0o666 & ~umask)
    except FileExistsError:
        raise ModelError(f"{out} appeared while converting; give --overwrite to replace it") from None
    except OSError as exc:
        raise ModelError(f"{out}: not written ({exc.strerror or exc}; a folder on the way changed while "
                         "converting?)") from None


def import_torch(weight: Path) -> Any:
    try:
        import torch
    except ImportError:
        raise ModelError(f"{weight}: converting needs PyTorch; install the convert extra: {INSTALL_HINT}") from None
    return torch


def read_state_dict(weight: Path, torch: Any) -> dict[str, Any]:
    """The checkpoint's tensors by name, unwrapped and without the prefixes of wrappers (WRAPPER_PREFIXES)."""
    try:
        data = torch.load(weight, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch.load raises many unrelated types
        raise ModelError(f"{weight}: not a torch checkpoint ({load_problem(exc)})") from None
    if isinstance(data, Mapping):
        for key in WRAPPERS:
            if isinstance(data.get(key), Mapping):
                data = data[key]
                break
    if not isinstance(data, Mapping) or not data or not all(torch.is_tensor(v) for v in data.values()):
        found = type(data).__name__
        if isinstance(data, Mapping) and data:
            found += " with keys " + ", ".join(list(map(str, data))[:8]) + (" ..." if len(data) > 8 else "")
        raise ModelError(f"{weight}: not a state dict of tensors (found {found}); save the backbone's "
                         "state_dict() alone")
    return {strip_prefix(str(k)): v for k, v in data.items()}


def load_problem(exc: BaseException) -> str:
    text = first_line(exc)
    if "Unsupported operand" in str(exc):  # the first byte is no pickle's: a photo, an ONNX file, ...
        return "not a file written by torch.save"
    if "Weights only load failed" in text:
        return "holds pickled objects besides tensors; save model.state_dict() instead"
    if "failed reading zip archive" in text:
        return "its zip archive cannot be read: cut short or damaged in a copy?"
    if isinstance(exc, (KeyError, EOFError, pickle.UnpicklingError)):
        return "not a file written by torch.save"  # their own messages are a bare byte or empty
    return text


WRAPPER_PREFIXES = ("module.", "_orig_mod.", "backbone.")  # DataParallel, torch.compile, a model holding it


def strip_prefix(key: str) -> str:
    """A tensor's name without the prefixes the wrappers of a backbone give it, in any order."""
    while key.startswith(WRAPPER_PREFIXES):
        key = key.split(".", 1)[1]
    return key


def fit_state_dict(model: Any, state: dict[str, Any], weight: Path, network: str) -> None:
    """Load `state` strictly, first explaining in one line any key or shape mismatch."""
    expected = model.state_dict()
    # Checkpoints from older PyTorch lack num_batches_tracked; load_state_dict fills it in.
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    reshaped = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or reshaped:
        counts = f"{len(missing)} missing, {len(unexpected)} unexpected, {len(reshaped)} wrong-shape keys"
        example = (missing or unexpected or reshaped)[0]
        raise ModelError(f"{weight}: does not fit {network} ({counts}, e.g. {example}){guess_hint(state, network)}")
    model.load_state_dict(state, strict=True)


def guess_hint(state: dict[str, Any], network: str) -> str:
    """A suggestion of the network whose blocks per stage match the checkpoint's keys."""
    from faceattend_tui.vision.iresnet import LAYERS

    blocks = block_counts(state)
    for name, layers in LAYERS.items():
        if layers == blocks and name != network:
            return f"; it looks like {name}: try --network {name}"
    if not any(blocks):
        return "; it does not look like an IResNet checkpoint"
    return ""


def block_counts(state: dict[str, Any]) -> tuple[int, ...]:
    """Blocks per stage (layer1..layer4) as seen in the state dict's key names."""
    found: dict[int, set[int]] = {i: set() for i in range(1, 5)}
    for key in state:
        match = re.match(r"layer([1-4])\.(\d+)\.", key)
        if match:
            found[int(match.group(1))].add(int(match.group(2)))
    return tuple(len(found[i]) for i in range(1, 5))


def export(model: Any, path: Path, weight: Path, torch: Any) -> None:
    dummy = torch.zeros(EXPORT_BATCH, 3, SIDE, SIDE)
    axes = {"input": {0: "batch"}, "embedding": {0: "batch"}}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (dummy,),
                str(path),
                input_names=["input"],
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    except Exception as exc:  # noqa: BLE001 - the exporter raises many unrelated types
        raise ModelError(f"{weight}: ONNX export failed ({first_line(exc)})") from None


def verify(model: Any, path: Path, torch: Any) -> tuple[float, float]:
    """Max abs difference and minimum cosine between PyTorch and ONNX Runtime on random faces."""
    generator = torch.Generator().manual_seed(0)
    batch = torch.rand(CHECK_BATCH, 3, SIDE, SIDE, generator=generator) * 2 - 1
    with torch.no_grad():
        expected = model(batch).numpy()
    if np.all(np.isfinite(expected)) and np.ptp(expected, axis=0).max() <= 1e-6 * max(np.abs(expected).max(), 1e-30):
        raise ModelError("the network gives the same output for every picture ("
                         f"{'all zeros' if not expected.any() else 'one vector'}): its weights are zeroed or were "
                         "never trained, and every face would look like every other")
    session = make_session(path, RuntimeOptions(device="cpu"))
    got = session.run(["embedding"], {"input": batch.numpy()})[0]
    return float(np.abs(got - expected).max()), float(cosines(got, expected).min())


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(axis=1) / np.maximum(norms, 1e-12)


def first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__
