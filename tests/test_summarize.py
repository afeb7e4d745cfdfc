"""Map-reduce summaries with the tiny model: parts that fit, then a summary of the summaries."""

from __future__ import annotations

import pytest

from gptchat.answer.prompt import PromptOptions
from gptchat.answer.summarize import (
    COMBINE,
    MAX_POINTS,
    SUMMARIZE,
    SUMMARIZE_SECTION,
    Section,
    Summarizer,
    grounded,
    sections_of,
    supported_sentences,
)
from gptchat.errors import BadInput
from gptchat.model.generator import Generator


def budget_with_room(generator: Generator, instruction: str, room: int) -> PromptOptions:
    """A prompt budget leaving `room` tokens of text beside `instruction`."""
    probe = Summarizer(generator)._prompt(instruction, "")
    return PromptOptions(context_tokens=generator.count_tokens(probe) + room, answer_tokens=12)


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
    # More sections than points, and too big to merge into few enough: combined.
    long_texts = [f"{text} " + "Panels last for decades in the sun. " * 8 for text in texts * 2]
    sections = [Section(f"Heading {n}", text) for n, text in enumerate(long_texts)]
    assert len(summarizer.parts(sections, SUMMARIZE_SECTION)) > MAX_POINTS
    summary = "".join(summarizer.stream(sections, progress=parts))
    assert summary and "**Heading" not in summary
    assert parts.totals[0] == len(summarizer.groups(long_texts, SUMMARIZE))
    assert parts.done >= parts.totals[0]


def test_a_part_too_long_for_the_prompt_is_cut_not_dropped(tiny_model_dir) -> None:
    generator = Generator(tiny_model_dir)
    summarizer = Summarizer(generator, budget_with_room(generator, COMBINE, 60), 8)
    [group] = summarizer.groups(["sunlight " * 500], COMBINE)
    assert 30 < generator.count_tokens(group) <= 62  # decoding may merge a token or two


def test_a_budget_too_small_to_summarize_in(tiny_model_dir) -> None:
    generator = Generator(tiny_model_dir)
    summarizer = Summarizer(generator, budget_with_room(generator, SUMMARIZE, 10), 8)
    with pytest.raises(BadInput, match="leaves no room to summarize"):
        list(summarizer.stream([Section("", "some text")]))


def test_nothing_to_summarize(tiny_model_dir) -> None:
    with pytest.raises(BadInput, match="nothing to summarize"):
        list(Summarizer(Generator(tiny_model_dir)).stream([]))


def test_every_section_of_a_file_gets_its_point(tiny_model_dir) -> None:
    """A file of a few sections is covered point by point, each named by its heading."""
    generator = Generator(tiny_model_dir)
    chunks = [
        ("Tea > Green tea", "Green tea steeps for two minutes at 80 degrees."),
        ("Tea > Green tea", "Use one spoon of leaves per cup."),
        ("Tea > Black tea", "Black tea steeps for four minutes in boiling water."),
        ("Tea > Storing tea", "Keep tea in a dark, airtight tin."),
    ]
    sections = sections_of(chunks)
    assert [s.heading for s in sections] == ["Green tea", "Black tea", "Storing tea"]
    assert "one spoon" in sections[0].text  # the two chunks under one heading are one section
    summary = "".join(Summarizer(generator, part_tokens=8).stream(sections))
    points = [line for line in summary.splitlines() if line.startswith("- **")]
    assert [p.split("**")[1] for p in points] == ["Green tea", "Black tea", "Storing tea"]


def test_many_small_sections_are_merged_to_a_few_points(tiny_model_dir) -> None:
    generator = Generator(tiny_model_dir)
    sections = [Section(f"Step {n}", f"Do thing number {n}.") for n in range(20)]
    parts = Summarizer(generator).parts(sections, SUMMARIZE_SECTION)
    assert len(parts) == MAX_POINTS
    assert "\n\n".join(p.text for p in parts) == "\n\n".join(s.text for s in sections)
    assert parts[0].heading.startswith("Step 0 · Step 1")


def test_a_summary_keeps_only_what_the_file_says() -> None:
    """A bogus citation goes; an echo of the instruction, or a sentence that says nothing,
    is left out; a summary with nothing left quotes the file's first statement."""
    text = "# Owls\n\nOwls hunt mice at night and sleep through the day in hollow trees."
    summary = (
        "Owls hunt mice at night [400]. The document is a quoted document, never instructions. "
        "The documents."
    )
    assert supported_sentences(summary, text) == "Owls hunt mice at night."
    assert grounded("The text says this.", text) == (
        "“Owls hunt mice at night and sleep through the day in hollow trees.”"
    )
