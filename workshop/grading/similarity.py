"""Pairs of submissions that share far more code than chance, listed for a person to read: never
an accusation. Each submission's mlp.py and main.py are fingerprinted by winnowing (copydetect,
as MOSS does); what everyone shares is no evidence, so the passages of the handed-out skeleton
(if given) and those found in many submissions of the class (as MOSS's -m does) are left out
before each pair is compared."""

from __future__ import annotations

import io
import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from copydetect import CodeFingerprint, compare_files

from workshop.files import atomic_write

NOISE, GUARANTEE = 25, 30  # copydetect's defaults: k-grams of 25 tokens, every 30 found
# A passage in more than this share of the class, and more than COMMONEST submissions, is
# everyone's: in a class of ten a group of three who share a passage stays visible.
COMMON, COMMONEST = 0.2, 5
FLAGGED = 0.5  # a pair shares at least this share of one of them (what is left of it)
FEWEST_TOKENS = 40  # and at least this many tokens: a shared line or two is no evidence
FILES = ("mlp.py", "main.py")


@dataclass(frozen=True)
class Pair:
    """Two submissions, the share of each one's own code found in the other, and the passages
    they share (each side's text)."""

    first: str
    second: str
    shares: tuple[float, float]
    passages: list[tuple[str, str]]


def code(folder: Path | None) -> str:
    """A submission's code: its mlp.py and main.py, one after the other ('' if none)."""
    if folder is None:
        return ""
    parts = [(folder / name).read_text(errors="replace") for name in FILES
             if (folder / name).is_file()]
    return "\n\n".join(parts)


def fingerprint(text: str, boilerplate: set[int]) -> CodeFingerprint:
    """copydetect's fingerprint of Python text, boilerplate's hashes left out."""
    return CodeFingerprint("submission.py", NOISE, GUARANTEE - NOISE + 1,
                           boilerplate=sorted(boilerplate), fp=io.StringIO(text))


def similar_pairs(codes: dict[str, str], skeleton: str = "") -> list[Pair]:
    """The pairs of submissions (id: code) that share far more than chance, the most similar
    first."""
    boilerplate = set(fingerprint(skeleton, set()).hashes) if skeleton.strip() else set()
    first = {name: fingerprint(text, boilerplate) for name, text in codes.items() if text}
    counts = Counter(digest for prints in first.values() for digest in set(prints.hashes))
    common = {digest for digest, count in counts.items()
              if count > max(COMMONEST, COMMON * len(first))}
    prints = {name: fingerprint(codes[name], boilerplate | common) for name in first}
    pairs = []
    for one, other in itertools.combinations(sorted(prints), 2):
        tokens, shares, slices = compare_files(prints[one], prints[other])
        if tokens >= FEWEST_TOKENS and max(shares) >= FLAGGED:
            passages = [list(_texts(prints[side].raw_code, found))
                        for side, found in ((one, slices[0]), (other, slices[1]))]
            pairs.append(Pair(one, other, (float(shares[0]), float(shares[1])),
                              list(itertools.zip_longest(*passages, fillvalue=""))))
    return sorted(pairs, key=lambda pair: -max(pair.shares))


def _texts(raw: str, slices: object) -> list[str]:
    """The passages of raw code that slices (starts, ends) mark, widened to whole lines."""
    return [raw[raw.rfind("\n", 0, start) + 1:len(raw) if raw.find("\n", end) < 0 else
                raw.find("\n", end)] for start, end in zip(*slices, strict=True)]


def markdown(pairs: list[Pair], count: int, skeleton: bool) -> str:
    """similarity.md: the flagged pairs, each with its passages side by side."""
    lines = ["# Submissions that share far more code than chance", "",
             f"{len(pairs)} of {count * (count - 1) // 2} pairs of {count} submissions are "
             f"listed for a person to read; a listed pair is a question, not a finding. Left "
             f"out before comparing: passages found in more than {COMMON:.0%} of the class "
             f"and more than {COMMONEST} submissions"
             + (", and the handed-out skeleton's" if skeleton else "") + ".", ""]
    if pairs:
        lines += ["| submission | submission | share of the first's code | of the second's | "
                  "passages |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {pair.first} | {pair.second} | {pair.shares[0]:.0%} | {pair.shares[1]:.0%} "
                  f"| {len(pair.passages)} |" for pair in pairs] + [""]
    for pair in pairs:
        lines += [f"## {pair.first} and {pair.second}", "",
                  f"{pair.shares[0]:.0%} of {pair.first}'s own code is in {pair.second}, and "
                  f"{pair.shares[1]:.0%} of {pair.second}'s in {pair.first}.", ""]
        for left, right in pair.passages:
            lines += [f"{pair.first}:", "", "```python", left.strip("\n"), "```", "",
                      f"{pair.second}:", "", "```python", right.strip("\n"), "```", ""]
    return "\n".join(lines)


def write(out: Path, homes: dict[str, Path | None], skeleton: Path | None) -> list[Pair]:
    """similarity.md in out, for the submissions (id: the folder holding their mlp.py); the
    pairs it lists."""
    codes = {name: code(home) for name, home in homes.items()}
    skeleton_code = code(skeleton if skeleton and skeleton.is_dir() else None) or (
        skeleton.read_text(errors="replace") if skeleton and skeleton.is_file() else "")
    pairs = similar_pairs(codes, skeleton_code)
    text = markdown(pairs, len([text for text in codes.values() if text]), bool(skeleton_code))
    atomic_write(out / "similarity.md", lambda tmp: tmp.write_text(text))
    return pairs
