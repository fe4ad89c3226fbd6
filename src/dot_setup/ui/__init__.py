"""Terminal and output helpers: the console (every output passes the redactor), prompts, the clipboard, crash reports."""
