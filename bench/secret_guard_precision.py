"""How well the secret guard separates secrets from what only looks like them, zh and en.

A labelled set is generated (fixed seed, no network, a few seconds):

* secrets: BIP-39 phrases from the ``mnemonic`` package (English, Chinese
  simplified and traditional, 12-24 words, valid checksums) written with
  various separators, groupings and numbering, alone, inside sentences and
  glued to the prose around them; private keys from random bytes (64 hex with
  and without 0x, WIF, xprv) in user sentences. Every secret is made up here,
  from the seeded generator so that the set and its figures repeat, or with
  ``--fresh`` from ``secrets`` (the operating system's randomness).
* look-alikes: transaction hashes labelled in zh/en, block-explorer URLs of many
  explorers, "the hash, not my private key", addresses (EVM, TRON, Bitcoin),
  order numbers, long Chinese and English prose, lists of English words and of
  Chinese short phrases, four-character idioms.

Each text goes through ``support_core.secret_guard.find_secrets``. A *leak* is a
secret with any character outside every match; a *false alarm* is a look-alike
with any match at all. Goals: 0 leaks, at most 0.5 % false alarms. Prints
``secret_guard leaks: N / M`` and ``secret_guard false alarms: P % (N / M)``
and a few examples of each failure (secrets truncated); exits 1 when a goal is
missed. ``--fresh`` checks that the figures hold for secrets never seen before.

The guard runs on the chat server's every message, so its slowest message
matters too: ``adversarial_inputs`` are messages of the longest length the
chat accepts built to make it work hardest (thousands of list characters in
short groups, BIP-39 words, 64-hex strings, deep numbering). Each shape is
drawn three times afresh and timed; the best of the three (the least disturbed
by other work on the machine) counts, and the slowest shape is printed as
``secret_guard worst case: T ms for 4000 chars (shape)``. Goal: at most 100 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import secrets
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import base58
import bech32
import jieba
from mnemonic import Mnemonic
from opencc import OpenCC

from support_core.patterns import count_han
from support_core.secret_guard import SecretMatch, find_secrets, redact

SEED = 20240521
SIZE = 1200  # cases per side (secrets, look-alikes)
MAX_LEAKS = 0
MAX_FALSE_ALARM_PCT = 0.5
EXAMPLES = 4
# The longest message the chat accepts (addons.channels.guard.MAX_MESSAGE_CHARS),
# and the goal for the slowest of the adversarial ones, in milliseconds.
MAX_MESSAGE_CHARS = 4000
MAX_WORST_MS = 100.0
WORST_CASE_DRAWS = 3

Span = tuple[int, int]


@dataclass(frozen=True)
class Case:
    """One labelled text: the spans of its secret (none for a look-alike)."""

    text: str
    family: str
    secret: tuple[Span, ...] = ()
    expecting_tx_hash: bool = False


@dataclass
class GuardScore:
    """The cases that failed, per side."""

    secrets: int = 0
    lookalikes: int = 0
    leaks: list[tuple[Case, list[SecretMatch]]] = field(default_factory=list)
    false_alarms: list[tuple[Case, list[SecretMatch]]] = field(default_factory=list)

    @property
    def false_alarm_pct(self) -> float:
        """False alarms as a percentage of the look-alikes."""
        return 100.0 * len(self.false_alarms) / max(1, self.lookalikes)

    @property
    def ok(self) -> bool:
        """Whether both goals are met."""
        return len(self.leaks) <= MAX_LEAKS and self.false_alarm_pct <= MAX_FALSE_ALARM_PCT


class _Text:
    """A text built piece by piece that remembers where the secret's pieces are."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[Span] = []

    def add(self, piece: str, *, secret: bool = False) -> _Text:
        if secret and piece:
            self.spans.append((self.length, self.length + len(piece)))
        self.parts.append(piece)
        self.length += len(piece)
        return self

    def case(self, family: str, *, expecting_tx_hash: bool = False) -> Case:
        return Case("".join(self.parts), family, tuple(self.spans), expecting_tx_hash)


# --------------------------------------------------------------------------- text pools

