"""Speed and time-left figures for the progress column."""

from __future__ import annotations

import dataclasses

import pytest

from app.domain.tasks import TaskState
from app.domain.transfer import UploadProgress
from app.ui.task_format import human_count, human_eta, human_speed, stage_view
from app.ui.transfer_rate import FractionRate, TransferTracker, TransferView, view_of_upload

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


@pytest.mark.parametrize(
    ("value", "text"),
    [(8_499.6, "8,500"), (10_000, "10k"), (833_606, "834k"), (999_400, "999k"),
     (999_600, "1.0M"), (1_287_959, "1.3M")],
)
def test_human_count(value: float, text: str) -> None:
    assert human_count(value) == text


def test_human_eta() -> None:
    assert human_eta(0.2) == "1s left"
    assert human_eta(3725) == "1h 02m left"


def test_reading_rates_from_another_desks_store_rows() -> None:
    """Rows and the estimated fraction as the store delivers them, twice a second."""
    tracker = TransferTracker()
    size = 200 * 2**20  # a 200 MiB CSV
    task = make_task(1, state=TaskState.VALIDATING, file_size=size)
    assert tracker.view(task) is None
    for tick in range(0, 9):  # 4 seconds, a store write every half second
        rows = 100_000 * tick
        task = dataclasses.replace(task, rows_validated=rows, progress=0.025 * tick)
        tracker.observe(task, 50.0 + tick / 2)
    view = tracker.view(task)
    assert view is not None
    assert view.rows_per_second == pytest.approx(200_000)
    assert view.bytes_per_second == pytest.approx(0.05 * size)  # 5 % of the file a second
    assert view.eta_seconds == pytest.approx((1 - 0.2) / 0.05)
    assert stage_view(task, view).text == (
        "Validating · 20% · 200k rows/s · 10.0 MB/s · 16s left"
    )
    assert stage_view(task, view).fraction == pytest.approx(0.2)
    # Validated again from the start (a restart): the old pace is not averaged in.
    task = dataclasses.replace(task, rows_validated=1_000, progress=0.001)
    tracker.observe(task, 55.0)
    assert tracker.view(task) is None
    # Done reading: the figures go with the stage.
    tracker.observe(dataclasses.replace(task, state=TaskState.READY, progress=1.0), 56.0)
    assert tracker.view(task) is None


def test_a_workbook_read_shows_rows_per_second_only() -> None:
    """No line-length estimate (a workbook): no fraction, so rows and their pace alone."""
    tracker = TransferTracker()
    task = make_task(2, state=TaskState.VALIDATING)
    for second in range(0, 4):
        task = dataclasses.replace(task, rows_validated=30_000 * second)
        tracker.observe(task, 10.0 + second)
    view = tracker.view(task)
    assert view is not None
    assert view.bytes_per_second is None and view.eta_seconds is None
    shown = stage_view(task, view)
    assert shown.text == "Validating · 90,000 rows read · 30k rows/s"
    assert shown.fraction is None  # a busy bar
