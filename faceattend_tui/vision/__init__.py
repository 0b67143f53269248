"""Detection, alignment and embedding with ONNX Runtime."""

from __future__ import annotations
