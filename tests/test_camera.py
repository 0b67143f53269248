"""Camera sources and the latest-frame reader, on short generated videos, folders and fake sources."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceattend_tui.live.camera import (
    Backoff,
    FolderSource,
    LatestFrameReader,
    SourceError,
    SourceSpec,
    VideoCaptureSource,
    make_source,
    parse_source,
    redact_url,
)

pytestmark = pytest.mark.timeout(30)

SIZE = (64, 48)  # width, height


def write_video(path: Path, frames: int = 12, fps: float = 25.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((SIZE[1], SIZE[0], 3), 6 * i % 250, dtype=np.uint8))
    writer.release()
    return path


def write_image(path: Path, value: int) -> Path:
    ok, data = cv2.imencode(path.suffix, np.full((30, 40, 3), value, dtype=np.uint8))
    assert ok
    data.tofile(str(path))
    return path


def drain(reader: LatestFrameReader, limit: int = 1000, timeout: float = 5.0) -> list:
    packets = []
    while len(packets) < limit:
        packet = reader.latest(timeout)
        if packet is None:
            break
        packets.append(packet)
    return packets


def kinds(reader: LatestFrameReader) -> list[str]:
    return [status.kind for status in reader.statuses()]


def wait_for(condition, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class FakeSource:
    """A scripted source: each open() takes the next item of `opens` (True or an error message),
    then read() plays the frames of `frames` (a frame, None for a failed read, "bad" for junk)."""

    kind = "webcam"

    def __init__(self, opens, frames, live: bool = True, fps: float | None = None):
        self.name = "fake camera"
        self.live = live
        self.fps = fps
        self.opens = list(opens)
        self.frames = list(frames)
        self.open_calls = 0
        self.released = 0

    def open(self) -> None:
        self.open_calls += 1
        result = self.opens.pop(0) if self.opens else True
        if result is not True:
            raise SourceError(result)

    def read(self):
        if not self.frames:
            time.sleep(0.005)
            return False, None
        item = self.frames.pop(0)
        if item is None:
            return False, None
        if isinstance(item, str):
            return True, np.zeros((4, 4), dtype=np.float32)
        return True, item

    def release(self) -> None:
        self.released += 1


def frame(value: int = 0) -> np.ndarray:
    return np.full((8, 8, 3), value, dtype=np.uint8)


# -- parsing


def test_parse_source_kinds(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=2)
    assert parse_source("0") == SourceSpec("webcam", 0)
    assert parse_source(" 2 ").target == 2
    assert parse_source("demo").kind == "demo"
    assert parse_source("rtsp://cam.local:554/stream").kind == "stream"
    assert parse_source("HTTPS://cam.local/video.mjpg").kind == "stream"
    assert parse_source(str(tmp_path)) == SourceSpec("folder", str(tmp_path))
    assert parse_source(str(video)) == SourceSpec("file", str(video))
    photo = write_image(tmp_path / "Ann.JPG", 80)
    assert parse_source(str(photo)) == SourceSpec("image", str(photo))
    assert parse_source("0").live and parse_source("rtsp://x/y").live and not parse_source("demo").live


def test_a_camera_device_unplugged_at_start_is_a_camera_to_wait_for_not_a_typo():
    """A service starting before its USB camera (or with it unplugged: its by-id name is gone meanwhile)
    waits for it as for a camera index, instead of failing at once, over and over."""
    for name in ("/dev/video7", "/dev/v4l/by-id/usb-Logitech_C920-video-index0"):
        assert not Path(name).exists()
        assert parse_source(name) == SourceSpec("webcam", name) and parse_source(name).live
    with pytest.raises(SourceError, match="source not found"):
        parse_source("/dev/nonsense")


def test_a_pipe_a_picture_named_device_or_a_huge_index_is_refused_for_what_it_is(tmp_path):
    """A named pipe read 'source not found' though it was there; a photo name linked to /dev/zero was a
    camera, 'lost' over and over; a mistyped index was retried for ever with OpenCV's six-line error."""
    pipe = tmp_path / "cam.mjpeg"
    os.mkfifo(pipe)
    with pytest.raises(SourceError, match="cam.mjpeg' is not a camera, video file, photo or folder"):
        parse_source(str(pipe))
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    with pytest.raises(SourceError, match="zero.jpg' is not a camera, video file, photo or folder"):
        parse_source(str(tmp_path / "zero.jpg"))
    with pytest.raises(SourceError, match="too large to be a camera index"):
        parse_source("99999999999999999999")
    with pytest.raises(SourceError, match="source not found: '²'"):  # a traceback, from int()
        parse_source("²")


