"""A model's sessions: one, or one per input shape with static shapes; on CUDA each replayed as a graph.

A captured CUDA graph launches a whole network at once instead of kernel by kernel, which is most of
the time small models like these take on a large GPU. A graph replays fixed memory, so it needs a
fixed input shape: exactly what static shapes give. Each graph is checked against the CPU's outputs
when it is made; a model that cannot be captured (a node left on the CPU) runs plainly, with a note.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from faceattend_tui.vision.runtime import (
    CUDA,
    ModelError,
    NodeArg,
    RuntimeOptions,
    Session,
    first_line,
    make_session,
    quiet_stderr,
    session_device,
    session_options,
)
from faceattend_tui.vision.shapes import Shape, ShapeSessions, dtype_of, static_wanted

if TYPE_CHECKING:
    import onnx


def open_model(path: Path, options: RuntimeOptions, static_shapes: str = "off") -> ShapeSessions:
    """A model's session, with one more per input shape when static shapes are on for its device."""
    first = make_session(path, options)
    device = session_device(first)
    static = static_wanted(static_shapes, device)
    factory: functools.partial[Session]
    if static and device == "cuda" and options.cuda_graphs:
        factory = functools.partial(graph_or_plain, Path(path), options)
    else:
        factory = functools.partial(_plain, Path(path), options)
    return ShapeSessions(first, factory, static, Path(path).stem)


def _plain(path: Path, options: RuntimeOptions, shape: Shape) -> Session:
    return make_session(path, options)


def graph_or_plain(path: Path, options: RuntimeOptions, shape: Shape) -> Session:
    """A CUDA graph for one input shape, or a plain session (and a note) where the model does not allow it."""
    try:
        return checked_graph(path, options, shape)
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises several unrelated types
        note = f"{path.name}: no CUDA graph for {shape} ({first_line(exc)}); running it plainly"
        if note not in options.notes:
            options.notes.append(note)
        return make_session(path, options)


def checked_graph(path: Path, options: RuntimeOptions, shape: Shape) -> GraphSession:
    """A graph whose replay of an empty input gives what the CPU gives for one empty image.

    Outputs are batch-first in these models: the CPU runs a batch of one (cheap even for big
    batches), and every row of the graph's outputs must match it.
    """
    cpu = _cpu_session(str(path), _stamp(path))
    given = cpu.get_inputs()[0]
    declared = given.shape[0]
    one = declared if isinstance(declared, int) and declared > 0 else 1  # an export of a fixed batch takes it
    expected = cpu.run(None, {given.name: np.zeros((one, *shape[1:]), dtype_of(given))})
    sizes = [e.shape if shape[0] == one else (shape[0], *e.shape[1:]) for e in expected]
    graph = GraphSession(path, options, shape, sizes)
    got = graph.run(None, {graph.input_name: np.zeros(shape, dtype_of(given))})
    for want, have in zip(expected, got, strict=True):
        if not np.allclose(np.broadcast_to(want, have.shape), have, rtol=1e-2, atol=1e-2):
            raise ModelError(f"replayed outputs differ from the CPU's by {np.abs(want - have).max():.3g}")
    return graph


def fixed_model(path: Path, shape: Shape) -> bytes:
    """The model with its image input fixed to `shape` and the sizes of its outputs left open.

    Some exports declare a batch of one for their outputs and inner tensors (the default recogniser
    does): outputs bound to memory of the real batch would contradict that declaration.
    """
    model = _parsed_model(str(path))
    del model.graph.value_info[:]  # shapes recorded inside the graph for the export's own batch
    weights = {w.name for w in model.graph.initializer}
    image = next(i for i in model.graph.input if i.name not in weights)
    for dim, size in zip(image.type.tensor_type.shape.dim, shape, strict=True):
        dim.Clear()
        dim.dim_value = size
    for output in model.graph.output:
        for i, dim in enumerate(output.type.tensor_type.shape.dim):
            dim.Clear()
            dim.dim_param = f"{output.name}_{i}"
    return model.SerializeToString()


def _parsed_model(path: str) -> onnx.ModelProto:
    """A fresh copy of the model's graph, read from disk once for all its shapes."""
    on_disk = _model_on_disk(path, _stamp(Path(path)))
    copy = type(on_disk)()
    copy.CopyFrom(on_disk)
    return copy


def _stamp(path: Path) -> tuple[int, int]:
    """The file as it is now (a model replaced under the same name is read again, not taken from memory)."""
    info = path.stat()
    return info.st_mtime_ns, info.st_size


@functools.lru_cache(maxsize=4)
def _model_on_disk(path: str, stamp: tuple[int, int]) -> onnx.ModelProto:
    import onnx  # needed only here

    return onnx.load(path)


@functools.lru_cache(maxsize=8)
def _cpu_session(path: str, stamp: tuple[int, int]) -> Session:
    return make_session(Path(path), RuntimeOptions(device="cpu"))



class GraphSession:
    """One model at one input shape, replayed through a captured CUDA graph.

    The input and outputs stay at fixed places on the GPU, as a graph replays the same memory: each
    run copies the input in and the outputs out. Not for use from several threads at once.
    """

    def __init__(self, path: Path, options: RuntimeOptions, shape: Shape, output_shapes: list[Shape]) -> None:
        with quiet_stderr():
            self.session = ort.InferenceSession(fixed_model(path, shape), sess_options=session_options(options),
                                                providers=[(CUDA, {"enable_cuda_graph": "1"})])
        self.input_name = self.session.get_inputs()[0].name
        self.names = [o.name for o in self.session.get_outputs()]
        self.dtype = dtype_of(self.session.get_inputs()[0])
        self.input = ort.OrtValue.ortvalue_from_shape_and_type(list(shape), self.dtype, "cuda", 0)
        self.outputs = [ort.OrtValue.ortvalue_from_shape_and_type(list(s), dtype_of(o), "cuda", 0)
                        for s, o in zip(output_shapes, self.session.get_outputs(), strict=True)]
        self.binding = self.session.io_binding()
        self.binding.bind_ortvalue_input(self.input_name, self.input)
        for name, value in zip(self.names, self.outputs, strict=True):
            self.binding.bind_ortvalue_output(name, value)
        for _ in range(2):  # a plain run to allocate, then the run that captures the graph
            self.session.run_with_iobinding(self.binding)

    def get_inputs(self) -> Sequence[NodeArg]:
        return self.session.get_inputs()

    def get_outputs(self) -> Sequence[NodeArg]:
        return self.session.get_outputs()

    def get_providers(self) -> list[str]:
        return self.session.get_providers()

    def run(self, output_names: list[str] | None, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        self.input.update_inplace(np.ascontiguousarray(feeds[self.input_name], dtype=self.dtype))
        self.session.run_with_iobinding(self.binding)
        values = dict(zip(self.names, (value.numpy() for value in self.outputs), strict=True))
        return [values[name] for name in output_names or self.names]
