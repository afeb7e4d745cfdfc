"""The languages gptchat detects and translates: codes, names, and one example sentence each."""

from __future__ import annotations

from dataclasses import dataclass

from gptchat.errors import BadInput


@dataclass(frozen=True)
class Language:
    """A language by its ISO 639-1 code, its English name, and the example sentence in it."""

    code: str
    name: str
    # "Where is the station? It closes at nine [1]." in this language: the translator shows
    # the model one translation into the target first (a 0.5B model told only to translate
    # a question answers it instead), citation mark included, so marks are kept.
    example: str


LANGUAGES: tuple[Language, ...] = (
    Language("en", "English", "Where is the station? It closes at nine [1]."),
    Language("zh", "Chinese (Simplified)", "车站在哪里？它九点关门 [1]。"),
    Language("fr", "French", "Où est la gare ? Elle ferme à neuf heures [1]."),
    Language("de", "German", "Wo ist der Bahnhof? Er schließt um neun Uhr [1]."),
    Language("es", "Spanish", "¿Dónde está la estación? Cierra a las nueve [1]."),
    Language("it", "Italian", "Dov'è la stazione? Chiude alle nove [1]."),
    Language("pt", "Portuguese", "Onde fica a estação? Ela fecha às nove [1]."),
    Language("nl", "Dutch", "Waar is het station? Het sluit om negen uur [1]."),
    Language("ru", "Russian", "Где вокзал? Он закрывается в девять [1]."),
    Language("ja", "Japanese", "駅はどこですか？九時に閉まります [1]。"),
    Language("ko", "Korean", "역은 어디에 있어요? 아홉 시에 닫아요 [1]."),
)
ENGLISH = LANGUAGES[0]
_BY_KEY = {key: language for language in LANGUAGES for key in (language.code, language.name)}
_ALIASES = {"chinese": "zh", "zh-cn": "zh", "zh-hans": "zh", "中文": "zh", "français": "fr"}


def language_named(name: str) -> Language:
    """The language `name` spells: a code ("zh") or an English name ("Chinese"), any case."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    for candidate, language in _BY_KEY.items():
        if candidate.lower() == key or language.name.split(" (")[0].lower() == key:
            return language
    known = ", ".join(f"{language.code} ({language.name})" for language in LANGUAGES)
    raise BadInput(f"no language called {name!r}; gptchat knows {known}")


def language_of_code(code: str) -> Language | None:
    """The language with ISO code `code`, None if gptchat does not know it."""
    return next((language for language in LANGUAGES if language.code == code), None)
