"""Exception types of the maintainers' tool; the CLI maps each to a message and an exit code."""

from __future__ import annotations


class SupportBotError(Exception):
    """Base class: something the maintainer has to fix before the command can run."""


class UsageError(SupportBotError):
    """An option or argument has a value the command cannot use."""


class StoreMissing(SupportBotError):
    """A database (tracker store or handoff database) does not exist or lacks its tables."""


class LabelFileError(SupportBotError):
    """The file to import is not the Rasa NLU YAML the export writes."""


class TrainingDataError(SupportBotError):
    """The project's training data cannot be read or edited as expected."""


class RasaCommandFailed(SupportBotError):
    """A ``rasa`` subprocess exited with an error."""

    def __init__(self, command: str, returncode: int, log_tail: str) -> None:
        """Remember what ran, how it ended and the end of its output."""
        super().__init__(f"`{command}` exited with code {returncode}")
        self.command = command
        self.returncode = returncode
        self.log_tail = log_tail


class ModelReloadFailed(SupportBotError):
    """The running Rasa server did not load the promoted model."""
