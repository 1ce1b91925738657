"""One odd entry in a drop (a looping link, a pipe, a name that is not text) spoils only itself."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from app.pipeline.intake import collect_sources

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX links, pipes and names")


def _reasons(intake_refused: tuple) -> dict[str, str]:
    return {refusal.path.name: refusal.reason for refusal in intake_refused}


def test_a_looping_link_inside_a_dropped_folder_is_refused_alone(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "good.csv").write_text("x\n1\n")
    (folder / "loop1.csv").symlink_to("loop2.csv")
    (folder / "loop2.csv").symlink_to("loop1.csv")
    (folder / "back").symlink_to(".")  # a link to its own folder is not walked into
    intake = collect_sources([folder])
    assert [p.name for p in intake.accepted] == ["good.csv"]
    reasons = _reasons(intake.refused)
    assert reasons["loop1.csv"] == "loop1.csv is a link that loops back on itself."
    assert "loops back" in reasons["loop2.csv"]


def test_a_looping_link_dropped_by_itself_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to("a.csv")
    intake = collect_sources([tmp_path / "a.csv"])
    assert intake.accepted == ()
    assert "loops back" in intake.refused[0].reason


def test_a_link_to_a_real_file_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("x\n1\n")
    (tmp_path / "link.csv").symlink_to("real.csv")
    assert [p.name for p in collect_sources([tmp_path / "link.csv"]).accepted] == ["link.csv"]


def test_a_pipe_is_refused_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    os.mkfifo(folder / "stream.csv")
    (folder / "good.csv").write_text("x\n1\n")
    intake = collect_sources([folder, folder / "stream.csv"])
    assert [p.name for p in intake.accepted] == ["good.csv"]
    assert [r.reason for r in intake.refused] == [
        "stream.csv is a pipe, socket or device, not a file.",
    ] * 2


def test_an_undecodable_file_name_is_refused_and_the_rest_go_on(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    raw = os.fsencode(folder) + b"/sales\xff.csv"
    with open(raw, "wb") as handle:
        handle.write(b"x\n1\n")
    (folder / "good.csv").write_text("x\n1\n")
    intake = collect_sources([folder])
    assert [p.name for p in intake.accepted] == ["good.csv"]
    (refusal,) = intake.refused
    assert refusal.reason.startswith("sales\ufffd.csv: its name (or its folder's) holds bytes")
    refusal.reason.encode("utf-8")  # printable and storable


def test_an_unreadable_subfolder_is_refused_alone(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    folder = tmp_path / "drop"
    (folder / "locked").mkdir(parents=True)
    (folder / "good.csv").write_text("x\n1\n")
    (folder / "locked").chmod(0)
    try:
        intake = collect_sources([folder])
    finally:
        (folder / "locked").chmod(0o755)
    assert [p.name for p in intake.accepted] == ["good.csv"]
    assert "locked cannot be read" in intake.refused[0].reason
