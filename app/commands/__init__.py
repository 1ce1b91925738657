"""CLI command families, each a click command or group registered by app.cli."""
