"""How readily the starter refuses, and which refusal penalty to decode with: measured on
questions it never trained on, from the articles it trained on (never the held-out ones).

    python benchmarks/refusal_calibration.py [--questions 200]

For each question, the app's own prompt (the real retriever over an index of the starter's 16
training articles, k=3, the prompt budget) and the same question shown only other articles'
passages, as `finetune --from-qa` builds its negatives. One forward pass a prompt gives the
margin of the refusal's first token over the best other first token (and how surely its second
token follows), so an answer refuses about when the margin exceeds the penalty. Printed: the
refusal rates under one penalty for every prompt, then under RefusalPenalty rules (a penalty
by the best shown source's cosine, and a floor under which the app refuses without the
model), and the rule chosen: the fewest refusals of the app's prompts among the rules that
still refuse at least 75 % of the other-articles prompts (all of them, and those the rule's
floor lets through to the model)."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from build_starter import unseen_training_rows  # noqa: E402

from gptchat.answer.closeness import best_closeness, with_closeness  # noqa: E402
from gptchat.answer.prompt import REFUSAL, PromptOptions, build_prompt  # noqa: E402
from gptchat.answer.refusal import RefusalPenalty  # noqa: E402
from gptchat.answer.retriever import (  # noqa: E402
    Retriever,
    RetrieverOptions,
    question_word_share,
)
from gptchat.eval.qa_set import QAItem  # noqa: E402
from gptchat.index.catalog import (  # noqa: E402
    IndexOptions,
    index_embedder,
    open_searchable_index,
    run_index,
)
from gptchat.learn.qa_examples import other_documents  # noqa: E402
from gptchat.model.generator import Generator  # noqa: E402
from gptchat.model.provision import ensure_default_model  # noqa: E402
from gptchat.model.starter import HELD_OUT_ARTICLES  # noqa: E402
from gptchat.model.versions import default_choice  # noqa: E402
from gptchat.workspace import DEFAULT_K, Workspace  # noqa: E402

SQUAD = REPO.parent / "shared" / "eval" / "squad-dev"
PENALTIES = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 1.0, 1.5, 2.0)
SIMILAR = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65)
CLOSE = (0.5, 1.0, 2.0, 3.0, 4.0)
DISTANT = (0.5, 0.0, -0.5, -1.0)
# The first is retrieval's own floor (nothing more shown than to a model that never refuses).
FLOORS = tuple(sorted({RetrieverOptions().min_similarity, 0.4, 0.35, 0.3, 0.25, 0.0}, reverse=True))
KEEP_REFUSING = 0.75  # 5 points above the 70 % floor


def unused_training_questions(count: int, docs: Path) -> list[QAItem]:
    """Questions of the training articles that the starter's recipe did not sample."""
    picked = random.Random(7).sample(unseen_training_rows(SQUAD, docs), count)
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


@dataclass
class Probe:
    """One prompt the model answers, what it shows, and how readily it would refuse."""

    prompt: str
    shows_gold_article: bool  # False: the question shown only other articles' passages
    closeness: float  # of the passages shown (their closest sentence to the question)
    word_share: float  # of the question's content words, most found in one passage shown
    floor_closeness: float  # the closeness retrieval found, which the floor judges
    margin: float = 0.0
    follow: float = 0.0


def probes(items: list[QAItem], retriever: Retriever, generator: Generator) -> list[Probe]:
    """The app's prompt for each question, then the same question shown only other articles
    (as `finetune --from-qa` builds its negatives); every one, however far its passages, as
    the rule's floor decides which the app would show the model."""
    found = []
    budget = PromptOptions()
    for item in items:
        vector = retriever.embedder.encode([item.question])[0]
        retrieval = retriever.retrieve(item.question, DEFAULT_K, vector)
        others = with_closeness(
            retriever.embedder, vector, other_documents(retriever, item, DEFAULT_K)
        )
        # Shown only other articles, the closeness retrieval finds is theirs.
        shown = [
            (retrieval.hits, True, retrieval.closeness),
            (others, False, best_closeness(others)),
        ]
        for hits, gold, floor_closeness in shown:
            if hits:
                prompt = build_prompt(generator, item.question, hits, [], budget)
                share = question_word_share(item.question, hits)
                found.append(Probe(prompt.text, gold, best_closeness(hits), share, floor_closeness))
    return found