def test_parse_source_errors_name_the_input(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError, match="nope.mp4"):
        parse_source(str(missing))
    with pytest.raises(SourceError, match="unsupported URL scheme"):
        parse_source("ftp://host/file")
    with pytest.raises(SourceError):
        parse_source("  ")


def test_stream_names_hide_passwords():
    assert redact_url("rtsp://admin:secret@10.0.0.2/live") == "rtsp://admin:***@10.0.0.2/live"
    assert "secret" not in parse_source("rtsp://admin:secret@10.0.0.2/live").name
    # a password holding "@" (the host follows the last one), and IP cameras that take it in the query
    assert redact_url("rtsp://admin:Door@2024@10.0.0.2:554/s1") == "rtsp://admin:***@10.0.0.2:554/s1"
    assert redact_url("http://10.0.0.9/videostream.cgi?user=admin&pwd=Door2024&rate=0") == \
        "http://10.0.0.9/videostream.cgi?user=admin&pwd=***&rate=0"
    assert redact_url("https://cam.example/live?api_key=abc123&token=xyz#f") == \
        "https://cam.example/live?api_key=***&token=***#f"
    assert redact_url("rtsp://10.0.0.2/live") == "rtsp://10.0.0.2/live"


def test_a_source_named_with_terminal_codes_is_said_with_them_as_codes(tmp_path):
    """A video file or folder whose name holds escape codes: the lines that name it would recolour the terminal
    or set its title."""
    video = tmp_path / "door\x1b[31mred\x1b]0;title\x07.avi"
    write_video(video, frames=3)
    folder = tmp_path / "photos\x1b[2J"
    folder.mkdir()
    for source in (parse_source(str(video)), parse_source(str(folder))):
        assert "\x1b" not in source.name and "\x07" not in source.name and "\\x1b" in source.name


def test_a_camera_device_path_is_a_camera():
    """/dev/video0, or the stable /dev/v4l/by-id/... name that pins one camera among several."""
    spec = parse_source("/dev/null")  # a character device, as a camera's is
    assert spec.kind == "webcam" and spec.live and spec.target == "/dev/null"


def test_make_source_builds_each_kind(tmp_path):
    assert isinstance(make_source(parse_source("0")), VideoCaptureSource)
    assert isinstance(make_source(parse_source(str(tmp_path))), FolderSource)
    fake = FakeSource([], [])
    assert make_source(parse_source("demo"), demo_factory=lambda: fake) is fake
    with pytest.raises(SourceError, match="demo"):
        make_source(parse_source("demo"))


