"""How readily the starter refuses: the margin of its "not covered" opening on questions it
never trained on, from the articles it trained on (never the held-out ones).

    python benchmarks/refusal_calibration.py [--questions 100]

For each question, the app's own prompt (the real retriever over an index of the starter's 16
training articles, k=3, the prompt budget) and the same question shown only other articles'
passages, as `finetune --from-qa` builds its negatives. One forward pass a prompt gives the
margin of the refusal's first token over the best other first token (a second pass says how
surely its second token follows), so the answer refuses about when the margin exceeds the
penalty.
Printed: for each penalty, the refusal rate on the app's prompts (answerable questions) and on
the other-articles prompts. The rule that chose REFUSAL_PENALTY: the largest penalty that keeps
refusals of other-articles prompts at 75 % or more (the floor is 70 %).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from build_starter import choose_questions  # noqa: E402

from gptchat.answer.prompt import REFUSAL  # noqa: E402
from gptchat.answer.retriever import Retriever  # noqa: E402
from gptchat.eval.qa_set import QAItem  # noqa: E402
from gptchat.index.catalog import (  # noqa: E402
    IndexOptions,
    index_embedder,
    open_searchable_index,
    run_index,
)
from gptchat.learn.qa_examples import QAExampleSettings, dataset_from_qa  # noqa: E402
from gptchat.model.generator import Generator  # noqa: E402
from gptchat.model.provision import ensure_default_model  # noqa: E402
from gptchat.model.starter import HELD_OUT_ARTICLES, starter_provenance  # noqa: E402
from gptchat.model.versions import default_choice  # noqa: E402
from gptchat.workspace import Workspace  # noqa: E402

SQUAD = REPO.parent / "shared" / "eval" / "squad-dev"
PENALTIES = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 1.0, 1.5, 2.0)
KEEP_REFUSING = 0.75
NO_NEGATIVE = "no sources from other documents for a negative"


def unused_training_questions(count: int, docs: Path) -> list[QAItem]:
    """Questions of the training articles that the starter's recipe did not sample."""
    rows = [json.loads(line) for line in (SQUAD / "qa.jsonl").read_text().splitlines() if line]
    training = [r for r in rows if r["sources"][0] not in HELD_OUT_ARTICLES]
    recipe = starter_provenance()["settings"]
    sampled = recipe.get("sampled", recipe["questions"])
    trained = {r["id"] for r in choose_questions(training, docs, sampled, recipe["seed"], False)}
    unused = [r for r in training if r["id"] not in trained]
    picked = random.Random(7).sample(unused, count)
    return [QAItem(r["id"], r["question"], r["answers"], r["sources"]) for r in picked]


def margins(generator: Generator, prompts: list[str]) -> tuple[list[float], list[float]]:
    """For each prompt: the log-probability of the refusal's first token minus the best other
    token's, and the probability of the refusal's second token once the first is out."""
    import torch

    generator.load()
    tokenizer, model = generator.tokenizer, generator._model
    first, second = tokenizer(REFUSAL, add_special_tokens=False)["input_ids"][:2]
    found, follow = [], []
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        # The prompt and the refusal's first token in one pass: the next-to-last position
        # scores the first token, the last one the second.
        with torch.inference_mode():
            logits = model(torch.cat([ids, torch.tensor([[first]])], 1)).logits[0].float()
            opening = logits[-2]
            refusal = float(opening[first])
            opening[first] = float("-inf")
            found.append(refusal - float(opening.max()))
            follow.append(float(torch.softmax(logits[-1], -1)[second]))
    return found, follow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gptchat-refusal-") as temp:
        root = Path(temp)
        docs = root / "train-docs"
        docs.mkdir()
        for article in (SQUAD / "docs").glob("*.md"):
            if article.name not in HELD_OUT_ARTICLES:
                shutil.copy(article, docs / article.name)
        workspace = Workspace(root / "workspace")
        run_index(workspace, [docs], IndexOptions("train"))
        items = unused_training_questions(args.questions, docs)
        with open_searchable_index(workspace, "train") as index:
            retriever = Retriever(index, index_embedder(index))
            choice = default_choice()
            generator = Generator(
                ensure_default_model(print), choice.name, adapters=choice.adapters
            )
            answerable, others = [], []
            for item in items:
                # Negatives for every question: the app's prompt first, then other articles.
                settings = QAExampleSettings(negatives=1.0, seed=1)
                dataset = dataset_from_qa([item], retriever, generator, settings)
                if set(dataset.skipped) - {NO_NEGATIVE}:
                    continue  # e.g. nothing relevant retrieved: the app answers without the model
                answerable.append(dataset.examples[0].prompt)
                others.extend(example.prompt for example in dataset.examples[1:2])
            answerable_margins, follow = margins(generator, answerable)
            other_margins, other_follow = margins(generator, others)

    print(f"{len(answerable)} app prompts, {len(others)} prompts of other articles only")
    print("| penalty (nats) | refusals, app prompts | refusals, other articles only |")
    print("|---|---|---|")
    chosen = 0.0
    for penalty in PENALTIES:
        asked = sum(m > penalty for m in answerable_margins) / len(answerable_margins)
        other = sum(m > penalty for m in other_margins) / len(other_margins)
        if other >= KEEP_REFUSING:
            chosen = penalty
        print(f"| {penalty} | {asked:.3f} | {other:.3f} |")
    print(
        f"largest penalty keeping refusals of other-articles prompts >= {KEEP_REFUSING}: {chosen}"
    )
    follows = sorted(follow + other_follow)
    share = sum(p > 0.99 for p in follows) / len(follows)
    print(
        f"after the first token, the second follows with probability > 0.99 in {share:.0%} of "
        f"the prompts (median {statistics.median(follows):.4f}, least {follows[0]:.3f})"
    )


if __name__ == "__main__":
    main()
