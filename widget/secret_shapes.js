/*
 * Secret-looking text, recognised in the browser before anything is stored.
 *
 * The server is the one that really finds secrets (support_core/secret_guard.py,
 * with the BIP-39 word lists and checksums): it replaces them before Rasa sees
 * the message and says so in the acknowledgement of user_uttered. This file
 * only has to answer, cheaply and without word lists, "could this message
 * hold a seed phrase or a private key?", for two uses:
 *
 * - Storage. A message that could hold one is kept in memory only until the
 *   server has acknowledged it (and then stored as the server kept it). This
 *   check is deliberately broad: a false positive costs little (that one
 *   message is not saved on the device before its acknowledgement, so it is
 *   lost if the page is closed while offline), a false negative would leave a
 *   secret in the browser's storage. So any run of twelve words of three to
 *   ten letters counts, as does a long run of Chinese characters in a message
 *   that talks about a seed phrase, or a whole message of 12-24 of them.
 * - Display. The shapes that are hardly ever anything else are masked in the
 *   user's bubble at once (the "sure" spans), before the server answers; the
 *   acknowledgement then puts the server's text in their place, or the text as
 *   typed when the server found nothing.
 *
 * window.walletSupportSecretShapes.find(text, {expectingHash}) returns the
 * spans [{start, end, kind: "seed_phrase" | "private_key", han, sure}];
 * .mask(text, spans) replaces the sure ones by the server's placeholders.
 */
