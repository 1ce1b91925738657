"""Tests of the frozen (PyInstaller) bundle; they run only with BUNDLE=1."""
