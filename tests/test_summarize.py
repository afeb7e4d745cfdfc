"""Map-reduce summaries with the tiny model: parts that fit, then a summary of the summaries."""

from __future__ import annotations

import pytest

from gptchat.answer.prompt import PromptBudget
from gptchat.answer.summarize import COMBINE, SUMMARIZE, Summarizer
from gptchat.errors import BadInput
from gptchat.model.generator import Generator


def budget_with_room(generator: Generator, instruction: str, room: int) -> PromptBudget:
    """A prompt budget leaving `room` tokens of text beside `instruction`."""
    probe = Summarizer(generator)._prompt(instruction, "")
    return PromptBudget(context_tokens=generator.count_tokens(probe) + room, answer_tokens=12)


def test_long_text_is_summarized_in_parts_then_combined(tiny_model_dir) -> None:
    generator = Generator(tiny_model_dir)
    budget = budget_with_room(generator, SUMMARIZE, 120)
    summarizer = Summarizer(generator, budget, 8)
    texts = [
        f"Paragraph {n}: photovoltaic panels turn sunlight into electricity." for n in range(8)
    ]
    groups = summarizer.groups(texts, SUMMARIZE)
    assert 1 < len(groups) < len(texts)
    assert "\n\n".join(groups) == "\n\n".join(texts)  # packed in order, nothing lost
    assert all(generator.count_tokens(group) <= 120 for group in groups)

    class Parts:
        """Records the map steps, as the app's status line hears of them."""

        def __init__(self) -> None:
            self.totals: list[int] = []
            self.done = 0

        def start(self, total: int, label: str, unit: str = "") -> None:
            self.totals.append(total)

        def advance(self, steps: int = 1, note: str = "") -> None:
            self.done += steps

    parts = Parts()
    summary = "".join(summarizer.stream(texts, progress=parts))
    assert summary
    assert parts.totals[0] == len(groups) and parts.done >= len(groups)


def test_a_part_too_long_for_the_prompt_is_cut_not_dropped(tiny_model_dir) -> None:
    generator = Generator(tiny_model_dir)
    summarizer = Summarizer(generator, budget_with_room(generator, COMBINE, 60), 8)
    [group] = summarizer.groups(["sunlight " * 500], COMBINE)
    assert 30 < generator.count_tokens(group) <= 62  # decoding may merge a token or two


def test_a_budget_too_small_to_summarize_in(tiny_model_dir) -> None:
    generator = Generator(tiny_model_dir)
    summarizer = Summarizer(generator, budget_with_room(generator, SUMMARIZE, 10), 8)
    with pytest.raises(BadInput, match="leaves no room to summarize"):
        list(summarizer.stream(["some text"]))


def test_nothing_to_summarize(tiny_model_dir) -> None:
    with pytest.raises(BadInput, match="nothing to summarize"):
        list(Summarizer(Generator(tiny_model_dir)).stream([]))
