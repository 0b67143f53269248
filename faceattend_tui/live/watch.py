"""`faceattend watch`: the live worker without the user interface, events on standard output."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from faceattend_tui.config import Settings
from faceattend_tui.live.worker import WorkerConfig, WorkerHandle

FIELD_ORDER = {
    "checkin": ("name", "similarity", "track", "time"),
    "unknown": ("track", "time"),
    "stats": ("fps", "detect_ms", "track_ms", "embed_ms", "faces", "tracks", "frames", "dropped"),
    "status": ("kind", "message"),
    "error": ("message",),
}


def public_event(event: dict) -> dict:
    """The event as printed: "type" first, then its main fields; binary data left out."""
    kind = event["type"]
    out = {"type": kind}
    for key in FIELD_ORDER.get(kind, ()):
        if key in event:
            out[key] = event[key]
    for key, value in event.items():
        if key not in out and not isinstance(value, bytes | bytearray) and key not in ("samples", "sent"):
            out[key] = value
    return out


def human_line(event: dict) -> str:
    kind = event["type"]
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("time", time.time())))
    if kind == "checkin":
        return f"{stamp} check-in  {event['name']} (similarity {event['similarity']:.2f}, track {event['track']})"
    if kind == "unknown":
        return f"{stamp} unknown face (track {event['track']})"
    if kind == "stats":
        return (f"{stamp} {event['fps']:5.1f} fps  detect {event['detect_ms']:.1f} ms  "
                f"embed {event['embed_ms']:.1f} ms  {event['faces']} faces")
    if kind == "ready":
        return f"{stamp} worker ready on {event['device']}: {event['people']} people enrolled"
    return f"{stamp} {kind}: {event.get('message', '')}"


def prepare_demo_roster(settings: Settings, log) -> None:
    from faceattend_tui.live.demo import prepare_demo
    from faceattend_tui.vision.pipeline import FaceEngine

    engine = FaceEngine.from_settings(settings, log=log)
    names = prepare_demo(settings.data, engine, log=log)
    log(f"demo roster in {settings.data}: {', '.join(names)}")


def watch(settings: Settings, args, out, log) -> int:
    if args.source == "demo":
        prepare_demo_roster(settings, log)
    overrides = {k: v for k, v in asdict(settings).items() if k != "data"}
    config = WorkerConfig(data=str(Path(settings.data)), source=args.source, overrides=overrides,
                          preview=not args.no_preview, realtime=not args.every_frame, loop=args.loop)
    handle = WorkerHandle(config)
    handle.start()
    deadline = time.monotonic() + args.max_seconds if args.max_seconds else None
    failed = False
    try:
        while deadline is None or time.monotonic() < deadline:
            for event in handle.poll(timeout=0.2):
                failed |= event["type"] == "error" or event.get("kind") == "camera-error"
                print(json.dumps(public_event(event)) if args.json else human_line(event), file=out, flush=True)
                if (event["type"] == "status" and event.get("kind") == "source-finished") or event.get("fatal"):
                    return 1 if failed else 0
    finally:
        handle.stop()
    return 1 if failed else 0
