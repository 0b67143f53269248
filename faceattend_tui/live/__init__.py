"""Live capture and tracking for the recognition worker."""

from __future__ import annotations

from faceattend_tui.live.camera import (
    Backoff,
    FolderSource,
    FramePacket,
    FrameSource,
    LatestFrameReader,
    SourceError,
    SourceSpec,
    SourceStatus,
    VideoCaptureSource,
    make_source,
    parse_source,
)
from faceattend_tui.live.tracker import Decision, IouTracker, Track, Vote, Voter

__all__ = [
    "Backoff",
    "Decision",
    "FolderSource",
    "FramePacket",
    "FrameSource",
    "IouTracker",
    "LatestFrameReader",
    "SourceError",
    "SourceSpec",
    "SourceStatus",
    "Track",
    "VideoCaptureSource",
    "Vote",
    "Voter",
    "make_source",
    "parse_source",
]
