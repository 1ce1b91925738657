"""Guards against Qt binding releases that break the app in ways short tests would not show."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ticked = Signal(object)


def test_signal_emits_do_not_leak_references_to_true(qapp):
    # PySide6 6.12.0 on Python 3.11 drops a reference to True per emit; a long session then
    # aborts with "bool_dealloc". pyproject pins below it; this keeps the pin honest.
    emitter = _Emitter()
    received: list[object] = []
    emitter.ticked.connect(received.append)
    before = sys.getrefcount(True)
    for index in range(300):
        emitter.ticked.emit(index)
    assert len(received) == 300
    assert sys.getrefcount(True) >= before - 5
