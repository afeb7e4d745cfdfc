"""ChatSession: retrieve, build the prompt, generate, and log the exchange."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from gptchat.answer.attribution import Attribution, attribute, complete_sentences
from gptchat.answer.prompt import (
    NOT_COVERED,
    REFUSAL,
    Prompt,
    PromptOptions,
    Turn,
    build_prompt,
    is_refusal,
)
from gptchat.answer.question_language import AskedLanguage, QuestionLanguages
from gptchat.answer.quoting import quoted_answer
from gptchat.answer.refusal import RefusalPenalty
from gptchat.answer.retriever import Hit, Retrieval, Retriever
from gptchat.answer.taught import TaughtAnswers, TaughtMatch, still_indexed, taught_source
from gptchat.language.detect import detect_language
from gptchat.language.detect import preload as preload_language_classifier
from gptchat.log.store import AppStore, StoredSource, TaughtAnswer, conversation_title
from gptchat.model.generator import DecodeOptions, Generator
from gptchat.workspace import DEFAULT_K

SAMPLE_CHUNKS = 20  # passages read to tell the documents' language


@dataclass
class Answer:
    """One answer in progress: iterate for its text as it streams; the fields fill in."""

    conversation_id: int
    message_id: int
    hits: list[Hit]
    relevant: bool
    sources: list[Hit] = field(default_factory=list)  # the hits that went into the prompt
    text: str = ""  # the final answer: complete sentences, checked citations
    raw_text: str = ""  # what the model wrote, as streamed
    status: str = "streaming"  # then complete, no_answer, interrupted or error
    timings: dict = field(default_factory=dict)
    attribution: Attribution | None = None
    query: str = ""  # what retrieval searched for: the question, after the one before it
    cut: bool = False  # the token cap ended it mid-sentence
    quoted: bool = False  # an explanation answered with the sources' own sentences
    # Shown to the model though retrieval found nothing close (a model taught to refuse reads
    # further): an answer no source supports is then taken for invented, and not kept.
    far: bool = False
    # Given back as the user taught it (no generation); `stale`: a passage it cites has
    # changed or left the index since.
    taught: TaughtAnswer | None = None
    stale: bool = False
    # Asked in another language than the documents': searched and answered in theirs
    # (`answered_text`), the answer given in the question's (`text`).
    asked: AskedLanguage = field(default_factory=AskedLanguage)
    answered_text: str = ""
    _pieces: Iterator[str] | None = None

    def __iter__(self) -> Iterator[str]:
        return self._pieces or iter(())

    def source_number(self, hit: Hit) -> int | None:
        """The [n] a retrieved hit had in the prompt, or None if the budget left it out."""
        numbered = (n for n, source in enumerate(self.sources, start=1) if source is hit)
        return next(numbered, None)


class ChatSession:
    """The one object the CLI and the app call to ask a question."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        store: AppStore,
        index_name: str,
        k: int = DEFAULT_K,
        budget: PromptOptions | None = None,
        decode: DecodeOptions | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.store = store
        self.index_name = index_name
        self.k = k
        self.budget = budget or PromptOptions()
        self.decode = decode or DecodeOptions(max_new_tokens=self.budget.answer_tokens)
        self.refusal = RefusalPenalty()
        self.taught = TaughtAnswers(store, retriever.embedder, retriever.index, index_name)
        # What was taught on this index also ranks passages for every search of it.
        retriever.taught = self.taught
        self.languages = QuestionLanguages(
            self.sample_texts, documents_version=retriever.index.store.data_version
        )
        preload_language_classifier()

    def sample_texts(self) -> list[str]:
        """Passages from across the index, to tell the language its documents are in."""
        index = self.retriever.index
        ids = index.chunk_ids()
        spread = ids[:: max(1, len(ids) // SAMPLE_CHUNKS)][:SAMPLE_CHUNKS]
        return [chunk.text for chunk in index.chunks(spread)]

    def _decoding(self, prompt: Prompt) -> DecodeOptions:
        """The decode settings for one answer: a model taught to refuse weighs its refusal
        against how close the sources are to the question."""
        if not self.generator.learned_refusal:
            return self.decode
        penalty = self.refusal.for_sources(prompt.sources)
        return replace(self.decode, discouraged_opening=REFUSAL, opening_penalty=penalty)

    def ask(
        self,
        question: str,
        conversation_id: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Answer:
        """Start answering `question`; the answer is logged however its streaming ends."""
        question = question.strip()
        # Checked before anything is stored or retrieved: a question that cannot fit the
        # prompt is refused at once, not after seconds of searching.
        build_prompt(self.generator, question, [], [], self.budget)
        if conversation_id is None:
            conversation_id = self.store.new_conversation(
                conversation_title(question), self.index_name
            )
        else:
            self.store.existing_conversation(conversation_id)
        history = self._history(conversation_id)
        # The question is stored before any work, so it is never lost.
        question_id = self.store.add_message(conversation_id, "user", question)
        answer_id = self.store.add_message(
            conversation_id, "assistant", "", status="streaming", reply_to=question_id
        )
        asked = self.languages.read(question, self.generator)
        # A question in another language is searched and answered in the documents'.
        searched = asked.translated if asked.foreign and asked.translated else question
        vector = self.retriever.embedder.encode([searched])[0]
        match = None
        # A follow-up that leans on the turn before is not the question it was taught on.
        if not (history and leans_on_previous_turn(searched)):
            match = self.taught.nearest(searched, vector)
            if match is not None and match.same:
                given = self._give_back(match, conversation_id, answer_id, asked)
                given._pieces = self._given_back(given, cancel or threading.Event())
                return given
        also = question if asked.foreign else None
        query, retrieval = retrieve_for_turn(
            self.retriever, searched, history, self.k, vector, also
        )
        relevant = self.refusal.shows_model(retrieval, self.generator.learned_refusal)
        hits = retrieval.hits
        if match is not None:
            # A close question: the user's answer to theirs is the first source to read.
            hits, relevant = [taught_source(match), *hits], True
        answer = Answer(conversation_id, answer_id, hits, relevant)
        answer.far = relevant and not retrieval.relevant
        answer.query = query
        answer.asked = asked
        answer.timings["retrieval_ms"] = round(retrieval.milliseconds, 1)
        if asked.language is not None:
            answer.timings["question_language"] = asked.language.code
        if asked.foreign:
            # Recorded with the answer: its prompt is in the documents' language, its text not.
            answer.timings["translated_question"] = asked.translated
        answer._pieces = self._stream(answer, searched, history, cancel or threading.Event())
        return answer

    def _give_back(
        self, match: TaughtMatch, conversation_id: int, answer_id: int, asked: AskedLanguage
    ) -> Answer:
        """The taught answer as this answer, with the passages it cites: no generation."""
        taught = match.taught
        answer = Answer(conversation_id, answer_id, [], relevant=True, taught=taught)
        answer.text = answer.raw_text = answer.answered_text = taught.answer
        answer.status = "complete"
        answer.asked = asked
        answer.stale = any(
            not still_indexed(self.retriever.index, source)
            for source in taught.sources
            if source.taught_id is None  # a taught answer it cited is no passage
        )
        answer.timings["taught_similarity"] = round(match.similarity, 4)
        if asked.foreign and asked.language is not None:
            answer.timings["question_language"] = asked.language.code
            answer.timings["translated_question"] = asked.translated
        return answer

    def _given_back(self, answer: Answer, cancel: threading.Event) -> Iterator[str]:
        """The taught answer's text, in the question's language where it was asked in another
        and taught in the documents' (a correction typed in its language is given as it is);
        kept once it has been given."""
        taught = answer.taught
        assert taught is not None
        try:
            with _status_by_how_it_ends(answer):
                asked = answer.asked
                if asked.foreign and detect_language(taught.answer)[0] != asked.language:
                    yield from self._translated(answer, cancel)
                else:
                    yield answer.text
        finally:
            self._keep_given_back(answer, taught)

    def _keep_given_back(self, answer: Answer, taught: TaughtAnswer) -> None:
        """Store a given-back answer as given, and count the taught answer's use."""
        sources = [replace(source, rank=rank) for rank, source in enumerate(taught.sources, 1)]
        # No prompt and no model: a given-back answer is never training data a second time.
        self.store.finish_answer(
            answer.message_id,
            answer.text,
            answer.raw_text,
            answer.status,
            None,
            None,
            answer.timings,
            sources,
        )
        self.store.mark_taught_use(answer.message_id, taught.id)

    def _stream(
        self, answer: Answer, question: str, history: list[Turn], cancel: threading.Event
    ) -> Iterator[str]:
        prompt_text: str | None = None
        parts: list[str] = []
        # An answer to a question in another language is written whole in the documents'
        # language first, checked, then streamed as it is translated.
        translating = answer.asked.foreign
        finished = False
        try:
            with _status_by_how_it_ends(answer):
                if not answer.relevant:
                    answer.status = "no_answer"
                    parts.append(NOT_COVERED)
                    pieces: Iterator[str] = iter([NOT_COVERED])
                else:
                    prompt = build_prompt(
                        self.generator, question, answer.hits, history, self.budget
                    )
                    prompt_text, answer.sources = prompt.text, prompt.sources
                    if cancel.is_set():  # stopped while searching: no answer is begun
                        answer.status = "interrupted"
                        return
                    pieces = self._generate(answer, prompt, parts, cancel)
                for piece in pieces:
                    if not translating:
                        yield piece
                if translating and not cancel.is_set():
                    self._finish(answer, question, prompt_text, parts)
                    finished = True
                    yield from self._translated(answer, cancel)
        finally:
            if not finished:
                self._finish(answer, question, prompt_text, parts)
            self._log(answer, prompt_text)

    def _generate(
        self, answer: Answer, prompt: Prompt, parts: list[str], cancel: threading.Event
    ) -> Iterator[str]:
        """The model's answer to `prompt`, piece by piece into `parts`; its status and timings
        are set on `answer` once it stops."""
        generation = self.generator.stream(prompt.text, self._decoding(prompt), cancel)
        for piece in generation:
            if cancel.is_set():
                generation.close()
                break  # what was decoded after the stop is neither shown nor kept
            parts.append(piece)
            yield piece
        stats = generation.stats
        stopped = cancel.is_set() or stats.stopped_by == "cancelled"
        answer.status = "interrupted" if stopped else "complete"
        answer.timings.update(
            prompt_tokens=stats.prompt_tokens,
            new_tokens=stats.new_tokens,
            first_token_ms=round(stats.first_token_ms or 0.0, 1),
            total_ms=round(stats.total_ms, 1),
            decode_tokens_per_s=round(stats.decode_tokens_per_s, 2),
            stopped_by=stats.stopped_by,
        )

    def _finish(
        self, answer: Answer, question: str, prompt_text: str | None, parts: list[str]
    ) -> None:
        """The answer's text from what the model wrote, checked once it has stopped."""
        answer.raw_text = answer.text = "".join(parts).strip()
        if prompt_text is not None and answer.status in ("complete", "interrupted"):
            self._finish_text(answer, question)
        answer.answered_text = answer.text

    def _translated(self, answer: Answer, cancel: threading.Event) -> Iterator[str]:
        """The checked answer in the question's language, streamed as it is translated; the
        answer's text becomes the translation (the documents' language stays in
        `answered_text`)."""
        assert answer.asked.language is not None  # a translated question's
        language = answer.asked.language
        started = time.perf_counter()
        pieces: list[str] = []
        try:
            for piece in self.languages.answer(answer.text, answer.asked, self.generator, cancel):
                pieces.append(piece)
                yield piece
        finally:
            translated = "".join(pieces).strip()
            if translated:
                answer.text = translated
            answer.timings["answer_language"] = language.code
            # What the prompt's language answer was: what a +1 on this answer trains on.
            answer.timings["documents_language_answer"] = answer.answered_text
            answer.timings["translation_ms"] = round((time.perf_counter() - started) * 1000, 1)

    def _finish_text(self, answer: Answer, question: str) -> None:
        """End at a complete sentence, answer explanations in the sources' words, and check
        the citations, once the model has stopped."""
        started = time.perf_counter()
        text = answer.raw_text
        if answer.timings.get("stopped_by") == "length":
            text, answer.cut = complete_sentences(text)
            if answer.cut and text == answer.raw_text:
                text += " …"  # no complete sentence to end at: show that it was cut
        if is_refusal(text):
            answer.status = "no_answer"
            answer.text = text
            return
        embed = self.retriever.embedder.encode
        # A source is its heading trail and its text, as the prompt showed it.
        shown = [
            f"{hit.heading}\n{hit.text}" if hit.heading else hit.text for hit in answer.sources
        ]
        if not answer.cut and answer.status == "complete":
            # Only the passage text is quoted: a heading is not a sentence of the source.
            quote = quoted_answer(question, text, [hit.text for hit in answer.sources])
            answer.quoted = quote is not None
            text = quote or text
        answer.attribution = attribute(text, shown, embed)
        answer.text = answer.attribution.text
        if answer.far and answer.status == "complete" and not answer.attribution.cited:
            answer.status = "no_answer"
            answer.text = NOT_COVERED
        answer.timings["attribution_ms"] = round((time.perf_counter() - started) * 1000, 1)

    def _log(self, answer: Answer, prompt_text: str | None) -> None:
        evidence = _evidence(answer.attribution)
        sources = [
            StoredSource(
                rank=rank,
                source_number=answer.source_number(hit),
                chunk_ids=list(hit.chunk_ids),
                location=hit.location,
                heading=hit.heading,
                score=hit.score,
                similarity=hit.similarity,
                text=hit.text,
                path=hit.path,
                evidence=evidence.get(answer.source_number(hit)),
                taught_id=hit.taught_id,
            )
            for rank, hit in enumerate(answer.hits, start=1)
        ]
        self.store.finish_answer(
            answer.message_id,
            answer.text,
            answer.raw_text,
            answer.status,
            self.generator.name if prompt_text else None,
            prompt_text,
            answer.timings,
            sources,
        )

    def _history(self, conversation_id: int) -> list[Turn]:
        """Earlier question-answer pairs of the conversation, oldest first."""
        messages = self.store.messages(conversation_id)
        questions = {m.id: m.content for m in messages if m.role == "user"}
        return [
            Turn(questions[m.reply_to], m.content)
            for m in messages
            if m.role == "assistant" and m.status == "complete" and m.reply_to in questions
        ]


@contextmanager
def _status_by_how_it_ends(answer: Answer) -> Iterator[None]:
    """An answer's stream stopped by its reader or Ctrl-C is interrupted; one that raised is
    an error."""
    try:
        yield
    except (GeneratorExit, KeyboardInterrupt):
        answer.status = "interrupted"
        raise
    except BaseException:
        answer.status = "error"
        raise


def retrieve_for_turn(
    retriever: Retriever,
    question: str,
    history: list[Turn],
    k: int,
    vector: np.ndarray | None = None,
    also: str | None = None,
) -> tuple[str, Retrieval]:
    """The passages for a question in a conversation (`vector`: the question's embedding,
    if made already; `also`: the question as asked, when `question` is its translation),
    and the query that found them."""
    query = retrieval_query(question, history)
    retrieval = retriever.retrieve(query, k, vector if query == question else None, also)
    if history and query == question and not retrieval.relevant:
        # Standing alone it found nothing close: perhaps it was a follow-up after all.
        joined = with_previous_question(question, history)
        second = retriever.retrieve(joined, k)
        if second.relevant:
            return joined, second
    return query, retrieval


def retrieval_query(question: str, history: list[Turn]) -> str:
    """What to search for first: a follow-up that leans on the turn before ("How do I retry
    it?", "And for staging?") says what it is about only together with the last question;
    a question that stands alone is searched alone, so the last topic does not crowd it out."""
    if not history or not leans_on_previous_turn(question):
        return question
    return with_previous_question(question, history)


def with_previous_question(question: str, history: list[Turn]) -> str:
    """The question with the last one before it, for a follow-up's search."""
    return f"{history[-1].question} {question}"


# Words that point back at something said before ("that" is left out: as in "the key that
# expires", it mostly starts a clause), and openings of an elliptical follow-up.
_POINTS_BACK = re.compile(
    r"\b(?:it|its|they|them|their|this|these|those|he|she|him|her)\b", re.IGNORECASE
)
_ELLIPTICAL_OPENINGS = ("and ", "or ", "but ", "what about", "how about", "also", "same ")
_SHORT_QUESTION_WORDS = 3  # "Why?", "And staging?": too few words to stand alone
# A pronoun in a longer question mostly points inside it ("what does it offer?" after naming
# the thing): 12 words kept every new-topic pair of claude-docs standing alone and joined
# the squad-dev follow-ups (benchmarks/follow_up_benchmark.py, BENCHMARKS.md).
_POINTING_QUESTION_WORDS = 12


def leans_on_previous_turn(question: str) -> bool:
    """Whether a question needs the turn before it to be understood."""
    text = question.strip().lower()
    words = len(re.findall(r"\w+", text))
    return (
        words <= _SHORT_QUESTION_WORDS
        or text.startswith(_ELLIPTICAL_OPENINGS)
        or (words <= _POINTING_QUESTION_WORDS and _POINTS_BACK.search(text) is not None)
    )


def _evidence(attribution: Attribution | None) -> dict[int | None, str]:
    """Source number -> the sentence of that source that supports the answer."""
    found: dict[int | None, str] = {}
    for sentence in attribution.sentences if attribution else []:
        for number, text in sentence.evidence.items():
            found.setdefault(number, text)
    return found
