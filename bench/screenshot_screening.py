"""How well uploaded screenshots are screened for secrets, per OCR engine.

A labelled set of made-up wallet screenshots is drawn (``bench.screenshot_images``,
fixed seed): recovery phrases in English and Chinese as grids, lists, chips and
paragraphs, private keys (64-hex, WIF, xprv) as text and as QR codes, and
look-alikes: transaction details with their hashes, receive screens with address
QR codes, explorer-link QR codes, error dialogs, chats, help pages, lists. Each
goes through ``support_core.images.screening.screen_image`` with the engine
given by ``--engine`` (default: the project's default engine).

Prints, for the engine:

* ``screenshot_screening caught: P % (N / M)``: secret images refused (goal 100 %);
* ``screenshot_screening innocent refused: P % (N / M)``: look-alikes refused
  (goal at most 2 %);
* ``screenshot_screening seconds per image: mean / p50 / p95`` (the model's
  loading excluded, printed apart), and how many transaction hashes an accepted
  image's text gave back exactly.

Failures are listed by family (never a secret's text). Exit 1 when a goal is
missed. ``--quick`` draws one image per family; ``--save DIR`` writes the
images that failed, to look at.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import jieba

from bench.measure import machine, percentile
from bench.screenshot_images import Sample, generate
from support_core.images.normalize import ImageLimits
from support_core.images.ocr import DEFAULT_ENGINE, ENGINES, make_engine, warm_up
from support_core.images.screening import screen_image

SEED = 20241203
PER_FAMILY = 4
MIN_CAUGHT_PCT = 100.0
MAX_REFUSED_PCT = 2.0


def _fingerprint(samples: list[Sample]) -> str:
    digest = hashlib.sha256()
    for sample in samples:
        digest.update(sample.data)
    return digest.hexdigest()[:12]


def _cpu_seconds() -> float:
    """CPU time of this process and of the commands it ran (Tesseract runs as one)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run(engine_name: str, per_family: int, seed: int, save: Path | None) -> bool:
    """Screen the set with one engine, print the figures; whether both goals are met."""
    secret_samples, innocent_samples = generate(per_family, seed)
    print(f"screenshot_screening set seed={seed} secrets={len(secret_samples)} "
          f"innocents={len(innocent_samples)} "
          f"fingerprint={_fingerprint(secret_samples + innocent_samples)}")
    engine = make_engine(engine_name)
    load_s = warm_up(engine)
    limits = ImageLimits()
    seconds: list[float] = []
    cpu_started = _cpu_seconds()
    missed: list[Sample] = []
    refused: list[tuple[Sample, tuple[str, ...]]] = []
    facts_read = facts_total = 0
    for sample in secret_samples + innocent_samples:
        result = screen_image(sample.data, limits=limits, engine=engine)
        seconds.append(result.seconds)
        if sample.secret and result.accepted:
            missed.append(sample)
        elif not sample.secret and not result.accepted:
            refused.append((sample, result.kinds))
        elif not sample.secret:
            facts_total += len(sample.facts)
            facts_read += sum(1 for fact in sample.facts if fact in result.text)
    cpu_per_image = (_cpu_seconds() - cpu_started) / max(1, len(seconds))
    caught = len(secret_samples) - len(missed)
    caught_pct = 100.0 * caught / max(1, len(secret_samples))
    refused_pct = 100.0 * len(refused) / max(1, len(innocent_samples))
    tag = f"screenshot_screening engine={engine_name}"
    print(f"{tag} caught: {caught_pct:.1f} % ({caught} / {len(secret_samples)}) "
          f"(goal {MIN_CAUGHT_PCT:.0f} %)")
    print(f"{tag} innocent refused: {refused_pct:.1f} % ({len(refused)} / "
          f"{len(innocent_samples)}) (goal <= {MAX_REFUSED_PCT:.0f} %)")
    print(f"{tag} seconds per image: mean {sum(seconds) / len(seconds):.2f} "
          f"p50 {percentile(seconds, 50):.2f} p95 {percentile(seconds, 95):.2f} "
          f"max {max(seconds):.2f}; CPU {cpu_per_image:.2f} s per image "
          f"(model load {load_s:.1f} s, once)")
    print(f"{tag} tx hashes read exactly from accepted images: {facts_read} / {facts_total}")
    if missed:
        by_family = Counter(s.family for s in missed)
        print("  missed secrets by family: "
              + ", ".join(f"{f}={n}" for f, n in by_family.most_common()))
    if refused:
        by_family = Counter(f"{s.family}[{','.join(kinds)}]" for s, kinds in refused)
        print("  refused look-alikes by family: "
              + ", ".join(f"{f}={n}" for f, n in by_family.most_common()))
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        failures = missed + [s for s, _ in refused]
        for i, sample in enumerate(failures):
            name = f"{engine_name}-{i:03d}-{sample.family}.{sample.details['encoding']}"
            (save / name).write_bytes(sample.data)
    return caught_pct >= MIN_CAUGHT_PCT and refused_pct <= MAX_REFUSED_PCT


def main(argv: list[str] | None = None) -> int:
    """Generate, screen and report; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=(*ENGINES, "both"), default=DEFAULT_ENGINE)
    parser.add_argument("--quick", action="store_true", help="one image per family")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--save", type=Path, help="write the images that failed here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter
    print(machine())
    engines = ENGINES if args.engine == "both" else (args.engine,)
    per_family = 1 if args.quick else PER_FAMILY
    ok = True
    for name in engines:
        ok = run(name, per_family, args.seed, args.save) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