def shown_to_model(probe: Probe, rule: RefusalPenalty) -> bool:
    """Whether the app would put `probe` to the model (RefusalPenalty.shows_model)."""
    relevant = RetrieverOptions().covers(probe.floor_closeness, probe.word_share)
    return relevant or rule.reaches(probe.floor_closeness)


def refusals(probes: list[Probe], rule: RefusalPenalty) -> float:
    """Share of `probes` refused, by the app under `rule`'s floor or by the model when `rule`
    sets the penalty on its refusal."""
    refused = sum(
        not shown_to_model(p, rule) or p.margin > rule.for_closeness(p.closeness) for p in probes
    )
    return refused / max(len(probes), 1)


def flat(penalty: float) -> RefusalPenalty:
    """One penalty whatever the sources, and retrieval's own floor."""
    return RefusalPenalty(0.0, penalty, penalty, floor=RetrieverOptions().min_similarity)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
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
            found = probes(items, retriever, generator)
            measured = margins(generator, [p.prompt for p in found])
            for probe, (margin, follow) in zip(found, zip(*measured, strict=True), strict=True):
                probe.margin, probe.follow = margin, follow

    asked = [p for p in found if p.shows_gold_article]
    others = [p for p in found if not p.shows_gold_article]
    print(f"{len(asked)} app prompts, {len(others)} of other articles only")
    print(
        "closeness of the passages shown, median: app prompts "
        f"{statistics.median(p.closeness for p in asked):.3f}, other articles "
        f"{statistics.median(p.closeness for p in others):.3f}"
    )
    print("\nThe app's own refusals, without the model, under each floor (cosine or words):")
    print("| floor | app prompts | other articles only |")
    print("|---|---|---|")
    for floor in FLOORS:
        never = RefusalPenalty(floor=floor, close=float("inf"), distant=float("inf"))
        print(f"| {floor} | {refusals(asked, never):.3f} | {refusals(others, never):.3f} |")
    print("\nOne penalty for every prompt (retrieval's floor):")
    print("| penalty (nats) | refusals, app prompts | refusals, other articles only |")
    print("|---|---|---|")
    for penalty in PENALTIES:
        print(
            f"| {penalty} | {refusals(asked, flat(penalty)):.3f} "
            f"| {refusals(others, flat(penalty)):.3f} |"
        )
    print("\nBy the sources' closeness and a floor (RefusalPenalty): the rule with the fewest")
    print(f"refusals of app prompts that refuses >= {KEEP_REFUSING} of other-articles prompts,")
    print("both all of them and those its floor shows the model:")
    print("| floor | from cosine | close | distant | refusals, app | other articles | shown |")
    print("|---|---|---|---|---|---|---|")
    rules = []
    for floor in FLOORS:
        for similar in SIMILAR:
            for close in CLOSE:
                for distant in DISTANT:
                    rule = RefusalPenalty(similar, close, distant, floor)
                    shown = [p for p in others if shown_to_model(p, rule)]
                    scores = (refusals(asked, rule), refusals(others, rule), refusals(shown, rule))
                    rules.append((scores, rule))
    allowed = [(s, r) for s, r in rules if min(s[1], s[2]) >= KEEP_REFUSING]
    # Ties go to the smaller penalties, then to the higher floor (the app's refusal is sure).
    allowed.sort(
        key=lambda pair: (
            pair[0][0],
            abs(pair[1].close) + abs(pair[1].distant),
            -pair[1].floor,
        )
    )
    for (app, other, over), rule in allowed[:8]:
        cells = (
            rule.floor,
            rule.similar,
            rule.close,
            rule.distant,
            f"{app:.3f}",
            f"{other:.3f}",
            f"{over:.3f}",
        )
        print("| " + " | ".join(map(str, cells)) + " |")
    if allowed:
        print(f"chosen: {allowed[0][1]}")
    follows = sorted(p.follow for p in found)
    share = sum(f > 0.99 for f in follows) / len(follows)
    print(
        f"after the first token, the second follows with probability > 0.99 in {share:.0%} of "
        f"the prompts (median {statistics.median(follows):.4f}, least {follows[0]:.3f})"
    )


if __name__ == "__main__":
    main()
