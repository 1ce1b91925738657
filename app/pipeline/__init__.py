"""Drives tasks through their states using the services; no Qt."""
