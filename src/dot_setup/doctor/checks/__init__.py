"""The checks, by area. Each module exposes `checks(ctx) -> list[Check]` in its fixed order."""
