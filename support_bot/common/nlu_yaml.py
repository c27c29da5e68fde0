"""Read Rasa NLU YAML with the line number of every example.

PyYAML's node tree keeps positions; an ``examples: |`` literal block keeps
its lines one to one, so the n-th line of the block is n lines below the
line holding the ``|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from support_bot.common.errors import LabelFileError

_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class ExampleLine:
    """One example as written: its text (``None`` when the line is not ``- text``)."""

    text: str | None
    line: int
    raw: str


@dataclass(frozen=True)
class IntentBlock:
    """One ``- intent:`` item; ``intent`` is ``None`` when the name was left empty."""

    intent: str | None
    line: int
    examples: tuple[ExampleLine, ...]


@dataclass(frozen=True)
class OtherItem:
    """An ``nlu`` item that is not an intent (synonym, regex, lookup)."""

    kind: str
    line: int


@dataclass(frozen=True)
class NluDocument:
    """The items of one NLU YAML file."""

    intents: tuple[IntentBlock, ...]
    others: tuple[OtherItem, ...]


def _mapping(node: MappingNode) -> dict[str, Node]:
    return {str(key.value): value for key, value in node.value if isinstance(key, ScalarNode)}


def _example_line(raw: str, line: int) -> ExampleLine:
    stripped = raw.strip()
    if stripped == "-":
        return ExampleLine("", line, raw)
    if stripped.startswith("- "):
        return ExampleLine(stripped[2:].strip(), line, raw)
    return ExampleLine(None, line, raw)


def _examples(node: Node | None) -> tuple[ExampleLine, ...]:
    if node is None:
        return ()
    if isinstance(node, ScalarNode):
        if node.tag == _NULL_TAG:
            return ()
        literal = node.style == "|"
        # 1-based number of the block's first line: the line after the "|".
        first = node.start_mark.line + 2 if literal else node.start_mark.line + 1
        found = []
        for offset, raw in enumerate(str(node.value).split("\n")):
            if raw.strip():
                found.append(_example_line(raw, first + offset if literal else first))
        return tuple(found)
    if isinstance(node, SequenceNode):
        # The long form: "- text: ..." items, each possibly with metadata.
        found = []
        for item in node.value:
            fields = _mapping(item) if isinstance(item, MappingNode) else {}
            text_node = fields.get("text")
            line = item.start_mark.line + 1
            if isinstance(text_node, ScalarNode):
                found.append(ExampleLine(str(text_node.value).strip(), line, str(text_node.value)))
            else:
                found.append(ExampleLine(None, line, ""))
        return tuple(found)
    return (ExampleLine(None, node.start_mark.line + 1, ""),)


def parse_nlu(text: str, source: str) -> NluDocument:
    """The intent blocks and other items of the NLU YAML ``text`` (read from ``source``).

    Raises:
        LabelFileError: the text is not YAML, or not shaped like Rasa NLU data.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise LabelFileError(f"{source} is not valid YAML: {exc}") from None
    if root is None:
        return NluDocument((), ())
    if not isinstance(root, MappingNode):
        raise LabelFileError(f"{source}: expected a mapping with an `nlu:` list at the top")
    nlu = _mapping(root).get("nlu")
    if nlu is None or (isinstance(nlu, ScalarNode) and nlu.tag == _NULL_TAG):
        return NluDocument((), ())
    if not isinstance(nlu, SequenceNode):
        raise LabelFileError(f"{source} line {nlu.start_mark.line + 1}: `nlu:` must be a list")
    intents: list[IntentBlock] = []
    others: list[OtherItem] = []
    for item in nlu.value:
        line = item.start_mark.line + 1
        if not isinstance(item, MappingNode):
            raise LabelFileError(f"{source} line {line}: each `nlu:` item must be a mapping")
        fields = _mapping(item)
        intent_node = fields.get("intent")
        if intent_node is None:
            kind = next(iter(fields), "unknown")
            others.append(OtherItem(kind, line))
            continue
        name: str | None = None
        if isinstance(intent_node, ScalarNode) and intent_node.tag != _NULL_TAG:
            name = str(intent_node.value).strip() or None
        intents.append(
            IntentBlock(name, intent_node.start_mark.line + 1, _examples(fields.get("examples")))
        )
    return NluDocument(tuple(intents), tuple(others))
