/*
 * Block-explorer links for the facts of a ticket: a transaction hash or an
 * address opens on the explorer of its network.
 *
 * The networks are the ones the service knows: the names its fact finder
 * gives ("Ethereum", "TRON", "BNB Chain", ... in support_core/facts/vocabulary.py)
 * and the address families its validator gives a ticket's ``chain`` ("evm",
 * "tron", "bitcoin" in support_core/chains.py). The URL templates live here,
 * in the console; a value is put into a URL only when it has the shape of a
 * hash or an address, and always percent-encoded.
 */

// network name -> [explorer name, tx URL, address URL]; {v} is the value.
const EXPLORERS = {
  Ethereum: ["Etherscan", "https://etherscan.io/tx/{v}", "https://etherscan.io/address/{v}"],
  "BNB Chain": ["BscScan", "https://bscscan.com/tx/{v}", "https://bscscan.com/address/{v}"],
  Polygon: ["PolygonScan", "https://polygonscan.com/tx/{v}", "https://polygonscan.com/address/{v}"],
  Arbitrum: ["Arbiscan", "https://arbiscan.io/tx/{v}", "https://arbiscan.io/address/{v}"],
  Optimism: ["Optimistic Etherscan", "https://optimistic.etherscan.io/tx/{v}",
    "https://optimistic.etherscan.io/address/{v}"],
  Base: ["BaseScan", "https://basescan.org/tx/{v}", "https://basescan.org/address/{v}"],
  Avalanche: ["Snowtrace", "https://snowtrace.io/tx/{v}", "https://snowtrace.io/address/{v}"],
  zkSync: ["zkSync Explorer", "https://explorer.zksync.io/tx/{v}", "https://explorer.zksync.io/address/{v}"],
  Linea: ["LineaScan", "https://lineascan.build/tx/{v}", "https://lineascan.build/address/{v}"],
  Scroll: ["Scrollscan", "https://scrollscan.com/tx/{v}", "https://scrollscan.com/address/{v}"],
  "X Layer": ["OKLink", "https://www.oklink.com/xlayer/tx/{v}", "https://www.oklink.com/xlayer/address/{v}"],
  OKTC: ["OKLink", "https://www.oklink.com/oktc/tx/{v}", "https://www.oklink.com/oktc/address/{v}"],
  TRON: ["Tronscan", "https://tronscan.org/#/transaction/{v}", "https://tronscan.org/#/address/{v}"],
  Solana: ["Solscan", "https://solscan.io/tx/{v}", "https://solscan.io/account/{v}"],
  Bitcoin: ["mempool.space", "https://mempool.space/tx/{v}", "https://mempool.space/address/{v}"],
  TON: ["Tonviewer", "https://tonviewer.com/transaction/{v}", "https://tonviewer.com/{v}"],
  Aptos: ["Aptos Explorer", "https://explorer.aptoslabs.com/txn/{v}", "https://explorer.aptoslabs.com/account/{v}"],
  Sui: ["Suiscan", "https://suiscan.xyz/mainnet/tx/{v}", "https://suiscan.xyz/mainnet/account/{v}"]
};
// Bitcoin has a second explorer agents often prefer.
const BITCOIN_ALT = ["Blockstream", "https://blockstream.info/tx/{v}", "https://blockstream.info/address/{v}"];

const EVM = ["Ethereum", "BNB Chain", "Polygon", "Arbitrum", "Optimism", "Base", "Avalanche",
  "zkSync", "Linea", "Scroll", "X Layer", "OKTC"];
// With an EVM value and no network named, the likeliest ones.
const EVM_GUESSES = ["Ethereum", "BNB Chain", "Polygon", "Arbitrum", "Optimism", "Base"];
// The ticket's ``chain`` (the address family the validator found) -> networks.
const FAMILIES = { evm: EVM, tron: ["TRON"], bitcoin: ["Bitcoin"] };

const SHAPES = {
  evmTx: /^0x[0-9a-fA-F]{64}$/,
  bareTx: /^[0-9a-fA-F]{64}$/,
  evmAddress: /^0x[0-9a-fA-F]{40}$/,
  tronAddress: /^T[1-9A-HJ-NP-Za-km-z]{33}$/,
  bitcoinAddress: /^(bc1[02-9ac-hj-np-z]{8,87}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$/i,
  base58: /^[1-9A-HJ-NP-Za-km-z]{32,90}$/,
  tonAddress: /^(EQ|UQ)[A-Za-z0-9_-]{46}$/,
  hexAddress: /^0x[0-9a-fA-F]{64}$/
};

/** The networks a hash could be on, judging by its shape. */
function txNetworks(value) {
  if (SHAPES.evmTx.test(value)) return EVM.concat(["Aptos"]);
  if (SHAPES.bareTx.test(value)) return ["TRON", "Bitcoin", "TON"];
  if (SHAPES.base58.test(value)) return ["Solana", "Sui"];
  return [];
}

function addressNetworks(value) {
  if (SHAPES.evmAddress.test(value)) return EVM;
  if (SHAPES.tronAddress.test(value)) return ["TRON"];
  if (SHAPES.bitcoinAddress.test(value)) return ["Bitcoin"];
  if (SHAPES.tonAddress.test(value)) return ["TON"];
  if (SHAPES.hexAddress.test(value)) return ["Aptos", "Sui"];
  if (SHAPES.base58.test(value)) return ["Solana"];
  return [];
}

function fill(template, value) {
  return template.replace("{v}", encodeURIComponent(value));
}

/**
 * Explorer links for ``value`` (kind "tx" or "address"): [{name, network, url}].
 * ``networks`` are the ones the ticket names (its network facts); ``family``
 * its ``chain``. Only networks the value's shape allows are linked; with none
 * named, the likeliest for the shape (several for an EVM value).
 */
export function explorerLinks(kind, value, networks, family) {
  const text = String(value || "").trim();
  const possible = kind === "tx" ? txNetworks(text) : addressNetworks(text);
  if (!possible.length) return [];
  const named = (networks || []).filter((name) => possible.indexOf(name) >= 0);
  let chosen = named;
  if (!chosen.length && family && FAMILIES[family]) {
    chosen = FAMILIES[family].filter((name) => possible.indexOf(name) >= 0);
    if (chosen.length > 1) chosen = chosen.filter((name) => EVM_GUESSES.indexOf(name) >= 0);
  }
  if (!chosen.length) {
    chosen = possible.length > 3 ? possible.filter((name) => EVM_GUESSES.indexOf(name) >= 0) : possible;
  }
  const links = [];
  chosen.forEach((network) => {
    const entry = EXPLORERS[network];
    if (!entry) return;
    links.push({ name: entry[0], network: network, url: fill(kind === "tx" ? entry[1] : entry[2], text) });
    if (network === "Bitcoin") {
      links.push({ name: BITCOIN_ALT[0], network: network,
        url: fill(kind === "tx" ? BITCOIN_ALT[1] : BITCOIN_ALT[2], text) });
    }
  });
  return links;
}

/** Every network with an explorer (for the README and tests). */
export function knownNetworks() {
  return Object.keys(EXPLORERS);
}
