"""Tests for the S3 staging upload service."""
