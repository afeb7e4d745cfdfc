"""Training examples from feedback (prompt -> better answer) and from indexed text."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from gptchat.log.store import FeedbackExample

IGNORE = -100  # label for tokens the loss skips (the prompt)


@dataclass(frozen=True)
class TrainingExample:
    """Text the model sees (`prompt`) and text it should write (`target`)."""

    prompt: str
    target: str


@dataclass
class FeedbackDataset:
    examples: list[TrainingExample]
    skipped: Counter = field(default_factory=Counter)  # reason -> count


def dataset_from_feedback(feedback: list[FeedbackExample]) -> FeedbackDataset:
    """+1 answers and corrections as examples, on the exact logged prompt; duplicates once."""
    dataset = FeedbackDataset([])
    seen: set[tuple[str, str]] = set()
    for item in feedback:
        rating, correction = item.feedback.rating, item.feedback.correction
        if not item.prompt:
            dataset.skipped["no prompt (not answered from the documents)"] += 1
            continue
        if rating == 1 and not correction and item.status != "complete":
            # A stopped answer is cut short: approving it would teach answers that stop.
            dataset.skipped["stopped before its end, +1 without a correction"] += 1
            continue
        answer = item.answer
        if item.documents_answer is not None:
            # Given in another language than its prompt's: the prompt's answer is the one
            # to learn, and a correction in the question's language would teach the switch.
            if correction:
                dataset.skipped["a correction of an answer given in another language"] += 1
                continue
            answer = item.documents_answer
        target = correction or (answer if rating == 1 else None)
        if not target or not target.strip():
            dataset.skipped[
                "rated -1 without a correction" if rating == -1 else "comment only"
            ] += 1
            continue
        if (item.prompt, target.strip()) in seen:
            dataset.skipped["duplicate"] += 1
            continue
        seen.add((item.prompt, target.strip()))
        dataset.examples.append(TrainingExample(item.prompt, target.strip()))
    return dataset


def dataset_from_texts(texts: list[str]) -> list[TrainingExample]:
    """Continued pre-training: every text is all target, nothing is prompt."""
    unique = dict.fromkeys(t.strip() for t in texts if t.strip())
    return [TrainingExample("", text) for text in unique]


def split_held_out(
    examples: list[TrainingExample], fraction: float, seed: int
) -> tuple[list[TrainingExample], list[TrainingExample]]:
    """A seeded (train, held-out) split; the held-out part has at least one example."""
    shuffled = examples[:]
    random.Random(seed).shuffle(shuffled)
    held = max(1, round(len(shuffled) * fraction))
    return shuffled[held:], shuffled[:held]


def tokenize(tokenizer, example: TrainingExample, max_tokens: int) -> tuple[list[int], list[int]]:
    """Input ids and labels: the prompt's labels are IGNORE, so the loss is on the answer.

    A prompt from the log already ends with the chat template's assistant opening; the target
    ends with the end-of-turn token so the model learns to stop. Too long: the prompt's start
    is cut, never the answer.
    """
    prompt_ids = tokenizer(example.prompt, add_special_tokens=False)["input_ids"]
    end = tokenizer.eos_token if example.prompt else ""
    target_ids = tokenizer(example.target + end, add_special_tokens=False)["input_ids"]
    target_ids = target_ids[:max_tokens]
    prompt_ids = prompt_ids[max(0, len(prompt_ids) - (max_tokens - len(target_ids))) :]
    return prompt_ids + target_ids, [IGNORE] * len(prompt_ids) + target_ids
