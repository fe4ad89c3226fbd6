"""What each command without a feature folder of its own does (install, remove, restore, show, list, demo, serve); commands/ only adapts their options."""
