"""The engine every command shares: which endpoint, which clients, which entry, the plan of changes, applying it, reporting it, verifying it."""
