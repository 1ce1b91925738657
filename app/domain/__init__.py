"""Domain values shared by every layer: frozen dataclasses and enums, no I/O, no Qt, no ORM."""
