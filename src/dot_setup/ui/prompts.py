"""The prompter seam: commands ask questions through a `Prompter`, tests script the answers.

`QuestionaryPrompter` is the real terminal UI (imported only when a prompt is shown; it costs
~0.2 s). It uses questionary's `unsafe_ask`, so Ctrl-C raises KeyboardInterrupt (exit 130,
nothing changed) instead of returning None into the flow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Prompter(Protocol):
    def confirm(self, question: str, default: bool = True) -> bool: ...

    def select(self, question: str, choices: Sequence[str], default: str | None = None) -> str: ...

    def checkbox(
        self, question: str, choices: Sequence[str], checked: Sequence[str] = ()
    ) -> list[str]: ...

    def text(self, question: str, default: str = "") -> str: ...

    def secret(self, question: str) -> str: ...


class QuestionaryPrompter:
    def confirm(self, question: str, default: bool = True) -> bool:
        import questionary

        return bool(questionary.confirm(question, default=default).unsafe_ask())

    def select(self, question: str, choices: Sequence[str], default: str | None = None) -> str:
        import questionary

        return str(
            questionary.select(question, choices=list(choices), default=default).unsafe_ask()
        )

    def checkbox(
        self, question: str, choices: Sequence[str], checked: Sequence[str] = ()
    ) -> list[str]:
        import questionary

        items = [questionary.Choice(c, checked=c in checked) for c in choices]
        answer: Any = questionary.checkbox(question, choices=items).unsafe_ask()
        return [str(a) for a in answer]

    def text(self, question: str, default: str = "") -> str:
        import questionary

        return str(questionary.text(question, default=default).unsafe_ask())

    def secret(self, question: str) -> str:
        import questionary

        return str(questionary.password(question).unsafe_ask())


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


_override: Prompter | None = None


def default_prompter() -> Prompter:
    return _override or QuestionaryPrompter()


def use_prompter(prompter: Prompter | None) -> None:
    global _override
    _override = prompter
