"""A tokenizer for Chinese, English and the mix of both that users type."""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from support_core.chinese_script import to_simplified
from support_core.patterns import looks_like_address

_HASH = re.compile(r"^(0x)?[0-9a-fA-F]{32,}$")


def _generalise(token: Token) -> Token:
    """The token, or a placeholder standing for a hash or an address."""
    if looks_like_address(token.text):
        replacement = "walletaddress"
    elif _HASH.match(token.text):
        replacement = "txhash"
    else:
        return token
    return Token(replacement, token.start, token.end, lemma=replacement)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class MixedTextTokenizer(JiebaTokenizer):
    """Jieba tokenizer that drops blank and punctuation-only tokens.

    Jieba returns spaces as tokens in mixed text ("USDT提币一直pending 都三小时了"),
    and those would otherwise become features of their own.
    """

    @staticmethod
    def supported_languages() -> list[str] | None:
        """Any language: Jieba keeps Latin words whole."""
        return None

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokenize like Jieba, without tokens that carry no letters or digits.

        Traditional Chinese is segmented in its Simplified form, and each token's
        lemma (what the featurizers read) is Simplified; token texts and offsets
        stay those of the user's message. Hashes and addresses become one
        placeholder token each: their random characters would otherwise flood
        the character n-gram features.
        """
        tokens = [_generalise(t) for t in self._jieba_tokens(message.get(attribute) or "")]
        kept = [t for t in tokens if any(ch.isalnum() for ch in t.text)]
        if kept:
            return kept
        # Rasa needs at least one token per message (e.g. "???" or "👍").
        return tokens[:1] if tokens else tokens

    def _jieba_tokens(self, text: str) -> list[Token]:
        import jieba

        simplified = to_simplified(text)
        if len(simplified) != len(text):  # a phrase changed length: offsets would not match
            simplified = text
        tokens = [
            Token(text[start:end], start, end, lemma=word)
            for word, start, end in jieba.tokenize(simplified)
        ]
        return self._apply_token_pattern(tokens)

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Same configuration as Jieba's."""
        return JiebaTokenizer.get_default_config()

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MixedTextTokenizer:
        """Load, and build Jieba's dictionary now rather than on the first user's message."""
        import jieba

        jieba.initialize()
        return super().load(config, model_storage, resource, execution_context, **kwargs)