ZH_CLAUSES = (
    "我昨天从交易所提币到钱包", "到现在还没有到账", "页面一直显示处理中", "客服一直不回复我",
    "我已经等了三个多小时了", "请帮我查一下是什么原因", "是不是网络拥堵了", "手续费扣了但是币没到",
    "我换了新手机以后", "原来的钱包打不开了", "余额显示为零", "我很担心我的资产安全",
    "有人冒充客服加我微信", "让我点一个链接验证钱包", "我没有点那个链接", "现在应该怎么办",
    "转账的时候选错了网络", "能不能帮我找回来", "这笔钱对我很重要", "麻烦尽快处理一下",
    "我想把币换成别的币", "兑换一直失败", "提示滑点过大", "我已经重启过好几次了",
    "卸载重装也没有用", "更新以后就闪退", "打开就是白屏", "我的朋友说他转给我了",
    "但是我这边什么都没看到", "地址我核对过了没有错", "我想知道怎么备份钱包", "怎么设置交易密码",
    "忘记密码了怎么办", "能不能改绑手机号", "为什么要实名认证", "我在国外能不能用",
    "请问你们的工作时间", "我需要人工客服", "谢谢你们的帮助", "问题已经解决了",
    "授权以后币被转走了", "我不知道自己授权过什么", "怎么取消授权", "我的收藏品不见了",
    "今天早上我想买一点币", "结果一直提示余额不足", "我明明有钱", "是不是系统出问题了",
    "我妈妈让我帮她看看", "这是我第一次用数字钱包", "我对这个不太懂", "能不能说得详细一点",
    "我不太明白你的意思", "刚才那个方法不行", "还有别的办法吗", "我已经按照步骤操作了",
    "最后一步总是报错", "网络连接失败", "请稍后再试", "系统维护到几点", "上次也是这样",
    "你们能不能改进一下", "体验太差了", "我要投诉", "我会推荐给朋友", "非常感谢", "辛苦了",
    "转出去的币能不能撤回", "对方说没收到", "区块浏览器上显示成功", "可是钱包里没有记录",
    "我用的是安卓手机", "苹果手机也试过了", "是不是要开启什么权限", "充值的时候没有填备注",
    "交易所说要联系你们", "你们说要联系交易所", "我到底该找谁", "我的能量和带宽不够",
    "转账一直失败", "为什么要冻结那么多", "质押的收益什么时候发", "我想提前赎回",
    "理财产品到期了", "本金什么时候能回来", "空投的代币怎么领取", "我看不到新添加的代币",
    "合约地址是从官网复制的", "导入钱包以后余额不对", "我有两个钱包", "不知道币转到哪个里面了",
    "我把币转到了交易所的合约地址", "听说可以找回", "需要多长时间", "费用是多少",
)
ZH_SEED_CLAUSES = (
    "我的助记词丢了怎么办", "助记词是什么意思", "我没有把助记词告诉任何人",
    "客服让我提供助记词", "我应该把助记词写在纸上吗", "备份助记词的时候页面卡住了",
    "忘记助记词了还能找回吗", "助记词要不要截图保存", "我抄的助记词好像少了一个字",
    "导入助记词的时候提示无效", "有人问我要助记词", "我把助记词存在手机备忘录里了",
    "恢复短语和助记词是一样的吗", "种子短语要怎么备份", "我怀疑助记词被别人看到了",
)
ZH_CONNECTIVES = ("然后", "但是", "所以", "而且", "结果", "后来", "现在", "另外", "其实", "")
ZH_PUNCT = ("，", "，", "。", "！", "？", " ", "")
IDIOMS = (
    "一帆风顺", "万事如意", "心想事成", "身体健康", "恭喜发财", "年年有余", "步步高升", "大吉大利",
    "平安喜乐", "阖家欢乐", "马到成功", "一路顺风", "龙马精神", "吉祥如意", "财源广进", "花好月圆",
    "国泰民安", "风调雨顺", "五谷丰登", "笑口常开", "事半功倍", "画蛇添足", "守株待兔", "亡羊补牢",
    "对牛弹琴", "井底之蛙", "一石二鸟", "自相矛盾", "半途而废", "刻舟求剑", "掩耳盗铃", "杯弓蛇影",
    "滥竽充数", "胸有成竹", "卧薪尝胆", "破釜沉舟", "望梅止渴", "画龙点睛", "狐假虎威", "鹤立鸡群",
    "门庭若市", "四面楚歌", "一鸣惊人", "九牛一毛", "塞翁失马", "叶公好龙", "千钧一发", "半信半疑",
    "一心一意", "三心二意", "七上八下", "十全十美", "百发百中", "千方百计", "万无一失", "一目了然",
    "全力以赴", "精益求精", "实事求是", "与时俱进", "脚踏实地", "持之以恒", "循序渐进", "不慌不忙",
    "小心翼翼", "安然无恙", "来之不易", "迫在眉睫", "焦头烂额", "无可奈何", "束手无策", "不知所措",
    "心急如焚", "忧心忡忡", "提心吊胆", "恍然大悟", "如释重负", "喜出望外",
)
ZH_SHORT = (
    "首页", "行情", "交易", "资产", "我的", "设置", "钱包", "转账", "收款", "兑换", "提币", "充币",
    "质押", "理财", "空投", "历史记录", "地址簿", "安全中心", "帮助中心", "联系客服", "语言设置",
    "网络切换", "添加代币", "备份钱包", "导入钱包", "创建钱包", "交易记录", "手续费", "矿工费",
    "节点设置", "授权管理", "消息通知", "关于我们", "用户协议", "隐私政策", "版本更新", "清除缓存",
    "切换账户", "身份验证", "指纹解锁", "面容识别", "交易密码", "打开钱包", "点击资产", "选择币种",
    "点击提币", "输入地址", "输入数量", "确认转账", "输入密码", "等待确认", "查看记录", "复制地址",
    "扫码付款", "重新登录", "检查网络", "联系人工",
)
# Short clauses as people type them in a hurry, many of them outside jieba's dictionary.
ZH_CLAUSELETS = (
    "提币失败", "到账很慢", "客服不回", "怎么回事", "急急急", "在吗", "人呢", "有人吗", "救命",
    "钱没了", "被骗了", "怎么办", "求助", "谢谢", "好的", "收到", "明白了", "还是不行", "又失败了",
    "卡住了", "转圈圈", "没反应", "闪退了", "白屏了", "我要提币", "一直失败", "已经三天",
    "怎么处理",
    "你好客服", "我的钱包", "打不开了", "怎么办呢", "我想换币", "一直报错", "网络问题", "余额不对",
    "币不见了", "被盗了吗", "没收到", "转错了", "能退吗", "手续费高", "太慢了", "快点回复",
    "等了好久", "还没到", "查一下", "帮帮我", "拜托了", "麻烦了", "没到账", "充不进去", "提不出来",
)
EN_SENTENCES = (
    "Hi, I withdrew USDT from Binance to my wallet yesterday and it still has not arrived.",
    "The exchange says it was sent on TRC20.", "Can you check what happened?",
    "I can't open the app after the latest update, it just shows a white screen.",
    "I tried reinstalling it twice and restarting my phone but nothing works.",
    "Someone contacted me on Telegram saying they were from your support team.",
    "They asked me to verify my wallet by connecting it to a website.",
    "Is my wallet still safe, or should I move my coins to a new one right now?",
    "Why is the gas fee so high today?", "Is there a cheaper network I can use?",
    "My transaction has been pending for six hours.", "Can I cancel it or speed it up somehow?",
    "I lost my phone but I still have my backup written on paper.",
    "How do I restore my wallet on a new device?", "Will my tokens appear again automatically?",
    "Please answer in English.", "Thanks for the quick reply!", "That didn't help at all.",
    "I need to talk to a human agent.", "The swap failed but the fee was still charged.",
    "My balance shows zero even though the explorer shows the coins.",
    "I sent ETH to the wrong network, is there any way to get it back?",
    "Where can I find my transaction history?", "The QR code scanner does not work.",
    "How long does a withdrawal usually take?", "I never shared my recovery phrase with anyone.",
    "Somebody drained my wallet overnight.", "Should I revoke the approvals I gave?",
    "What does 'insufficient energy' mean on TRON?", "The app keeps asking me to update.",
    "I bought some tokens and they do not show up in the asset list.",
    "My friend says he sent me BNB but I do not see it.",
    "Can you explain what a seed phrase is and why I should never share it?",
    "I am worried because I typed my words into a website that looked like yours.",
)
EN_LIST_ITEMS = (
    "restart", "reinstall", "clear cache", "update the app", "switch network", "add token",
    "import wallet", "face ID", "notifications", "send", "receive", "swap", "bridge", "stake",
    "settings", "history", "backup", "dark mode", "language", "address book", "gas fee",
    "custom RPC", "hide balance", "export CSV", "price alerts", "browser", "NFT gallery",
    "wallet connect", "security check", "biometrics",
)
EN_INTROS = ("I tried: ", "Things I did so far: ", "Menu items that crash: ", "Steps: ", "")

