"""Questions in another language than the documents': searched and answered in the
documents' language, the answer given back in the question's, with the same citations."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gptchat.answer.translate import Translator, missing_citations, translating_models
from gptchat.language.detect import detect_language, documents_language
from gptchat.language.languages import Language
from gptchat.model.generator import Generator


@dataclass(frozen=True)
class AskedLanguage:
    """The language of a question, when it is not the documents' (else None), and the
    question in the documents' language (None when it could not be translated)."""

    language: Language | None = None
    documents: Language | None = None
    translated: str | None = None
    note: str = ""  # why a question in another language was searched as it was written

    @property
    def foreign(self) -> bool:
        """Translated: searched and answered in the documents' language."""
        return self.language is not None and self.translated is not None


class QuestionLanguages:
    """Tells a question's language and translates across, with the answering model's base."""

    def __init__(
        self,
        sample_texts: Callable[[], list[str]],
        translator_for: Callable[[Generator], Translator] = Translator,
        documents_version: Callable[[], object] = lambda: None,
    ) -> None:
        self._sample_texts = sample_texts
        self._translator_for = translator_for
        # The documents' language is told again once they have changed (re-indexed).
        self._documents_version = documents_version
        self._documents: tuple[object, Language] | None = None
        self._translator: Translator | None = None
        self._for: Generator | None = None

    def read(self, question: str, generator: Generator) -> AskedLanguage:
        """The question's language, and the question in the documents' language if differ."""
        language, _ = detect_language(question)
        if language is None:
            return AskedLanguage()
        documents = self.documents_language()
        if language == documents:
            return AskedLanguage(documents=documents)
        if not generator.translates:
            note = (
                f"asked in {language.name}; {generator.name} cannot translate, so it was"
                f" searched as written ({translating_models()} translates: --model qwen)"
            )
            return AskedLanguage(language, documents, note=note)
        translated = self.translator(generator).translate(question, documents, language)
        return AskedLanguage(language, documents, translated or None)

    def answer(
        self, text: str, asked: AskedLanguage, generator: Generator, cancel: threading.Event
    ) -> Iterator[str]:
        """`text` (an answer in the documents' language) in the question's language, as it
        is written; a citation the translation dropped is added back at its end."""
        assert asked.language is not None
        written: list[str] = []
        translator = self.translator(generator)
        for piece in translator.stream(text, asked.language, asked.documents, cancel):
            written.append(piece)
            yield piece
        missing = missing_citations(text, "".join(written))
        if missing and not cancel.is_set():
            yield " " + "".join(missing)

    def documents_language(self) -> Language:
        """The language of the index's text, told from a sample of it once per version of
        the documents."""
        version = self._documents_version()
        if self._documents is None or self._documents[0] != version:
            self._documents = (version, documents_language(self._sample_texts()))
        return self._documents[1]

    def translator(self, generator: Generator) -> Translator:
        """A translator on `generator`'s base, kept while the answering model stays."""
        if self._translator is None or self._for is not generator:
            self._translator, self._for = self._translator_for(generator), generator
        return self._translator
