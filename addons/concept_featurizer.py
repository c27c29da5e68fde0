"""NLU featurizer that marks the wallet-support concepts a message speaks of.

Users name one thing in many ways and in two languages: a withdrawal is 提币, 提现,
"withdraw", "cash out"; a frozen account is 冻结, 封号, "banned", "suspended". Word
and character n-grams learn each wording separately, from the few examples that
happen to use it. This featurizer adds one feature per concept of a small,
hand-written bilingual lexicon (:data:`CONCEPTS`), so that what the classifier
learns from "提币" also applies to "cash out", and a wording the examples never used
is still recognised by its concept.

Matching reads the message as Simplified Chinese, ignores case, and takes an
English word only where it starts a word ("stak" matches "staking", not
"mistake"). The sentence feature of a concept is 1 when it occurs anywhere; each
token's sequence feature is 1 for the concepts whose match overlaps it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from support_core.chinese_script import to_simplified

# concept: (Chinese phrases, English word beginnings). Both are regular expressions;
# an English one must start at a word boundary and may say where it ends with \b.
CONCEPTS: dict[str, tuple[str, str]] = {
    "withdraw": (
        r"提币|提现|提出|取出|提到",
        r"withdr|cash(ed|ing)? ?out\b",
    ),
    "deposit": (
        r"充值|充币|入金|存入|充进|转入|充到",
        r"deposit|top(ped)?[ -]?up|fund(ed)? my\b",
    ),
    "arrive": (
        r"到账|没到|未到|收到|入账|没显示",
        r"arriv|show(s|n|ed|ing)? up\b|received|credited|landed|reflect",
    ),
    "pending": (
        r"确认中|处理中|待确认|审核中|卡住|卡在|一直在转",
        r"pending|stuck|unconfirmed|processing|confirming|hang",
    ),
    "failed": (
        r"失败|报错|错误|不成功|出错|没成功",
        r"fail|error|revert|reject|declin|unsuccessful|won'?t go through",
    ),
    "fee": (
        r"手续费|矿工费|燃料费|费用|收费|扣费|gas",
        r"fees?\b|gas\b|cost|charg",
    ),
    "limit": (
        r"限额|上限|下限|最多|最少|最低|最高|额度",
        r"limit|minimum|maximum|at most\b|at least\b|cap\b|how much can",
    ),
    "rule": (
        r"规则|条款|协议|政策|规定|认证|实名|kyc",
        r"polic|rules?\b|terms\b|regulat|allowed|permit|eligib|kyc|verif(y|"
        r"ication) (my )?identity",
    ),
    "swap": (
        r"闪兑|兑换|滑点|报价|换成|换币",
        r"swap|convert|slippage|quote|exchange \w+ (for|to|into)\b",
    ),
    "stake": (
        r"质押|理财|收益|赎回|锁仓|解锁|挖矿|利息|定期|活期",
        r"stak|earn|reward|apy\b|apr\b|yield|redeem|redemption|unstak|"
        r"lock-?up|savings|interest\b",
    ),
    "transfer": (
        r"转账|转给|发送|转出|汇款|转币|打币",
        r"transfer|send|sent\b|sending",
    ),
    "balance": (
        r"余额|资产|少了|不对|对不上|变少|变成0|归零",
        r"balance|wrong amount|less than|shows? (zero|0)\b|missing funds",
    ),
    "history": (
        r"记录|明细|账单|历史|流水",
        r"histor|record|statement|activity|transaction list",
    ),
    "login": (
        r"登录|登陆|登不|登入|验证码|谷歌验证|二次验证",
        r"log ?in|sign ?in|log me in|2fa\b|otp\b|authenticator|"
        r"verification code",
    ),
    "password": (
        r"密码|口令",
        r"password|passcode|pin\b",
    ),
    "locked": (
        r"冻结|锁定|封号|被封|禁用|停用|限制登录",
        r"froze|freez|locked|lock(ed)? out|suspend|disabled|banned|ban\b|"
        r"restricted|deactivat",
    ),
    "stolen": (
        r"被盗|盗走|被转走|不是我转|没授权|黑客|被清空|偷",
        r"hack|stole|drain|unauthori[sz]ed|didn'?t make|did not make|emptied|"
        r"compromised",
    ),
    "scam": (
        r"骗|钓鱼|假的|假冒|冒充|诈骗|可疑|空投链接",
        r"scam|phish|fake|impersonat|suspicious|fraud|airdrop link",
    ),
    "official": (
        r"官方|官网|正规|真的吗|是你们的吗|是不是你们",
        r"official|legit|genuine|authentic|verified|real\b|run by you|yours\b",
    ),
    "contact": (
        r"客服|联系|帮助中心|反馈|在线支持",
        r"contact|support\b|help ?cent|reach (you|out)|get in touch|email you",
    ),
    "human": (
        r"人工|真人|活人|客服人员|转人工|专员",
        r"human|agent|real person|representative|operator|someone real|"
        r"a person\b",
    ),
    "bot": (
        r"机器人|人工智能|自动回复",
        r"bot\b|robot|machine|automated|ai\b|chatgpt|script",
    ),
    "ticket": (
        r"工单|单子|申请单|表单",
        r"ticket|case\b|form\b|request number",
    ),
    "status": (
        r"进展|进度|状态|处理了吗|回复|有人看",
        r"status|progress|any news|looked at|heard back|update on",
    ),
    "cancel": (
        r"取消|不用了|算了|别提交|不要提交|撤销|撤回|不提交",
        r"cancel|never ?mind|forget (it|about)|don'?t (submit|file|bother)|"
        r"stop\b|abort|drop it|no need",
    ),
    "correct": (
        r"改一下|改成|修改|更正|写错|填错|换一个|应该是",
        r"correct|change|edit\b|fix the|update the|meant\b|should (be|say)\b|"
        r"typo",
    ),
    "appeal": (
        r"申诉|投诉|复核|不服|抗议|重新审核",
        r"appeal|complain|object|formal review|review (the|my|this) (decision|"
        r"case)|reconsider",
    ),
    "trade": (
        r"订单|卖家|买家|商家|成交|爆仓|强平|插针|合约|挂单|p2p|c2c|otc",
        r"order|trade|seller|buyer|fill(ed)?\b|liquidat|counterparty|merchant|"
        r"p2p\b|otc\b",
    ),
    "app": (
        r"闪退|卡死|白屏|黑屏|打不开|崩溃|加载|界面|页面|按钮|转圈|更新",
        r"app\b|crash|freez|load|screen|blank|button|spinn|version|update|"
        r"glitch",
    ),
    "announce": (
        r"维护|公告|宕机|故障|升级|通知|大面积|服务器",
        r"maintenance|outage|announc|down\b|downtime|incident|upgrade|server",
    ),
    "yes": (
        r"^(是|对|好|嗯|行|可以|没错|没问题)|好的|可以了|解决了|搞定|没问题了",
        r"^(ok|okay|yes|yeah|yep|yup|sure|right|correct|exactly)\b|"
        r"that did it|worked|works now|fixed|solved",
    ),
    "no": (
        r"^(不|没|否)|不行|不是|没用|还是|仍然|依旧|不对",
        r"^(no|nope|nah|not)\b|still\b|didn'?t help|not working|doesn'?t work|"
        r"not really|no luck",
    ),
    "hello": (
        r"你好|您好|在吗|哈喽|嗨|早上好|晚上好|下午好|有人吗",
        r"hello|hi\b|hey|good (morning|evening|afternoon)|anyone there|howdy",
    ),
    "bye": (
        r"再见|拜拜|回头见|先这样|下次|明天见|晚安",
        r"bye|see (you|ya)\b|later\b|good ?night|take care|that'?s all",
    ),
    "thanks": (
        r"谢|感谢|多谢|辛苦|麻烦你了",
        r"thank|thx\b|appreciat|grateful|cheers|ty\b",
    ),
    "secret": (
        r"助记词|私钥|密钥",
        r"seed|mnemonic|private key|recovery phrase|secret phrase",
    ),
    "question": (
        r"吗|怎么|如何|什么|多少|哪里|哪儿|为什么|是否|能不能|可以.{0,4}吗|[?？]",
        r"how\b|what\b|where\b|why\b|which\b|when\b|can i\b|is there\b|"
        r"do you\b|\?",
    ),
}


def _compile(chinese: str, english: str) -> re.Pattern[str]:
    return re.compile(f"(?:{chinese})|(?<![a-z0-9])(?:{english})", re.IGNORECASE)


PATTERNS: dict[str, re.Pattern[str]] = {
    name: _compile(chinese, english) for name, (chinese, english) in CONCEPTS.items()
}
NAMES: tuple[str, ...] = tuple(PATTERNS)


def _readable(text: str) -> str:
    """The text in Simplified Chinese where that keeps its length (offsets must hold)."""
    simplified = to_simplified(text)
    return simplified if len(simplified) == len(text) else text


def concept_spans(text: str) -> dict[str, list[tuple[int, int]]]:
    """Where each concept occurs in ``text``: its name and the (start, end) of each match."""
    readable = _readable(text)
    spans: dict[str, list[tuple[int, int]]] = {}
    for name, pattern in PATTERNS.items():
        found = [m.span() for m in pattern.finditer(readable) if m.end() > m.start()]
        if found:
            spans[name] = found
    return spans


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class ConceptFeaturizer(SparseFeaturizer, GraphComponent):
    """Adds one sparse feature per concept of :data:`CONCEPTS` to the ``text``."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Tokens are needed for the sequence features."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Only the featurizer's alias (its name in the features' origin)."""
        return SparseFeaturizer.get_default_config()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to validate."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ConceptFeaturizer:
        """Create the featurizer; the lexicon is part of the code."""
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str) -> None:
        """Keep the configuration (the alias) and the node name."""
        super().__init__(name, config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example's text."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Add each message's concept features."""
        for message in messages:
            text = message.get(TEXT)
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not text or not tokens:
                continue
            sequence, sentence = self.features(text, [(t.start, t.end) for t in tokens])
            self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    @staticmethod
    def features(
        text: str, token_spans: list[tuple[int, int]]
    ) -> tuple[scipy.sparse.coo_matrix, scipy.sparse.coo_matrix]:
        """Sequence (one row per token) and sentence (one row) concept features."""
        sequence = scipy.sparse.lil_matrix((len(token_spans), len(NAMES)), dtype=np.float32)
        sentence = scipy.sparse.lil_matrix((1, len(NAMES)), dtype=np.float32)
        found = concept_spans(text)
        for column, name in enumerate(NAMES):
            if name not in found:
                continue
            sentence[0, column] = 1.0
            for row, (start, end) in enumerate(token_spans):
                if any(start < m_end and m_start < end for m_start, m_end in found[name]):
                    sequence[row, column] = 1.0
        return sequence.tocoo(), sentence.tocoo()
