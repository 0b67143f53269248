"""Detection, alignment and embedding with ONNX Runtime."""