EXPLORERS = (
    "https://etherscan.io/tx/0x{h}", "https://bscscan.com/tx/0x{h}",
    "https://polygonscan.com/tx/0x{h}", "https://arbiscan.io/tx/0x{h}",
    "https://optimistic.etherscan.io/tx/0x{h}", "https://basescan.org/tx/0x{h}",
    "https://snowtrace.io/tx/0x{h}", "https://www.oklink.com/eth/tx/0x{h}",
    "https://www.oklink.com/zh-hans/trx/tx/{h}", "https://tronscan.org/#/transaction/{h}",
    "https://tronscan.io/#/transaction/{h}", "https://nile.tronscan.org/#/transaction/{h}",
    "https://mempool.space/tx/{h}", "https://blockstream.info/tx/{h}",
    "https://blockchair.com/bitcoin/transaction/{h}",
    "https://blockchair.com/ethereum/transaction/0x{h}",
    "https://www.blockchain.com/explorer/transactions/btc/{h}",
    "https://live.blockcypher.com/btc/tx/{h}/", "https://explorer.btc.com/btc/transaction/{h}",
    "https://etherscan.io/tx/0x{h}#eventlog", "https://bscscan.com/tx/0x{h}?utm_source=app",
    "https://www.okx.com/web3/explorer/eth/tx/0x{h}", "https://sepolia.etherscan.io/tx/0x{h}",
    "https://etherscan.io/block/0x{h}", "https://mempool.space/block/00000000000000000{block}",
    "https://explorer.aptoslabs.com/txn/0x{h}?network=mainnet", "https://example-scan.net/hash/{h}",
    "https://www.tokenview.io/cn/tx/eth/0x{h}", "etherscan.io/tx/0x{h}", "bscscan.com/tx/{h}",
    "tronscan.org/#/transaction/{h}", "https://blockchair.com/search?q={h}",
    "https://solscan.io/tx/{sig}", "https://explorer.solana.com/tx/{sig}?cluster=mainnet",
    "https://tronscan.org/#/address/{tron}", "https://etherscan.io/address/{evm}",
    "https://mempool.space/address/{bc1}",
)


