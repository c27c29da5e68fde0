"""What ``support-bot import`` checks labelled examples against: the domain's intents, the
training examples (data/nlu) and the evaluation split (tests/nlu_eval), by normal form."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from support_bot.common.errors import TrainingDataError
from support_bot.common.project import Project
from support_bot.common.textnorm import normalise
from support_bot.common.training_data import Example, domain_intents, read_examples


@dataclass
class TrainingIndex:
    """What the import checks labelled examples against."""

    intents: frozenset[str]
    training: list[Example]
    evaluation: list[Example]
    _training_by_norm: dict[str, Example] = field(init=False, repr=False)
    _evaluation_by_norm: dict[str, Example] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Index the examples by their normal form (the first one written wins)."""
        self._training_by_norm = {}
        for example in self.training:
            self._training_by_norm.setdefault(normalise(example.text), example)
        self._evaluation_by_norm = {}
        for example in self.evaluation:
            self._evaluation_by_norm.setdefault(normalise(example.text), example)

    def training_match(self, text: str) -> Example | None:
        """The training example ``text`` duplicates after normalisation."""
        return self._training_by_norm.get(normalise(text))

    def evaluation_match(self, text: str) -> Example | None:
        """The evaluation example ``text`` duplicates after normalisation."""
        return self._evaluation_by_norm.get(normalise(text))

    def home_file(self, intent: str) -> Path | None:
        """The topic file holding the intent's examples (the one with most, if several)."""
        counts = Counter(example.path for example in self.training if example.intent == intent)
        if not counts:
            return None
        return min(counts, key=lambda path: (-counts[path], str(path)))


def load_index(project: Project) -> TrainingIndex:
    """Domain intents, training examples (data/nlu) and the evaluation split (tests/nlu_eval)."""
    if not project.nlu_dir.is_dir():
        raise TrainingDataError(f"no training data folder at {project.nlu_dir}")
    evaluation = read_examples(project.eval_dir) if project.eval_dir.is_dir() else []
    return TrainingIndex(
        intents=domain_intents(project.domain),
        training=read_examples(project.nlu_dir),
        evaluation=evaluation,
    )
