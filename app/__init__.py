"""Ingest Desk: get business users' spreadsheets into Apache Druid, fast, correctly and visibly."""

__version__ = "0.1.0"
