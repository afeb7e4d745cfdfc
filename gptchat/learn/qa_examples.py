"""Training examples from a question set: the app's own prompts, gold answers with [n]."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from gptchat.answer.prompt import REFUSAL, PromptModel, PromptOptions, build_prompt
from gptchat.answer.refusal import RefusalPenalty
from gptchat.answer.retriever import Hit, Retriever
from gptchat.errors import BadInput
from gptchat.eval.qa_set import QAItem, cited_target, from_gold_file, is_long, supports
from gptchat.learn.examples import TrainingExample
from gptchat.progress import NO_PROGRESS, Progress
from gptchat.workspace import DEFAULT_K

NEGATIVE_POOL = 30  # hits searched for sources from other documents than the gold ones


@dataclass(frozen=True)
class QAExampleOptions:
    """How many sources a prompt shows, and how many negatives to add on purpose."""

    k: int = DEFAULT_K
    budget: PromptOptions = field(default_factory=PromptOptions)
    negatives: float = 0.15  # share of questions also shown only other documents' sources
    # A question whose retrieved sources hold no gold answer: teach the refusal, or leave it
    # out (the answer is in the documents, so refusing there also teaches refusing when unsure).
    refuse_misses: bool = True
    seed: int = 0


@dataclass
class QADataset:
    examples: list[TrainingExample]
    answered: int = 0  # examples whose target is a cited gold answer
    refusals: int = 0  # examples whose target is the "not covered" reply
    skipped: Counter = field(default_factory=Counter)  # reason -> count


def dataset_from_qa(
    items: list[QAItem],
    retriever: Retriever,
    model: PromptModel,
    settings: QAExampleOptions,
    progress: Progress = NO_PROGRESS,
    learned_refusal: bool = False,
) -> QADataset:
    """One example per question as the app would prompt it, plus planted negatives.

    A question whose retrieved sources hold no gold answer teaches the refusal (unless
    settings.refuse_misses is off); so does a seeded share of questions shown only sources
    from other documents.
    """
    dataset = QADataset([])
    chooser = random.Random(settings.seed)
    for item in items:
        progress.advance()
        if is_long(item) and not item.sources:
            dataset.skipped["long answer without source files"] += 1
            continue
        retrieval = retriever.retrieve(item.question, settings.k)
        # As the app decides: a model taught to refuse reads passages retrieval finds far.
        if not RefusalPenalty().shows_model(retrieval, learned_refusal):
            # The app answers "not covered" without asking the model: nothing to learn here.
            dataset.skipped["nothing relevant retrieved (the app answers without the model)"] += 1
            continue
        try:
            prompt = build_prompt(model, item.question, retrieval.hits, [], settings.budget)
        except BadInput as exc:
            dataset.skipped[f"prompt does not fit ({exc})"] += 1
            continue
        target = cited_target(item, prompt.sources)
        if target is None and not settings.refuse_misses:
            dataset.skipped["no retrieved source holds the gold answer"] += 1
        else:
            _add(dataset, prompt.text, target)
        if chooser.random() < settings.negatives:
            others = other_documents(retriever, item, settings.k)
            if others:
                negative = build_prompt(model, item.question, others, [], settings.budget)
                _add(dataset, negative.text, None)
            else:
                dataset.skipped["no sources from other documents for a negative"] += 1
    return dataset


def _add(dataset: QADataset, prompt: str, target: str | None) -> None:
    if target is None:
        dataset.refusals += 1
        dataset.examples.append(TrainingExample(prompt, REFUSAL))
    else:
        dataset.answered += 1
        dataset.examples.append(TrainingExample(prompt, target))


def other_documents(retriever: Retriever, item: QAItem, k: int) -> list[Hit]:
    """The best hits that neither come from a gold file nor hold a gold answer."""
    hits = retriever.rank(item.question, NEGATIVE_POOL)
    others = [h for h in hits if not from_gold_file(h, item) and not supports(h, item)]
    return others[:k]