@cache
def _to_traditional() -> OpenCC:
    return OpenCC("s2t")


class Generator:
    """Makes the labelled cases from one seeded generator (secret bytes: see ``bytes``)."""

    def __init__(self, seed: int, fresh: bool = False) -> None:
        self.rng = random.Random(seed)
        self.fresh = fresh

    # ----------------------------------------------------------------- random values

    def bytes(self, n: int) -> bytes:
        """Secret material: seeded by default, from ``secrets`` with ``--fresh``."""
        return secrets.token_bytes(n) if self.fresh else self.rng.randbytes(n)

    def pick(self, items: tuple[str, ...] | list[str]) -> str:
        return self.rng.choice(items)

    def hex64(self) -> str:
        return self.bytes(32).hex()

    def words(self, language: str) -> list[str]:
        strength = self.rng.choice((128, 160, 192, 224, 256))
        phrase = Mnemonic(language).to_mnemonic(self.bytes(strength // 8))
        return unicodedata.normalize("NFC", phrase).split()

    def wif(self) -> str:
        version = self.rng.choice((0x80, 0x80, 0xEF))
        suffix = b"\x01" if self.rng.random() < 0.7 else b""
        return base58.b58encode_check(bytes([version]) + self.bytes(32) + suffix).decode()

    def xprv(self) -> str:
        prefix = bytes.fromhex(self.pick(("0488ade4", "049d7878", "04b2430c")))
        return base58.b58encode_check(prefix + self.bytes(74)).decode()

    def evm(self) -> str:
        return "0x" + self.rng.randbytes(20).hex()

    def tron(self) -> str:
        return base58.b58encode_check(b"\x41" + self.rng.randbytes(20)).decode()

    def btc(self) -> str:
        kind = self.rng.randrange(4)
        if kind < 2:
            payload = bytes([(0x00, 0x05)[kind]]) + self.rng.randbytes(20)
            return base58.b58encode_check(payload).decode()
        witver, size = ((0, 20), (0, 32), (1, 32))[self.rng.randrange(3)]
        address = bech32.encode("bc", witver, list(self.rng.randbytes(size)))
        assert address is not None
        return address

    def digits(self, n: int) -> str:
        return str(self.rng.randrange(10**(n - 1), 10**n))

    # ----------------------------------------------------------------- prose

    def zh_prose(self, clauses: int, seed_talk: bool = False) -> str:
        parts = []
        for i in range(clauses):
            pool = ZH_SEED_CLAUSES if seed_talk and i == 0 else ZH_CLAUSES
            parts.append(self.pick(ZH_CONNECTIVES) + self.pick(pool) if i else self.pick(pool))
            parts.append(self.pick(ZH_PUNCT))
        text = "".join(parts)
        return self.traditional(text) if self.rng.random() < 0.25 else text

    def traditional(self, text: str) -> str:
        return str(_to_traditional().convert(text))

    def en_prose(self, sentences: int) -> str:
        return " ".join(self.rng.sample(EN_SENTENCES, sentences))

    # ----------------------------------------------------------------- secrets

    def english_phrase(self) -> Case:
        language = self.pick(("english", "english", "spanish", "french"))
        words = self.words(language)
        # Typed without blanks, only an English phrase is told from a long word.
        style = self.rng.randrange(0 if language == "english" else 1, 7)
        before = self.pick(("", "my seed phrase is ", "Here are my recovery words: ",
                            "support told me to send my words:\n", "is this valid? ",
                            "我的助记词是 ", "帮我看看：", "hi, my 12 words: "))
        after = self.pick(("", " please help", "\nwhy is my balance zero?", " thanks",
                           "，谢谢", " 是不是被盗了"))
        text = _Text().add(before)
        if style == 0:
            text.add("".join(words), secret=True)
            return text.add(after).case("en-phrase-glued")
        if style == 1:
            words = [w.upper() for w in words]
        for i, word in enumerate(words):
            if i:
                text.add(self.pick((" ", ", ", "\n", " - ", ",")) if style < 4 else " ")
            if style in (4, 5):
                text.add(f"{i + 1}{'.' if style == 4 else ')'} ")
            if style == 6:
                text.add(("\n" if i else "") + f"{i + 1}. ")
            text.add(word, secret=True)
        return text.add(after).case(f"en-phrase-style{style}")

    def _groups(self, chars: list[str]) -> list[str]:
        """Chinese characters written in groups: of 1, 3, 4, 3-4 or 2-6."""
        how = self.rng.choice(((1,), (3,), (4,), (4,), (3, 4), (2, 3, 4, 5, 6)))
        while True:
            groups, i = [], 0
            while i < len(chars):
                size = self.rng.choice(how)
                groups.append("".join(chars[i : i + size]))
                i += size
            if len(groups) >= 3:
                return groups

    def chinese_phrase(self) -> Case:
        """A Chinese phrase separated, grouped or numbered, alone or inside prose."""
        language = self.pick(("chinese_simplified", "chinese_traditional"))
        chars = self.words(language)
        groups = self._groups(chars)
        sep = self.pick((" ", " ", "，", "、", "\u3000", ", ", "\n", " - ", "  "))
        numbering = self.rng.random() < 0.2 and len(groups[0]) == 1
        context = self.rng.random() < 0.5
        before = (
            self.pick(("我的助记词是", "助记词：", "这是我的助记词：", "客服让我发助记词",
                       "恢复短语是", "我的助記詞：", "seed phrase: "))
            if context else
            self.pick(("", "你帮我看看这个对不对", "我导入的时候输入的是", "帮我查一下",
                       "我转不出来了", self.zh_prose(2)))
        )
        after = self.pick(("", "然后我转不出来了", "请帮我看看", "，谢谢", "。为什么余额是零",
                           "我的币不见了", "是不是被盗了", "\n" + self.zh_prose(2)))
        glue_before = self.rng.random() < 0.5
        glue_after = self.rng.random() < 0.5
        text = _Text().add(before)
        if before and not glue_before:
            text.add(self.pick((" ", "：", "，", "\n")))
        for i, group in enumerate(groups):
            if i:
                text.add(sep)
            if numbering:
                text.add(self.pick((f"{i + 1}.", f"{i + 1}、", f"{i + 1}. ", f"({i + 1})")))
            for ch in group:
                text.add(ch, secret=True)
        if after and not glue_after and after[0] not in "，。\n":
            text.add(self.pick((" ", "，", "。")))
        glued = ("glued" if (glue_before and before) or (glue_after and after) else "apart")
        family = f"zh-phrase-{'numbered' if numbering else 'grouped'}-{glued}"
        return text.add(after).case(family)

    def chinese_phrase_unseparated(self) -> Case:
        """A phrase typed without any separator: only next to 助记词 or as the whole message."""
        chars = self.words(self.pick(("chinese_simplified", "chinese_traditional")))
        if self.rng.random() < 0.3:
            return _Text().add("".join(chars), secret=True).case("zh-phrase-whole-message")
        before = self.pick(("我的助记词是", "助记词：", "助记词", "恢复短语：", "這是我的助記詞"))
        after = self.pick(("", "，请帮我看看", "请帮我看看钱去哪了", "。"))
        text = _Text().add(before).add("".join(chars), secret=True).add(after)
        return text.case("zh-phrase-unseparated-context")

    def hex_key(self) -> Case:
        key = self.hex64()
        if self.rng.random() < 0.4:
            key = "0x" + key
        if self.rng.random() < 0.15:
            key = key.upper().replace("0X", "0x")
        labelled = (
            "my private key is {}", "private key: {}", "Private Key：{}", "{} is my private key",
            "私钥：{}", "我的私钥是{}", "这是我的私钥 {}", "{} 这个是私钥", "私钥{}，帮我看看",
            "I checked the transaction hash on the explorer and it failed. My private key is {}",
            "交易哈希我在浏览器上查过了，显示失败。我的私钥：{}",
            "this is my key, not the hash: {}", "这是私钥不是哈希：{}",
        )
        unlabelled = (
            "{}", "here: {}", "is this safe? {}", "I imported this {} and the balance is wrong",
            "帮我看看{}", "我导入了这个{}之后余额不对", "这个 {} 是什么", "{}\n是不是被盗了",
        )
        expecting = self.rng.random() < 0.2
        template = self.pick(labelled if expecting or self.rng.random() < 0.6 else unlabelled)
        head, tail = template.split("{}")
        text = _Text().add(head).add(key, secret=True).add(tail)
        return text.case("key-hex", expecting_tx_hash=expecting)

    def base58_key(self) -> Case:
        extended = self.rng.random() < 0.35
        key = self.xprv() if extended else self.wif()
        template = self.pick(("{}", "my key {}", "私钥 {}", "WIF: {}", "导出的是这个{}，安全吗",
                              "extended private key: {} ok?", "这个是{}"))
        head, tail = template.split("{}")
        text = _Text().add(head).add(key, secret=True).add(tail)
        return text.case("key-xprv" if extended else "key-wif")

    # ----------------------------------------------------------------- look-alikes

    def labelled_hash(self) -> Case:
        value = ("0x" if self.rng.random() < 0.5 else "") + self.hex64()
        template = self.pick((
            "txid {}", "TxID: {}", "tx hash {}", "Transaction hash: {}", "hash: {}", "hash={}",
            "txid={}", "here is the hash {}", "{} is the tx hash",
            "my withdrawal is stuck, txid {} please check",
            "The exchange gave me this TXID {} but my wallet shows nothing",
            "this is the hash, not my private key: {}",
            "It's the transaction hash (not my private key): {}",
            "not a private key, just the tx hash: {}", "tx hash (NOT the key) {}",
            "交易哈希：{}", "交易哈希是{}", "哈希 {}", "交易ID：{}", "txid：{}",
            "提币一直没到账，交易哈希 {} 帮忙查一下", "交易哈希（不是私钥）：{}",
            "这是交易哈希，不是私钥：{}", "不是私钥，是交易哈希：{}", "这个是哈希值不是私钥 {}",
            "交易所给我的哈希是{}，但是钱包里没有", "tx hash: {} (my private key was never shared)",
        ))
        return Case(template.format(value), "hash-labelled")

    def explorer_url(self) -> Case:
        url = self.pick(EXPLORERS).format(
            h=self.hex64(), block=self.hex64()[:47],
            sig=base58.b58encode(self.rng.randbytes(64)).decode(),
            tron=self.tron(), evm=self.evm(), bc1=self.btc(),
        )
        template = self.pick((
            "{}", "check this {}", "here: {} still pending",
            "the explorer says success {} but nothing arrived", "帮我看看这个 {}",
            "链接：{}，为什么还没到账", "浏览器显示成功了{}但是我没收到", "{}\n这笔转账到哪里去了",
            "我的提币记录 {} 交易所说已经发出", "({})",
        ))
        return Case(template.format(url), "hash-explorer-url")

    def expected_hash(self) -> Case:
        value = ("0x" if self.rng.random() < 0.5 else "") + self.hex64()
        template = self.pick(("{}", "{}", "这个 {}", "here {}", "是这个：{}", "{} 谢谢"))
        return Case(template.format(value), "hash-asked-for", expecting_tx_hash=True)

    def address(self) -> Case:
        value = self.pick((self.evm(), self.tron(), self.btc()))
        template = self.pick((
            "{}", "I sent 100 USDT to {} on ERC20", "收款地址 {}", "提币地址是{}，网络选的TRC20",
            "send it to {} please", "my BTC address {}", "这个地址{}对不对",
        ))
        return Case(template.format(value), "address")

    def numbers(self) -> Case:
        template = self.pick((
            "订单号 {d19}", "order #{d20}", "My order {d16} still shows processing",
            "订单编号：{d20}，金额 2000 USDT", "call me at +86 138 {d4} {d4}", "UID: {d9}",
            "amount {d10}.{d8}", "工单 T-{d6}，提交时间 2024-05-21 13:45:12", "错误码 0x{h8}",
            "备注 {h32}", "我的邀请码是{d8}",
        ))
        text = template.format(
            d4=self.digits(4), d6=self.digits(6), d8=self.digits(8), d9=self.digits(9),
            d10=self.digits(10), d16=self.digits(16), d19=self.digits(19), d20=self.digits(20),
            h8=self.rng.randbytes(4).hex(), h32=self.rng.randbytes(16).hex(),
        )
        return Case(text, "numbers")

    def chinese_prose(self) -> Case:
        seed_talk = self.rng.random() < 0.3
        text = self.zh_prose(self.rng.randint(2, 9), seed_talk=seed_talk)
        return Case(text, "zh-prose-seed-talk" if seed_talk else "zh-prose")

    def chinese_lists(self) -> Case:
        idioms = self.rng.random() < 0.5
        pool = IDIOMS if idioms else ZH_SHORT
        items = self.rng.sample(pool, self.rng.randint(3, 9))
        sep = self.pick(("，", "、", " ", "\u3000", "\n", "。", ", ", " / "))
        if self.rng.random() < 0.25:
            items = [f"{i + 1}.{item}" for i, item in enumerate(items)]
        text = sep.join(items)
        if self.rng.random() < 0.4:
            intro = "祝大家新年快乐：" if idioms else self.pick(("步骤：", "我点了", "菜单里有"))
            text = intro + text
        if self.rng.random() < 0.25:
            text = self.traditional(text)
        return Case(text, "zh-idioms" if idioms else "zh-short-phrases")

    def chinese_clauselets(self) -> Case:
        items = [self.pick(ZH_CLAUSELETS) for _ in range(self.rng.randint(3, 10))]
        text = self.pick((" ", "，", "、", "  ", "\n", "。", "！")).join(items)
        if self.rng.random() < 0.25:
            text = self.traditional(text)
        return Case(text, "zh-short-clauses")

    def english_text(self) -> Case:
        if self.rng.random() < 0.4:
            items = self.rng.sample(EN_LIST_ITEMS, self.rng.randint(3, 9))
            sep = self.pick((", ", " / ", "\n- ", "; ", " "))
            return Case(self.pick(EN_INTROS) + sep.join(items), "en-word-list")
        return Case(self.en_prose(self.rng.randint(1, 6)), "en-prose")

    # ----------------------------------------------------------------- the sets

    def secrets(self, size: int) -> list[Case]:
        makers: list[tuple[Callable[[], Case], int]] = [
            (self.english_phrase, 4), (self.chinese_phrase, 5),
            (self.chinese_phrase_unseparated, 1), (self.hex_key, 3), (self.base58_key, 2),
        ]
        return self._draw(makers, size)

    def lookalikes(self, size: int) -> list[Case]:
        makers: list[tuple[Callable[[], Case], int]] = [
            (self.labelled_hash, 2), (self.explorer_url, 2), (self.expected_hash, 1),
            (self.address, 1), (self.numbers, 1), (self.chinese_prose, 4),
            (self.chinese_lists, 2), (self.chinese_clauselets, 1), (self.english_text, 2),
        ]
        return self._draw(makers, size)

    def _draw(self, makers: list[tuple[Callable[[], Case], int]], size: int) -> list[Case]:
        weighted = [maker for maker, weight in makers for _ in range(weight)]
        return [self.rng.choice(weighted)() for _ in range(size)]


def generate(
    size: int = SIZE, seed: int = SEED, fresh: bool = False
) -> tuple[list[Case], list[Case]]:
    """``size`` secrets and ``size`` look-alikes, the same for the same seed (unless ``fresh``)."""
    generator = Generator(seed, fresh)
    return generator.secrets(size), generator.lookalikes(size)


def _covered(span: Span, matches: list[SecretMatch]) -> bool:
    return any(m.start <= span[0] and span[1] <= m.end for m in matches)


def evaluate(secret_cases: list[Case], lookalike_cases: list[Case]) -> GuardScore:
    """Run the guard over both sets and collect leaks and false alarms."""
    outcome = GuardScore(len(secret_cases), len(lookalike_cases))
    for case in secret_cases:
        matches = find_secrets(case.text, expecting_tx_hash=case.expecting_tx_hash)
        if not all(_covered(span, matches) for span in case.secret):
            outcome.leaks.append((case, matches))
    for case in lookalike_cases:
        matches = find_secrets(case.text, expecting_tx_hash=case.expecting_tx_hash)
        if matches:
            outcome.false_alarms.append((case, matches))
    return outcome


def _masked(case: Case, limit: int = 110) -> str:
    """The text with its secret cut to the first character, so no secret is printed."""
    text = case.text
    if case.secret:
        start, end = case.secret[0][0], case.secret[-1][1]
        text = f"{text[:start]}{text[start]}…[{end - start} chars]{text[end:]}"
    shown = text.replace("\n", "⏎")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _languages(cases: list[Case]) -> str:
    zh = sum(1 for case in cases if count_han(case.text))
    return f"zh {zh}, en {len(cases) - zh}"


def report(
    outcome: GuardScore, secret_cases: list[Case], lookalike_cases: list[Case], seconds: float
) -> None:
    """Print the figures and a few examples of each failure kind."""
    print(f"secret_guard cases: secrets={outcome.secrets} ({_languages(secret_cases)}) "
          f"look-alikes={outcome.lookalikes} ({_languages(lookalike_cases)}) time={seconds:.1f}s")
    print(f"secret_guard leaks: {len(outcome.leaks)} / {outcome.secrets} (goal {MAX_LEAKS})")
    print(f"secret_guard false alarms: {outcome.false_alarm_pct:.2f} % "
          f"({len(outcome.false_alarms)} / {outcome.lookalikes}) (goal <= {MAX_FALSE_ALARM_PCT} %)")
    for title, failures in (("leak", outcome.leaks), ("false alarm", outcome.false_alarms)):
        if not failures:
            continue
        families = Counter(case.family for case, _ in failures)
        print(f"  {title}s by family: " + ", ".join(f"{f}={n}" for f, n in families.most_common()))
        for case, matches in failures[:EXAMPLES]:
            reasons = ",".join(m.reason for m in matches) or "-"
            print(f"  {title} [{case.family}] matched={reasons}: {_masked(case)}")


# --------------------------------------------------------------------------- worst cases


def adversarial_inputs(seed: int = SEED) -> list[tuple[str, str]]:
    """Messages of ``MAX_MESSAGE_CHARS`` built to make the guard work hardest, with their shape.

    Chinese list characters in groups the guard must look at window by window
    (groups of one to six, glued runs after 助记词, numbering), BIP-39 words,
    64-hex strings bare, labelled and in explorer URLs, and all of them mixed.
    """
    rng = random.Random(seed)
    simplified = Mnemonic("chinese_simplified").wordlist
    traditional = Mnemonic("chinese_traditional").wordlist
    english = Mnemonic("english").wordlist

    def han(n: int, words: list[str] = simplified) -> str:
        return "".join(rng.choice(words) for _ in range(n))

    def groups(sizes: tuple[int, ...], sep: str = " ", words: list[str] = simplified) -> str:
        return sep.join(han(rng.choice(sizes), words) for _ in range(MAX_MESSAGE_CHARS))

    def hex64() -> str:
        return rng.randbytes(32).hex()

    labels = ("txid", "tx hash:", "不是私钥", "not my key", "私钥", "交易哈希")

    shapes = [
        ("grouped Han", groups((4,))),
        ("Han in groups of 3", groups((3,), "，")),
        ("single Han", groups((1,))),
        ("Han in groups of 2", groups((2,))),
        ("Han in groups of 1-6", groups((1, 2, 3, 4, 5, 6))),
        ("Han in groups of 5-6", groups((5, 6))),
        ("traditional and simplified Han", groups((1, 3, 4), " ", simplified + traditional)),
        ("long and short Han tokens", groups((1, 2, 7, 9))),
        ("grouped Han after 助记词", "助记词：" + groups((1, 2, 3, 4, 5, 6))),
        ("glued Han after 助记词", "助记词" + han(MAX_MESSAGE_CHARS)),
        ("glued Han, many 助记词", "".join(
            "助记词" if rng.random() < 0.02 else han(1) for _ in range(MAX_MESSAGE_CHARS)
        )),
        ("Han runs between letters", "x".join(
            " ".join(han(1) for _ in range(13)) for _ in range(MAX_MESSAGE_CHARS // 20)
        )),
        ("deeply numbered Han", "".join(
            f"{a}.{b}.{c}) {han(3)}\n" for a in range(1, 30) for b in range(1, 30)
            for c in range(1, 6)
        )),
        ("BIP-39 words", " ".join(rng.choice(english) for _ in range(MAX_MESSAGE_CHARS))),
        ("BIP-39 words glued", "".join(rng.choice(english) for _ in range(MAX_MESSAGE_CHARS))),
        ("numbered BIP-39 words", "\n".join(
            f"{i}. {rng.choice(english)}" for i in range(1, MAX_MESSAGE_CHARS)
        )),
        ("64-hex", " ".join(hex64() for _ in range(100))),
        ("64-hex labelled", " ".join(
            f"{rng.choice(labels)} {hex64()}" for _ in range(100)
        )),
        ("64-hex in explorer URLs", "".join(
            f"https://etherscan.io/tx/0x{hex64()}," for _ in range(100)
        )),
        ("mixed", " ".join(rng.choice((
            han(1), han(4), rng.choice(english), hex64(), "1.", "助记词", "私钥", "txid"
        )) for _ in range(MAX_MESSAGE_CHARS))),
    ]
    return [(shape, text[:MAX_MESSAGE_CHARS]) for shape, text in shapes]


def worst_case(seed: int = SEED, draws: int = WORST_CASE_DRAWS) -> tuple[float, str]:
    """The slowest shape of ``adversarial_inputs``, as (milliseconds, shape).

    Each shape is drawn ``draws`` times from different seeds, so that nothing the
    guard keeps from one message helps with the next, and the fastest draw counts.
    """
    best: dict[str, float] = {}
    for draw in range(draws):
        for shape, text in adversarial_inputs(seed + draw):
            started = time.perf_counter()
            redact(text)
            elapsed = 1000 * (time.perf_counter() - started)
            best[shape] = min(best.get(shape, elapsed), elapsed)
    shape = max(best, key=best.__getitem__)
    return best[shape], shape


def _hash_of_sets(secret_cases: list[Case], lookalike_cases: list[Case]) -> str:
    digest = hashlib.sha256()
    for case in secret_cases + lookalike_cases:
        digest.update(case.text.encode())
    return digest.hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    """Generate, measure and report; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=SIZE, help="cases per side")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--fresh", action="store_true", help="secrets from the secrets module")
    args = parser.parse_args(argv)
    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter
    started = time.perf_counter()
    secret_cases, lookalike_cases = generate(args.size, args.seed, args.fresh)
    fingerprint = "fresh" if args.fresh else _hash_of_sets(secret_cases, lookalike_cases)
    print(f"secret_guard set seed={args.seed} fingerprint={fingerprint}")
    outcome = evaluate(secret_cases, lookalike_cases)
    report(outcome, secret_cases, lookalike_cases, time.perf_counter() - started)
    worst_ms, shape = worst_case(args.seed)
    print(f"secret_guard worst case: {worst_ms:.0f} ms for {MAX_MESSAGE_CHARS} chars ({shape}) "
          f"(goal <= {MAX_WORST_MS:.0f} ms)")
    return 0 if outcome.ok and worst_ms <= MAX_WORST_MS else 1


if __name__ == "__main__":
    sys.exit(main())