def test_backoff_doubles_up_to_the_cap():
    backoff = Backoff(0.5, 10.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    backoff.reset()
    assert backoff.next() == 0.5


def test_a_camera_down_for_days_is_still_tried_at_the_cap():
    """Every 10 s for a weekend is some 17,000 tries: the 1,024th once ended the tries for good."""
    backoff = Backoff(0.5, 10.0)
    assert [backoff.next() for _ in range(20_000)][-3:] == [10, 10, 10]


# -- video files


def test_video_file_every_frame_in_order_then_ended(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=12)
    seen = []
    reader = LatestFrameReader(make_source(parse_source(str(video))), realtime=False, on_status=seen.append)
    packets = drain(reader)
    assert reader.close()
    assert [packet.index for packet in packets] == list(range(12))
    means = [float(packet.frame.mean()) for packet in packets]
    assert means == sorted(means) and means[-1] > means[0] + 50  # the frames come in order
    assert packets[0].frame.shape == (48, 64, 3)
    assert [status.kind for status in seen] == ["opened", "ended"]
    assert "clip.avi" in seen[-1].message and reader.dropped == 0 and reader.finished


def test_video_file_loops(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=5)
    with LatestFrameReader(VideoCaptureSource(str(video)), realtime=False, loop=True) as reader:
        packets = [reader.latest(5.0) for _ in range(13)]
    assert [packet.index for packet in packets] == list(range(13))
    assert kinds(reader).count("opened") >= 3 and "ended" not in kinds(reader)
    assert reader.finished


def test_unreadable_video_is_an_error(tmp_path):
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"not a video" * 500)
    reader = LatestFrameReader(make_source(parse_source(str(junk))), realtime=False)
    assert reader.latest(5.0) is None
    assert reader.close()
    (status,) = reader.statuses()
    assert status.kind == "error" and "junk.avi" in status.message


def test_deleted_video_reports_an_error_when_looping(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=6)
    reader = LatestFrameReader(VideoCaptureSource(str(video)), realtime=False, loop=True)
    assert reader.latest(5.0) is not None
    video.unlink()  # an open file keeps playing; reopening for the next loop fails
    drain(reader, timeout=5.0)
    assert reader.close() and reader.finished
    assert kinds(reader)[-1] == "error" and "clip.avi" in reader.statuses()[-1].message


def test_realtime_reader_drops_stale_frames(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=40, fps=100.0)  # 0.4 s of playback
    reader = LatestFrameReader(VideoCaptureSource(str(video)), realtime=True)
    packets = []
    while (packet := reader.latest(2.0)) is not None:
        packets.append(packet)
        assert time.monotonic() - packet.time < 0.25  # fresh, not queued (queued: 0.05 s staler each turn)
        time.sleep(0.06)  # a consumer slower than the source
    assert reader.close()
    indices = [packet.index for packet in packets]
    assert indices == sorted(set(indices)) and len(indices) < 20
    assert reader.dropped > 0 and reader.dropped + len(indices) == 40
    assert kinds(reader) == ["opened", "ended"]


@pytest.mark.parametrize(("fps", "at_least"), [(50.0, 0.15), (1000.0, 0.3)])
def test_realtime_file_is_paced_at_its_fps(tmp_path, fps, at_least):
    """10 frames at 50 fps take about 0.2 s; a recorder that wrote a senseless 1000 fps is played at 25
    (about 0.4 s): it was read in a blink and most of its frames dropped."""
    video = write_video(tmp_path / "clip.avi", frames=10, fps=fps)
    start = time.monotonic()
    reader = LatestFrameReader(VideoCaptureSource(str(video)), realtime=True)
    drain(reader, timeout=2.0)
    reader.close()
    assert time.monotonic() - start >= at_least


# -- folders


