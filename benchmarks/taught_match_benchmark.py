"""When is a new question "the same" as one the user already taught an answer for?

    python benchmarks/taught_match_benchmark.py [--squad 1000]

The data a threshold for taught answers has to be chosen on, with the bundled MiniLM embedder
that retrieval uses: for questions of ../shared/eval (the first --squad questions of squad-dev,
all 100 of claude-docs),
- reworded: the question rewritten by fixed rules that keep its meaning (a polite opening, a
  question word or phrase said another way, a verb or adjective swapped for a synonym; the rules
  are RULES below, each applied where it fits); its cosine to the original, which a match must
  accept;
- nearest other: the most similar *other* question of the same set whose gold answers share
  none with this one's (in squad-dev mostly a question about the same article: "Which NFL team
  represented the AFC …" against "… the NFC …"); a match must refuse it.
For each cosine threshold: the share of rewordings accepted and of nearest others wrongly
accepted; then the same with a wording rule on top (every content word of the taught question,
up to synonyms of RULES, found in the new one, and no more than two new content words), and
with a strict one (no new content word at all).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gptchat.answer.attribution import meaningful_words  # noqa: E402
from gptchat.answer.citations import normalize_answer  # noqa: E402
from gptchat.index.embedder import Embedder  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
THRESHOLDS = (0.80, 0.85, 0.90, 0.93, 0.95, 0.97)

# (pattern, replacement): each keeps the question's meaning.
RULES: list[tuple[str, str]] = [
    (r"^What is ", "What's "),
    (r"^Which ", "What "),
    (r"^How many ", "What number of "),
    (r"^Who ", "Which person "),
    (r"^When did ", "At what time did "),
    (r"^Where is ", "Where's "),
    (r"\blargest\b", "biggest"),
    (r"\bbegan\b", "started"),
    (r"\bbegin\b", "start"),
    (r"\bcreate\b", "make"),
    (r"\bfamous\b", "well known"),
    (r"\blocated\b", "situated"),
    (r"\bused\b", "employed"),
    (r"\bshows\b", "displays"),
    (r"\bdifferent\b", "distinct"),
]
POLITE = "Could you tell me: "
SYNONYMS = {
    "whats": "what",
    "biggest": "largest",
    "started": "began",
    "start": "begin",
    "make": "create",
    "situated": "located",
    "employed": "used",
    "displays": "shows",
    "distinct": "different",
    "person": "who",
    "number": "many",
    "time": "when",
    "wheres": "where",
}


def reworded(question: str) -> str:
    """The question said another way by RULES, with a polite opening."""
    text = question
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text)
    return POLITE + text[0].lower() + text[1:]


def content_words(question: str) -> set[str]:
    words = meaningful_words(question.removeprefix(POLITE))
    return {SYNONYMS.get(w, w) for w in words} - {"could", "tell", "me"}


def same_wording(taught: str, asked: str, new_words: int = 2) -> bool:
    """Every content word of the taught question in the asked one; at most `new_words` more."""
    old, new = content_words(taught), content_words(asked)
    return old <= new and len(new - old) <= new_words


def questions(name: str, limit: int | None) -> list[dict]:
    rows = [json.loads(line) for line in (EVAL / name / "qa.jsonl").read_text().splitlines()]
    return rows[:limit] if limit else rows


def measure(name: str, rows: list[dict], embedder: Embedder) -> dict:
    asked = [r["question"] for r in rows]
    again = [reworded(q) for q in asked]
    changed = sum(
        a.removeprefix(POLITE).lower() != q.lower() for a, q in zip(again, asked, strict=True)
    )
    vectors = embedder.encode(asked)
    reworded_vectors = embedder.encode(again)
    to_reworded = np.sum(vectors * reworded_vectors, axis=1)
    similar = vectors @ vectors.T
    answers = [{normalize_answer(a) for a in r["answers"]} for r in rows]
    nearest, nearest_index = [], []
    for i in range(len(rows)):
        order = np.argsort(-similar[i])
        j = next(int(j) for j in order if j != i and not answers[i] & answers[j])
        nearest.append(float(similar[i, j]))
        nearest_index.append(j)
    result: dict = {"questions": len(rows), "rules changed the wording of": changed}
    for threshold in THRESHOLDS:
        accepted = to_reworded >= threshold
        wrong = np.array(nearest) >= threshold
        worded_ok = np.array([same_wording(asked[i], again[i]) for i in range(len(rows))])
        worded_wrong = np.array(
            [same_wording(asked[nearest_index[i]], asked[i]) for i in range(len(rows))]
        )
        strict_ok = np.array([same_wording(asked[i], again[i], 0) for i in range(len(rows))])
        strict_wrong = np.array(
            [same_wording(asked[nearest_index[i]], asked[i], 0) for i in range(len(rows))]
        )
        result[f"{threshold:.2f}"] = {
            "rewordings accepted": round(float(accepted.mean()), 3),
            "others wrongly accepted": int(wrong.sum()),
            "with the wording rule: rewordings accepted": round(
                float((accepted & worded_ok).mean()), 3
            ),
            "with the wording rule: others wrongly accepted": int((wrong & worded_wrong).sum()),
            "no new words: rewordings accepted": round(float((accepted & strict_ok).mean()), 3),
            "no new words: others wrongly accepted": int((wrong & strict_wrong).sum()),
        }
    worst = int(np.argmax(nearest))
    result["closest wrong pair"] = [asked[worst], asked[nearest_index[worst]], nearest[worst]]
    print(f"{name}: {len(rows)} questions, rules changed {changed}")
    print(
        f"  cosine to the rewording: median {np.median(to_reworded):.3f}, "
        f"5th percentile {np.percentile(to_reworded, 5):.3f}"
    )
    print(
        f"  cosine to the nearest other: median {np.median(nearest):.3f}, "
        f"95th percentile {np.percentile(nearest, 95):.3f}, max {max(nearest):.3f}"
    )
    print(
        "  threshold | rewordings accepted | others wrongly accepted | + wording rule: "
        "accepted, wrong"
    )
    for threshold in THRESHOLDS:
        row = result[f"{threshold:.2f}"]
        print(
            f"  {threshold:.2f}      | {row['rewordings accepted']:.3f}               | "
            f"{row['others wrongly accepted']:5d}                   | "
            f"{row['with the wording rule: rewordings accepted']:.3f}, "
            f"{row['with the wording rule: others wrongly accepted']:<6} | "
            f"{row['no new words: rewordings accepted']:.3f}, "
            f"{row['no new words: others wrongly accepted']}"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=int, default=1000, help="squad-dev questions to use")
    args = parser.parse_args()
    embedder = Embedder()
    results = {
        "squad-dev": measure("squad-dev", questions("squad-dev", args.squad), embedder),
        "claude-docs": measure("claude-docs", questions("claude-docs", None), embedder),
    }
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "taught_match_benchmark.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
