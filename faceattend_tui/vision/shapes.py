"""Static input shapes: each model sees a few fixed shapes, each prepared once before use.

ONNX Runtime's CUDA provider prepares its convolutions again for every new input shape (0.6-1.9 s
on a large GPU) and keeps only the last shape's preparation, so a batch that follows the number of
faces in view stalls the door for a second at each change. With static shapes on, batches are
padded up to a few sizes, the detector reads a square canvas of a few sizes, every shape gets a
session of its own (so no shape ever evicts another's preparation) and all of them run once at
warm-up. On the CPU a new shape costs nothing worth saving: static shapes stay off there unless
asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from faceattend_tui.config import STATIC_MODES

if TYPE_CHECKING:
    from faceattend_tui.vision.runtime import NodeArg, Session

Shape = tuple[int, ...]

BATCHES = (1, 4, 16, 64)  # embedding and landmark batches are padded up to one of these
LANDMARK_BATCHES = (1, 4, 16)
PHOTO_BATCH = 16  # photos detected together when templates are extracted
PHOTO_CANVASES = (320, 640, 960)  # square detector inputs for photos (with det_size for frames)
WARM_RUNS = 2  # a first run prepares the shape, a second settles what the first left to allocate


def static_wanted(mode: str, device: str) -> bool:
    """auto: on where a new shape is expensive (any provider but the CPU)."""
    if mode not in STATIC_MODES:
        raise ValueError(f"static_shapes must be one of {', '.join(STATIC_MODES)}, not {mode!r}")
    return mode == "on" or (mode == "auto" and device != "cpu")


def bucket(count: int, sizes: tuple[int, ...]) -> int:
    """The smallest size that holds `count` rows (the largest when none does)."""
    return next((size for size in sizes if size >= count), sizes[-1])


def up_to(limit: int, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """The sizes needed to hold any batch of up to `limit` rows."""
    return tuple(size for size in sizes if size <= bucket(max(limit, 1), sizes))


def square_canvas(height: int, width: int, sides: tuple[int, ...] | None) -> tuple[int, int]:
    """The detector input that holds a (height, width) picture: the smallest square of `sides` that
    holds it, or the picture's own size without sides or when none is large enough."""
    if not sides or max(height, width) > sides[-1]:
        return height, width
    side = bucket(max(height, width), sides)
    return side, side


def run_padded(run: Callable[[np.ndarray], np.ndarray], blob: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """`run` over the rows of `blob` in chunks zero-padded to one of `sizes`; one output row per input row."""
    top = sizes[-1]
    parts = []
    for start in range(0, len(blob), top):
        chunk = blob[start : start + top]
        rows = len(chunk)
        size = bucket(rows, sizes)
        if size > rows:
            chunk = np.concatenate([chunk, np.zeros((size - rows, *chunk.shape[1:]), chunk.dtype)])
        parts.append(run(np.ascontiguousarray(chunk))[:rows])
    return np.concatenate(parts)


@dataclass
class ShapeSessions:
    """Looks like one ONNX session. Static: one session per input shape, shapes met after `ready()`
    recorded in `late`. Dynamic: every call goes to the first session."""

    first: Session  # onnxruntime.InferenceSession (or a stand-in): the model's facts, and every dynamic call
    factory: Callable[[Shape], Session]  # a session of the same model for one input shape
    static: bool = False
    label: str = "model"
    by_shape: dict[Shape, Session] = field(default_factory=dict)
    late: list[Shape] = field(default_factory=list)
    ready: bool = False
    on_demand: set[Shape] = field(default_factory=set)  # prepared when first met, even after ready: not late
    prepared: list[tuple[str, Shape, float]] = field(default_factory=list)  # those, with their seconds

    def get_inputs(self) -> Sequence[NodeArg]:
        return self.first.get_inputs()

    def get_outputs(self) -> Sequence[NodeArg]:
        return self.first.get_outputs()

    def get_providers(self) -> list[str]:
        return self.first.get_providers()

    def run(self, output_names: list[str] | None, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        if not self.static:
            return self.first.run(output_names, feeds)
        shape = tuple(next(iter(feeds.values())).shape)
        session = self.by_shape.get(shape)
        if session is not None:
            return session.run(output_names, feeds)
        start = time.perf_counter()
        outputs = self._session_for(shape).run(output_names, feeds)
        if shape in self.on_demand:
            self.prepared.append((self.label, shape, round(time.perf_counter() - start, 2)))
        elif self.ready:
            self.late.append(shape)
        return outputs

    def _session_for(self, shape: Shape) -> Session:
        session = self.by_shape[shape] = self.factory(shape)
        return session

    def warm(self, shapes: Iterable[Shape]) -> list[tuple[str, Shape, float]]:
        """Run each shape not seen yet with zeros; returns (model, shape, seconds) of those it ran."""
        if not self.static:
            return []
        fresh = [s for s in dict.fromkeys(tuple(s) for s in shapes) if s not in self.by_shape]
        given = self.first.get_inputs()[0]
        dtype = dtype_of(given)  # a half-precision model takes half-precision zeros
        done = []
        for shape in fresh:
            start = time.perf_counter()
            session = self._session_for(shape)
            for _ in range(WARM_RUNS):
                session.run(None, {given.name: np.zeros(shape, dtype)})
            done.append((self.label, shape, round(time.perf_counter() - start, 2)))
        return done


@dataclass(frozen=True)
class WarmUp:
    """What a warm-up prepared and how long it took (and each shape: model, shape, seconds)."""

    shapes: int
    seconds: float
    each: tuple[tuple[str, Shape, float], ...] = ()

    def describe(self) -> str:
        if not self.shapes:
            return "static shapes off: nothing to prepare"
        return f"{self.shapes} input shapes prepared in {self.seconds:.1f} s"


def warm_all(plan: list[tuple[ShapeSessions, list[Shape]]]) -> WarmUp:
    """Warm each model's shapes, then mark them ready (a later new shape is recorded as late)."""
    start = time.perf_counter()
    each: list[tuple[str, Shape, float]] = []
    for sessions, shapes in plan:
        each += sessions.warm(shapes)
        sessions.ready = True
    return WarmUp(len(each), time.perf_counter() - start, tuple(each))


def dtype_of(value: object) -> type[np.floating]:
    """The numbers a model's input or output holds: half precision in some exports for GPUs, else single."""
    return np.float16 if getattr(value, "type", "") == "tensor(float16)" else np.float32