(function () {
  "use strict";

  var MIN_WORDS = 12;
  var HAN_CLASS = "\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\u{20000}-\\u{2fa1f}";
  var HAN_RUN_RE = new RegExp("[" + HAN_CLASS + "]+", "gu");
  // Words of any alphabet (Latin, Cyrillic, kana, hangul), Chinese characters excluded.
  var WORD_RE = new RegExp("(?:(?![" + HAN_CLASS + "])[\\p{L}\\p{M}])+", "gu");
  var LETTER_RE = /[\p{L}]/u;
  var HANGUL_RE = /^[\p{Script=Hangul}]+$/u;
  var ASCII_WORD_RE = /^[a-z]{3,8}$/; // the English list's words are 3-8 letters
  var GLUED_LATIN_RE = /(?:^|[^A-Za-z])([A-Za-z]{36,})(?![A-Za-z])/g;
  var HEX64_RE = /(?:^|[^0-9A-Za-z])((?:0[xX])?[0-9a-fA-F]{64})(?![0-9A-Za-z])/g;
  var B58 = "[1-9A-HJ-NP-Za-km-z]";
  var WIF_RE = new RegExp("(?:^|[^0-9A-Za-z])((?:5" + B58 + "{50}|[KLc]" + B58 + "{51}|9" + B58 +
    "{50}))(?![0-9A-Za-z])", "g");
  var XPRV_RE = new RegExp("(?:^|[^0-9A-Za-z])([xyzYZtuvUV]prv" + B58 + "{100,112})(?![0-9A-Za-z])",
    "g");
  // The server's labels (support_core/secret_guard.py): a hex string next to
  // "TxID" is a hash, next to "private key" a key; the nearest label wins.
  var HASH_LABEL_RE = new RegExp("(" + [
    "tx\\s*id", "txid", "txn", "tx\\s*hash", "hash", "transaction\\s*id", "哈希", "交易\\s*id",
    "交易号", "交易\\s*hash", "交易编号", "区块浏览器", "explorer", "signature", "签名"
  ].join("|") + ")", "gi");
  var KEY_LABEL_RE = new RegExp("(" + [
    "private\\s*key", "priv\\s*key", "secret\\s*key", "(?<![A-Za-z])(?:key|wif|seed)(?![A-Za-z])",
    "私钥", "密钥", "秘钥", "私匙", "keystore"
  ].join("|") + ")", "gi");
  var LABEL_WINDOW = 40;
  // Words that say the message is about a seed phrase (the server's list).
  var SEED_CONTEXT_RE = new RegExp("(" + [
    "助记词", "助記詞", "恢复短语", "恢復短語", "种子", "種子", "备份词", "備份詞", "密语", "seed",
    "mnemonic", "recovery\\s*phrase", "secret\\s*phrase", "backup\\s*phrase", "12\\s*words",
    "24\\s*words", "12个词", "24个词"
  ].join("|") + ")", "i");
  // Common English words that are in no BIP-39 list: a run with one of them is
  // prose, not masked before the server answers (it still is not stored early).
  var PROSE_WORDS = {};
  ("the and for but not are was were with has had from them their why how could would should " +
    "did does done been than these those after who which your our its his her him she out some " +
    "here while most many even every each too got get sent send received arrived withdraw " +
    "withdrawal money usdt wallet hash transaction yesterday tried thanks").split(" ").forEach(
    function (word) {
      PROSE_WORDS[word] = true;
    });

  var PLACEHOLDERS = {
    seed: "[redacted seed phrase]",
    seedZh: "[已隐藏的助记词]",
    key: "[redacted private key]"
  };

  /** Between two words of a phrase: blanks, punctuation, list numbering; never letters. */
  function separatorOnly(text) {
    return !LETTER_RE.test(text);
  }

  function matches(re, text) {
    var out = [];
    var m;
    re.lastIndex = 0;
    while ((m = re.exec(text)) !== null) {
      out.push(m);
      if (m[0] === "") re.lastIndex += 1;
    }
    return out;
  }

  /** A group's span: {start, end} of the captured part of a boundary-prefixed match. */
  function captured(m) {
    var start = m.index + m[0].length - m[1].length;
    return { start: start, end: start + m[1].length };
  }

  function isPhraseWord(word) {
    var length = Array.from(word).length;
    if (HANGUL_RE.test(word)) return length >= 2 && length <= 4;
    return length >= 3 && length <= 10;
  }

  function isSureWord(word) {
    var lower = word.toLowerCase();
    return ASCII_WORD_RE.test(lower) && !PROSE_WORDS[lower];
  }

  /** Runs of 12+ words of word-list length with nothing but separators between them. */
  function wordRuns(text, spans) {
    var words = matches(WORD_RE, text);
    var run = [];

    function close() {
      if (run.length >= MIN_WORDS) {
        var sure = run.every(function (m) {
          return isSureWord(m[0]);
        });
        spans.push({
          start: run[0].index,
          end: run[run.length - 1].index + run[run.length - 1][0].length,
          kind: "seed_phrase",
          han: false,
          sure: sure
        });
      }
      run = [];
    }

    words.forEach(function (m) {
      if (!isPhraseWord(m[0])) {
        close();
        return;
      }
      var previous = run[run.length - 1];
      if (previous && !separatorOnly(text.slice(previous.index + previous[0].length, m.index))) {
        close();
      }
      run.push(m);
    });
    close();
  }

  /** An English phrase typed without spaces ("abandonabilityable..."). */
  function gluedLatin(text, spans) {
    matches(GLUED_LATIN_RE, text).forEach(function (m) {
      var span = captured(m);
      spans.push({ start: span.start, end: span.end, kind: "seed_phrase", han: false, sure: false });
    });
  }

  /**
   * Chinese phrases by their shape: 12+ characters each standing alone
   * ("的 一 是 …", "1.的 2.一 …"): sure; runs of short groups (3-4 characters
   * apart) or one long run, when the message talks about a seed phrase or is
   * nothing but that run: possible only, since Chinese prose is made of the
   * same everyday characters.
   */
  function hanRuns(text, spans) {
    var context = SEED_CONTEXT_RE.test(text);
    var tokens = matches(HAN_RUN_RE, text);
    var groups = [];
    tokens.forEach(function (m) {
      var group = groups[groups.length - 1];
      var last = group && group[group.length - 1];
      if (last && separatorOnly(text.slice(last.index + last[0].length, m.index))) group.push(m);
      else groups.push([m]);
    });

    function push(start, end, sure) {
      spans.push({ start: start, end: end, kind: "seed_phrase", han: true, sure: sure });
    }

    groups.forEach(function (group) {
      var lengths = group.map(function (m) {
        return Array.from(m[0]).length;
      });
      var total = lengths.reduce(function (a, b) {
        return a + b;
      }, 0);
      if (total < MIN_WORDS) return;
      var start = group[0].index;
      var lastToken = group[group.length - 1];
      var end = lastToken.index + lastToken[0].length;

      // One character per token, twelve or more in a row.
      var singles = [];
      lengths.concat([0]).forEach(function (length, i) {
        if (length === 1) {
          singles.push(group[i]);
          return;
        }
        if (singles.length >= MIN_WORDS) {
          var tail = singles[singles.length - 1];
          push(singles[0].index, tail.index + tail[0].length, true);
        }
        singles = [];
      });

      // Several short groups ("的一是 在不了 …"), or a long glued run.
      var short = lengths.every(function (length) {
        return length <= 4;
      });
      var alone = separatorOnly(text.slice(0, start)) && separatorOnly(text.slice(end)) &&
        total <= 24;
      if ((short && group.length >= 3) || context || alone) push(start, end, false);
    });
  }

  /** "hash" or "key": the label nearest to text[start:end], if any (the server's rule). */
  function nearestLabel(text, start, end) {
    var before = text.slice(Math.max(0, start - LABEL_WINDOW), start);
    var after = text.slice(end, end + LABEL_WINDOW / 2);
    var best = null;
    [["key", KEY_LABEL_RE, 0], ["hash", HASH_LABEL_RE, 1]].forEach(function (entry) {
      matches(entry[1], before).forEach(function (m) {
        var candidate = [before.length - (m.index + m[0].length), entry[2], entry[0]];
        if (!best || candidate[0] < best[0] || (candidate[0] === best[0] && candidate[1] < best[1])) {
          best = candidate;
        }
      });
      matches(entry[1], after).forEach(function (m) {
        var candidate = [m.index, entry[2], entry[0]];
        if (!best || candidate[0] < best[0] || (candidate[0] === best[0] && candidate[1] < best[1])) {
          best = candidate;
        }
      });
    });
    return best ? best[2] : null;
  }

  /**
   * Keys: 64 hex digits (a raw private key, or a transaction hash: only the
   * server knows, so never stored early, masked unless labelled as a hash or
   * given where the bot asked for one), WIF and extended private keys.
   */
  function keys(text, spans, expectingHash) {
    matches(HEX64_RE, text).forEach(function (m) {
      var span = captured(m);
      var label = nearestLabel(text, span.start, span.end);
      var sure = label === "key" || (label === null && !expectingHash);
      spans.push({ start: span.start, end: span.end, kind: "private_key", han: false, sure: sure });
    });
    [WIF_RE, XPRV_RE].forEach(function (re) {
      matches(re, text).forEach(function (m) {
        var span = captured(m);
        spans.push({ start: span.start, end: span.end, kind: "private_key", han: false, sure: true });
      });
    });
  }

  /** Non-overlapping spans in text order (overlapping ones joined). */
  function merge(spans) {
    spans.sort(function (a, b) {
      return a.start - b.start || (b.end - b.start) - (a.end - a.start);
    });
    var out = [];
    spans.forEach(function (span) {
      var last = out[out.length - 1];
      if (last && span.start < last.end) {
        last.end = Math.max(last.end, span.end);
        return;
      }
      out.push({ start: span.start, end: span.end, kind: span.kind, han: span.han, sure: span.sure });
    });
    return out;
  }

  /**
   * The sure spans, joined, and the possible ones that overlap none of them: a
   * possible span never widens what is masked.
   */
  function combine(spans) {
    var sure = merge(spans.filter(function (span) {
      return span.sure;
    }));
    var possible = merge(spans.filter(function (span) {
      return !span.sure && !sure.some(function (other) {
        return span.start < other.end && other.start < span.end;
      });
    }));
    return sure.concat(possible).sort(function (a, b) {
      return a.start - b.start;
    });
  }

  /** Every secret-looking span of ``text`` (see the top of this file). */
  function find(text, options) {
    if (typeof text !== "string" || text.length < MIN_WORDS) return [];
    var spans = [];
    wordRuns(text, spans);
    gluedLatin(text, spans);
    hanRuns(text, spans);
    keys(text, spans, !!(options && options.expectingHash));
    return combine(spans);
  }

  /** ``text`` with its sure spans replaced by the placeholders the server uses. */
  function mask(text, spans) {
    var out = "";
    var cursor = 0;
    spans.forEach(function (span) {
      if (!span.sure) return;
      out += text.slice(cursor, span.start);
      out += span.kind === "private_key" ? PLACEHOLDERS.key :
        span.han ? PLACEHOLDERS.seedZh : PLACEHOLDERS.seed;
      cursor = span.end;
    });
    return out + text.slice(cursor);
  }

  window.walletSupportSecretShapes = { find: find, mask: mask };
})();
