"""Run the CLI in-process, the way a user would call it, and capture its streams."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from typing import Any

from dot_setup import cli
from dot_setup.ui.console import OUT

TOKEN = "dot_mcp_us_t0k3nSECRETvalue9876543210"
EU_TOKEN = "dot_mcp_eu_t0k3nSECRETvalue1234567890"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class _Stdin(io.StringIO):
    def isatty(self) -> bool:
        return False


def run(*args: str, stdin: str = "", monkeypatch: Any = None) -> Result:
    """dot-setup ARGS with `stdin` piped in; stdout and stderr captured separately."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = _Stdin(stdin), out, err
    OUT.__init__()  # fresh consoles bound to the captured streams
    try:
        code = cli.run(list(args))
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
        OUT.__init__()
    return Result(code, out.getvalue(), err.getvalue())
