"""Prompters for tests: answers from a script instead of a person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ScriptedPrompter:
    """Answers from a list, in order; fails loudly on an unexpected question (for tests)."""

    def __init__(self, answers: Sequence[Any]) -> None:
        self.answers = list(answers)
        self.questions: list[str] = []

    def _next(self, question: str) -> Any:
        self.questions.append(question)
        if not self.answers:
            raise AssertionError(f"unexpected question: {question}")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def confirm(self, question: str, default: bool = True) -> bool:
        return bool(self._next(question))

    def select(self, question: str, choices: Sequence[str], default: str | None = None) -> str:
        return str(self._next(question))

    def checkbox(
        self, question: str, choices: Sequence[str], checked: Sequence[str] = ()
    ) -> list[str]:
        return list(self._next(question))

    def text(self, question: str, default: str = "") -> str:
        return str(self._next(question))

    def secret(self, question: str) -> str:
        return str(self._next(question))
