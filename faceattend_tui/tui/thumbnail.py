"""Face thumbnails drawn with half-block characters, for terminals without image protocols."""

from __future__ import annotations

import cv2
import numpy as np
from rich.text import Text


def halfblock(jpeg: bytes, width: int = 16) -> Text:
    """A small colour picture of a JPEG: each character shows two pixels stacked."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) if jpeg else None
    if image is None:
        return Text("(no picture)")
    height = max(2, round(image.shape[0] * width / image.shape[1] / 2) * 2)
    small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)[..., ::-1]
    text = Text()
    for y in range(0, height, 2):
        for x in range(width):
            top, bottom = small[y, x], small[y + 1, x]
            text.append("▀", style=f"rgb({top[0]},{top[1]},{top[2]}) on rgb({bottom[0]},{bottom[1]},{bottom[2]})")
        text.append("\n")
    return text
