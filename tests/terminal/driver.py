"""Drive `dot-setup` in a real pseudo-terminal, and read back what the person saw.

`Terminal` wraps a pexpect child and plays the terminal's part of the conversation: it answers
the cursor position requests (ESC [6n) that prompt_toolkit sends before every question, as a real
terminal emulator does (unanswered, each question waits about a second for the reply).

What was shown is available two ways:
- `seen`: everything the program ever printed, escape sequences removed (for "was X shown?").
- `screen()`: the output replayed on a minimal terminal with unlimited scrollback, so redrawn and
  erased prompt menus disappear as they did on screen (for transcripts and "what is on screen").
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pexpect
from tests.server.live import LiveServer

CLI = str(Path(sys.executable).parent / "dot-setup")
ROWS, COLS = 50, 160

# Keys as a terminal sends them.
ENTER = "\r"
DOWN = "\x1b[B"
SPACE = " "
CTRL_C = "\x03"

# The user's own Cursor config, already holding another server: it must survive.
CURSOR_BEFORE = (
    json.dumps(
        {"mcpServers": {"github": {"command": "npx", "args": ["-y", "github-mcp"]}}}, indent=2
    )
    + "\n"
)

CPR_REQUEST = "\x1b[6n"
_ESCAPES = re.compile(
    r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[()][0-9A-Za-z]"  # charset selection
    r"|\x1b[=>78cDEHM]"  # keypad modes, save/restore cursor, ...
)
_TOKENS = re.compile(
    r"\x1b\[([0-9;?<=>]*)[ -/]*([@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[()][0-9A-Za-z]"
    r"|\x1b[=>78cDEHM]"
    r"|([\r\n\b])"
    r"|([^\x1b\r\n\b]+)"
)


def strip_ansi(text: str) -> str:
    return _ESCAPES.sub("", text).replace("\r", "")


class Servers:
    """The test's two reference servers, one per region."""

    def __init__(self, us: LiveServer, eu: LiveServer) -> None:
        self.us, self.eu = us, eu


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root with its bytes and mode (to prove that nothing changed)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


class Screen:
    """Just enough of a VT100 to replay prompt_toolkit and rich: relative cursor moves,
    erase-below and erase-line. No wrapping: a long line stays one line of the transcript."""

    def __init__(self, rows: int = ROWS) -> None:
        self.rows = rows
        self.lines: list[list[str]] = [[]]
        self.row = self.col = 0

    def _line(self) -> list[str]:
        while len(self.lines) <= self.row:
            self.lines.append([])
        return self.lines[self.row]

    def _put(self, text: str) -> None:
        for ch in text:
            if ch < " " and ch != "\t":
                continue  # bells and other controls take no room
            line = self._line()
            if len(line) < self.col:
                line.extend(" " * (self.col - len(line)))
            if self.col < len(line):
                line[self.col] = ch
            else:
                line.append(ch)
            self.col += 1

    def _csi(self, params: str, final: str) -> None:
        if params.startswith("?"):
            return  # private modes: cursor visibility, bracketed paste, autowrap
        nums = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else [0]
        n = max(nums[0], 1)
        top = max(0, len(self.lines) - self.rows)
        if final == "A":
            self.row = max(top, self.row - n)
        elif final == "B":
            self.row += n
        elif final == "C":
            self.col += n
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "G":
            self.col = n - 1
        elif final in "Hf":
            self.row = top + n - 1
            self.col = max((nums[1] if len(nums) > 1 else 1), 1) - 1
        elif final == "J" and nums[0] == 0:
            del self._line()[self.col :]
            del self.lines[self.row + 1 :]
        elif final == "J" and nums[0] in (2, 3):
            self.lines, self.row, self.col = [[]], 0, 0
        elif final == "K":
            line = self._line()
            if nums[0] == 0:
                del line[self.col :]
            elif nums[0] == 1:
                line[: self.col] = [" "] * min(self.col, len(line))
            else:
                line.clear()
        # SGR (m), device status (n) and the rest change nothing on a transcript

    def feed(self, data: str) -> None:
        for m in _TOKENS.finditer(data):
            csi_params, csi_final, control, text = m.groups()
            if text is not None:
                self._put(text)
            elif control == "\r":
                self.col = 0
            elif control == "\n":
                self.row += 1
                self._line()
            elif control == "\b":
                self.col = max(0, self.col - 1)
            elif csi_final is not None:
                self._csi(csi_params, csi_final)

    def text(self) -> str:
        out = "\n".join("".join(line).rstrip() for line in self.lines)
        return out.strip("\n") + "\n"


class Terminal:
    def __init__(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        timeout: float = 30,
    ) -> None:
        self.args = list(args)
        self.raw = io.StringIO()
        self._answered = 0
        self.child = pexpect.spawn(
            CLI,
            list(args),
            env=dict(env),
            cwd=str(cwd),
            dimensions=(ROWS, COLS),
            encoding="utf-8",
            codec_errors="replace",
            timeout=timeout,
        )
        self.child.logfile_read = self.raw

    # -- the conversation ----------------------------------------------------------------------

    def _answer_cursor_requests(self) -> None:
        asked = self.raw.getvalue().count(CPR_REQUEST)
        while self._answered < asked:
            self.child.send("\x1b[1;1R")
            self._answered += 1

    def expect(self, pattern: str, timeout: float | None = None) -> re.Match[str]:
        """Wait for a regex in the output (raw: escape sequences included)."""
        try:
            self.child.expect(pattern, timeout=timeout if timeout is not None else -1)
        except (pexpect.TIMEOUT, pexpect.EOF) as exc:
            kind = "timed out" if isinstance(exc, pexpect.TIMEOUT) else "program ended"
            raise AssertionError(
                f"{kind} waiting for {pattern!r}; the screen:\n{self.screen()}"
            ) from None
        self._answer_cursor_requests()
        match = self.child.match
        assert isinstance(match, re.Match)
        return match

    def question(self, text: str) -> None:
        """Wait until a question is on screen (prompt_toolkit is then reading keys)."""
        self.expect(re.escape(text))

    def answer(self, text: str, *keys: str) -> None:
        self.question(text)
        for key in keys:
            self.child.send(key)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def type_line(self, text: str) -> None:
        self.child.sendline(text)

    def finish(self, timeout: float = 30) -> int:
        """Wait for the program to end (answering the terminal's part meanwhile); its status."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                if self.child.expect_exact([CPR_REQUEST, pexpect.EOF], timeout=max(left, 0)):
                    break
            except pexpect.TIMEOUT:
                self.child.terminate(force=True)
                raise AssertionError(
                    f"dot-setup did not exit; the screen:\n{self.screen()}"
                ) from None
            self._answer_cursor_requests()
        self.child.close()
        if self.child.signalstatus is not None:
            raise AssertionError(f"dot-setup died of signal {self.child.signalstatus}")
        status = self.child.exitstatus
        assert status is not None
        return int(status)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()

    # -- what the person saw -------------------------------------------------------------------

    @property
    def seen(self) -> str:
        return strip_ansi(self.raw.getvalue())

    def screen(self) -> str:
        screen = Screen()
        screen.feed(self.raw.getvalue())
        return screen.text()
