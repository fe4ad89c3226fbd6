"""Child process for the kill test: rewrites one file forever, alternating two contents."""

from __future__ import annotations

import sys
from pathlib import Path

from dot_setup.fs.fsio import update_file
from dot_setup.paths import Paths

target = Path(sys.argv[1])
contents = [Path(sys.argv[2]).read_text(), Path(sys.argv[3]).read_text()]
paths = Paths.from_env()
print("ready", flush=True)
i = 0
while True:
    update_file(paths, target, lambda _old, i=i: contents[i % 2], holds_secret=True)
    i += 1
