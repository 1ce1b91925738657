"""Speed and time-left figures for the progress column."""

from __future__ import annotations

import pytest

from app.domain.tasks import TaskState
from app.domain.transfer import UploadProgress
from app.ui.task_format import human_eta, human_speed, stage_view
from app.ui.transfer_rate import FractionRate, TransferView, view_of_upload

from .ui_helpers import make_task


def test_eta_from_another_desks_fractions() -> None:
    rate = FractionRate(window_s=15.0)
    assert rate.eta_seconds() is None
    for second in range(0, 11):
        rate.add(100.0 + second, 0.05 * second)  # 5 % a second
    eta = rate.eta_seconds()
    assert eta == pytest.approx(10.0)  # 50 % left at 5 %/s
    # A retry starts over: the old pace is dropped rather than averaged in.
    rate.add(112.0, 0.01)
    assert rate.eta_seconds() is None


def test_window_forgets_an_old_pace() -> None:
    rate = FractionRate(window_s=5.0)
    for second in range(0, 20):
        rate.add(float(second), 0.01 * second if second < 10 else 0.1 + 0.04 * (second - 10))
    eta = rate.eta_seconds()
    assert eta is not None
    assert eta == pytest.approx((1 - 0.46) / 0.04)


def test_uploading_cell_shows_speed_and_time_left() -> None:
    task = make_task(1, state=TaskState.UPLOADING, progress=0.42)
    tick = UploadProgress(420 * 2**20, 1000 * 2**20, 3, 8, 12.5 * 2**20, 46.4)
    view = stage_view(task, view_of_upload(tick))
    assert view.text == "Uploading · 42% · 12.5 MB/s · 46s left"
    assert stage_view(task, TransferView(None, 130.0)).text == "Uploading · 42% · 2m 10s left"
    assert stage_view(task).text == "Uploading · 42%"


@pytest.mark.parametrize(
    ("value", "text"), [(512, "512 B/s"), (2048, "2.0 KB/s"), (3.5 * 2**30, "3.5 GB/s")]
)
def test_human_speed(value: float, text: str) -> None:
    assert human_speed(value) == text


def test_human_eta() -> None:
    assert human_eta(0.2) == "1s left"
    assert human_eta(3725) == "1h 02m left"
