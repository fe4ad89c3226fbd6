"""The prompter seam: commands ask questions through a `Prompter`, tests script the answers
(tests/prompter.py), and `confirm` is the one yes/no question every command asks the same way.

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


_override: Prompter | None = None


def default_prompter() -> Prompter:
    return _override or QuestionaryPrompter()


def use_prompter(prompter: Prompter | None) -> None:
    global _override
    _override = prompter


def confirm(
    question: str,
    *,
    yes: bool,
    no_input: bool,
    default: bool = True,
    what: str = "confirmation to change these files",
    prompter: Prompter | None = None,
) -> bool:
    """The one confirmation: --yes answers it; without a terminal it is exit 2 naming --yes.
    A `prompter` given (the wizard's, or a test's script) stands for the terminal."""
    if yes:
        return True
    if prompter is None:
        from dot_setup.ui.terminal import interactive

        if not interactive(no_input):
            from dot_setup.errors import NeedsInputError

            raise NeedsInputError("--yes", what)
    return (prompter or default_prompter()).confirm(question, default=default)
