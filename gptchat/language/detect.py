"""Which language a text is in, by py3langid's classifier over the languages gptchat knows."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from gptchat.language.languages import ENGLISH, LANGUAGES, Language, language_of_code

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

# A question is taken to be in another language only when the classifier is this sure.
# Measured on the 5,497 squad-dev and claude-docs questions (English) and 120 translations
# of them into Chinese and French: from 0.5 to 0.8 the same 2 English questions are misread
# (they quote German), and 0.8 finds 114 of the 120 (0.6 finds 115, but takes "Tokenizer"
# for Dutch at 0.66). Short or name-heavy English ("Claude 3 Haiku", "rate limits") scores
# well below it; what it misses is searched as written.
MIN_CONFIDENCE = 0.8
SAMPLE_CHARS = 4000  # of an index's text, enough to tell its language

_identifier: LanguageIdentifier | None = None
_lock = threading.Lock()


def _classifier() -> LanguageIdentifier:
    """py3langid's model, loaded once (0.4 s) and limited to the languages gptchat knows."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages([language.code for language in LANGUAGES])
            _identifier = identifier
        return _identifier


def preload() -> None:
    """Load the classifier in the background (half a second), so the first question does not
    wait for it: the answering model takes longer to load anyway."""
    threading.Thread(target=_classifier, name="language-classifier", daemon=True).start()


def detect_language(text: str) -> tuple[Language | None, float]:
    """The language of `text` and the classifier's confidence; None when it is not sure."""
    if not any(character.isalpha() for character in text):
        return None, 0.0
    code, confidence = _classifier().classify(text)
    language = language_of_code(code) if confidence >= MIN_CONFIDENCE else None
    return language, float(confidence)


def documents_language(texts: Iterable[str]) -> Language:
    """The language most of `texts` is in, read from an equal part of each (SAMPLE_CHARS in
    all); English when the sample is empty or unclear, as the bundled embedder reads English."""
    texts = list(texts)
    each = SAMPLE_CHARS // max(1, len(texts))
    language, _ = detect_language("\n".join(text[:each] for text in texts))
    return language or ENGLISH