def test_folder_slideshow_skips_bad_files(tmp_path):
    folder = tmp_path / "fotos ü"
    folder.mkdir()
    write_image(folder / "a.jpg", 50)
    write_image(folder / "c.png", 200)
    (folder / "notes.txt").write_text("hello")
    good = write_image(folder / "b.jpg", 120).read_bytes()
    (folder / "b.jpg").write_bytes(good[: len(good) // 2])  # truncated JPEG
    os.mkfifo(folder / "d.jpg")  # never opened: reading it would wait for ever
    (folder / "e.jpg").symlink_to("/dev/zero")
    source = FolderSource(folder, frames_per_image=2)
    reader = LatestFrameReader(source, realtime=False)
    packets = drain(reader)
    assert reader.close()
    centres = [int(p.frame[p.frame.shape[0] // 2, p.frame.shape[1] // 2, 0]) for p in packets]
    assert [round(c, -1) for c in centres] == [50, 50, 200, 200]
    skipped = [status.message for status in reader.statuses() if status.kind == "skipped"]
    assert any("notes.txt" in message for message in skipped)
    assert any("b.jpg" in message for message in skipped)
    for name in ("d.jpg", "e.jpg"):
        assert any(message.endswith(f": skipped {name}: not a regular file") for message in skipped)
    assert kinds(reader)[0] == "opened" and kinds(reader)[-1] == "ended"


def test_folder_rate_from_seconds_per_image(tmp_path):
    write_image(tmp_path / "one.png", 10)
    source = FolderSource(tmp_path, seconds_per_image=1.5, fps=4)
    assert source.frames_per_image == 6 and source.fps == 4


def test_one_photo_is_a_still_shown_long_enough_to_be_recognised(tmp_path):
    photo = write_image(tmp_path / "ann.jpg", 80)
    reader = LatestFrameReader(make_source(parse_source(str(photo)), seconds_per_image=1.0, folder_fps=5),
                               realtime=False)
    packets = drain(reader)
    assert reader.close() and len(packets) == 5  # a second of frames, not one frame
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 junk")
    reader = LatestFrameReader(make_source(parse_source(str(broken))), realtime=False)
    assert reader.latest(5.0) is None and reader.close()
    assert kinds(reader)[-1] == "error" and "broken.jpg" in reader.statuses()[-1].message


def test_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG junk")
    reader = LatestFrameReader(FolderSource(tmp_path), realtime=False)
    assert reader.latest(5.0) is None and reader.close()
    assert kinds(reader)[-1] == "error" and "no readable image" in reader.statuses()[-1].message
    assert any("broken.png" in status.message for status in reader.statuses() if status.kind == "skipped")


def test_folder_loop_reports_skips_once(tmp_path):
    write_image(tmp_path / "a.png", 10)
    (tmp_path / "x.txt").write_text("x")
    with LatestFrameReader(FolderSource(tmp_path, frames_per_image=1), realtime=False, loop=True) as reader:
        assert [reader.latest(5.0).index for _ in range(5)] == list(range(5))
    assert kinds(reader).count("skipped") == 1


# -- live devices and streams


def test_missing_camera_index_is_an_error_not_an_exception():
    start = time.monotonic()
    reader = LatestFrameReader(make_source(parse_source("99")))
    assert reader.latest(10.0) is None
    assert reader.close(5.0)
    assert time.monotonic() - start < 10
    (status,) = reader.statuses()
    assert status.kind == "error" and "camera 99" in status.message


def test_dead_stream_url_fails_quickly_and_closes():
    start = time.monotonic()
    source = make_source(parse_source("rtsp://127.0.0.1:9/none"), open_timeout=2.0, read_timeout=2.0)
    reader = LatestFrameReader(source)
    assert reader.latest(10.0) is None
    assert reader.close(5.0)
    assert time.monotonic() - start < 10
    assert kinds(reader)[-1] in ("error", "lost")
    assert "127.0.0.1:9" in reader.statuses()[-1].message


def test_lost_source_reconnects_with_backoff():
    source = FakeSource(opens=[True, "refused", "refused", True], frames=[frame(1), frame(2), None, frame(3)])
    reader = LatestFrameReader(source, backoff=Backoff(0.02, 0.04))
    got = []
    while 3 not in got and (packet := reader.latest(5.0)) is not None:
        got.append(int(packet.frame[0, 0, 0]))
    assert reader.close()
    assert got[-1] == 3
    assert kinds(reader)[:6] == ["opened", "lost", "reconnecting", "reconnecting", "reconnecting", "opened"]
    delays = [status.retry_in for status in reader.statuses() if status.kind == "reconnecting"]
    assert delays[:3] == [0.02, 0.04, 0.04]
    assert all("fake camera" in status.message for status in reader.statuses())
    assert source.open_calls >= 4 and source.released >= 2


def test_a_bug_while_reading_a_live_camera_does_not_end_its_reading():
    """A fault of the program's own (not the camera's) once ended the reader: the camera stayed off until
    the station was started again."""
    class Faulty(FakeSource):
        def read(self):
            if self.frames and isinstance(self.frames[0], str) and self.frames[0] == "bug":
                self.frames.pop(0)
                raise ZeroDivisionError("a bug")
            return super().read()

    reader = LatestFrameReader(Faulty([True, True], [frame(1), "bug", frame(2)]), backoff=Backoff(0.01, 0.02))
    got = []
    while 2 not in got and (packet := reader.latest(5.0)) is not None:
        got.append(int(packet.frame[0, 0, 0]))
    assert reader.close()
    assert got[-1] == 2
    lost = next(status for status in reader.statuses() if status.kind == "lost")
    assert lost.message == "fake camera: unexpected ZeroDivisionError: a bug; trying again"


def test_close_interrupts_a_long_backoff():
    source = FakeSource(opens=[True] + ["down"] * 10, frames=[frame(), None])
    reader = LatestFrameReader(source, backoff=Backoff(30.0, 60.0))
    assert wait_for(lambda: "reconnecting" in kinds(reader))
    start = time.monotonic()
    assert reader.close(5.0)
    assert time.monotonic() - start < 3.0  # not the 30 s pause (a busy machine may take a moment)


def test_first_open_can_retry_when_asked():
    source = FakeSource(opens=["busy", True], frames=[frame(7)])
    reader = LatestFrameReader(source, backoff=Backoff(0.01), retry_first_open=True)
    packet = reader.latest(5.0)
    assert reader.close()
    assert packet is not None and kinds(reader)[:2] == ["reconnecting", "opened"]


def test_corrupt_frames_are_skipped_and_counted():
    source = FakeSource([True], [frame(1), "bad", "bad", frame(2)], live=False)
    reader = LatestFrameReader(source, realtime=False)
    packets = drain(reader)
    assert reader.close()
    assert [int(p.frame[0, 0, 0]) for p in packets] == [1, 2] and [p.index for p in packets] == [0, 1]
    assert reader.bad_frames == 2 and kinds(reader) == ["opened", "ended"]


def test_source_without_frames_is_an_error():
    reader = LatestFrameReader(FakeSource([True], [None], live=False), realtime=False)
    assert reader.latest(5.0) is None and reader.close()
    assert kinds(reader) == ["opened", "error"]


def test_broken_status_callback_does_not_stop_the_reader():
    def explode(status):
        raise RuntimeError("boom")

    reader = LatestFrameReader(FakeSource([True], [frame(), frame()], live=False), realtime=False,
                               on_status=explode)
    assert len(drain(reader)) == 2 and reader.close()


def test_reader_thread_is_a_daemon_and_close_is_idempotent():
    reader = LatestFrameReader(FakeSource([True], [frame()] * 3, live=False), realtime=False)
    assert any(t.daemon for t in threading.enumerate() if t.name.startswith("reader"))
    assert reader.close() and reader.close()


def test_small_photos_in_a_folder_are_shown_on_a_camera_sized_frame(tmp_path):
    import cv2

    from faceattend_tui.live.camera import FolderSource

    cv2.imwrite(str(tmp_path / "id.png"), np.full((150, 150, 3), 200, np.uint8))
    cv2.imwrite(str(tmp_path / "wide.png"), np.full((480, 800, 3), 50, np.uint8))
    source = FolderSource(tmp_path, frames_per_image=1)
    source.open()
    first, second = source.read()[1], source.read()[1]
    assert first.shape == (480, 640, 3) and first[240, 320].tolist() == [200, 200, 200]
    assert first[0, 0].tolist() == [110, 110, 110]
    assert second.shape == (480, 800, 3)
