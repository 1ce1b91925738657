"""Helpers that start the native dev stack (scripts/devstack) for tests against a real Druid."""
