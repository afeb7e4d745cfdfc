"""Slash commands typed in the app's input: `/index PATH`, `/summarize FILE`, and the rest."""

from __future__ import annotations

from dataclasses import dataclass

from gptchat.errors import BadInput
from gptchat.language.languages import Language, language_named
from gptchat.log.store import conversation_title

# name -> (argument, what it does); the help text and the command palette read this table.
COMMANDS: dict[str, tuple[str, str]] = {
    "index": ("PATH", "add a file or folder to the index"),
    "summarize": ("FILE [--to LANG]", "summarize one indexed file (in LANG: zh, fr, de, ...)"),
    "translate": (
        "LANG [TEXT|FILE]",
        "translate TEXT, a file, or the latest answer into LANG (needs a model that translates)",
    ),
    "generate": ("TEXT", "continue TEXT with the model: no documents"),
    "model": ("[N|base|PATH]", "show the model and its versions, or switch to one"),
    "new": ("", "start a new conversation"),
    "export": ("[FILE]", "write this conversation as Markdown"),
    "find": ("[TEXT]", "list only the conversations that mention TEXT (none: all)"),
    "taught": (
        "[edit N|forget N]",
        "what you taught (given back when asked again); edit N changes it, forget N stops it",
    ),
    "help": ("", "list these commands and keys"),
}
# The keys, for /help: the footer shows only those of the focused widget.
KEYS: list[tuple[str, str]] = [
    ("Enter", "ask (or run a /command)"),
    ("Esc", "stop the answer; back to the input"),
    ("Up", "from the empty input, select the latest answer; Up/Down move between answers"),
    ("+ / - / e / c / y", "on an answer: rate, correct, comment, copy"),
    ("Ctrl+O", "the sources of the selected answer; Enter reads one"),
    ("Ctrl+B", "the conversation list: Enter opens, r renames, d deletes"),
    ("Ctrl+N", "new conversation"),
    ("Ctrl+P", "command palette (themes too)"),
    ("Ctrl+Q", "quit"),
]
# The commands whose output is kept in the conversation like an answer.
LOGGED_COMMANDS = ("generate", "summarize", "translate")
# "[PATH]" is optional; "PATH" or "LANG [TEXT]" is required.
_NEEDS_ARGUMENT = {name for name, (argument, _) in COMMANDS.items() if argument[:1].isalpha()}
_TO_OPTION = " --to "


@dataclass(frozen=True)
class SlashCommand:
    name: str
    argument: str

    @property
    def heading(self) -> str:
        """What its output is called on screen: "continuation", "summary of FILE"."""
        if self.name == "generate":
            return "continuation"
        if self.name == "translate":
            return f"translation into {self.argument.split(' ')[0]}"
        name, to, language = f" {self.argument}".rpartition(_TO_OPTION)
        if to:
            return f"summary of {name.strip()} in {language.strip()}"
        return f"summary of {self.argument}"

    @property
    def title(self) -> str:
        """The title of a conversation this command starts."""
        if self.name == "generate":
            return conversation_title(f"Continuation of “{self.argument}”")
        return conversation_title(self.heading.capitalize())

    def summary_file(self) -> tuple[str, Language | None]:
        """/summarize's FILE and the language asked for with --to, if any."""
        name, to, language = f" {self.argument}".rpartition(_TO_OPTION)
        if not to:
            return self.argument, None
        if not name.strip() or not language.strip():
            raise BadInput("/summarize FILE --to LANG: name the file and the language")
        return name.strip(), language_named(language)

    def translation(self) -> tuple[Language, str]:
        """/translate's target language and the text or file to translate ("" if none)."""
        code, _, text = self.argument.partition(" ")
        return language_named(code), text.strip()


def parse_slash_command(text: str) -> SlashCommand | None:
    """The command `text` spells, None if it is a question; BadInput if it is no command."""
    text = text.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, _, argument = text[1:].partition(" ")
    name, argument = name.lower(), argument.strip()
    if name not in COMMANDS:
        raise BadInput(f"/{name}: no such command (try /help)")
    if name in _NEEDS_ARGUMENT and not argument:
        raise BadInput(f"/{name} needs {COMMANDS[name][0]}")
    return SlashCommand(name, argument)


def reply_heading(question: str) -> str:
    """What the stored reply to `question` is called on screen: a command's output, or an
    answer (a question that looks like no command is one)."""
    try:
        command = parse_slash_command(question)
    except BadInput:
        return "answer"
    return command.heading if command and command.name in LOGGED_COMMANDS else "answer"


def help_lines() -> list[str]:
    commands = [
        f"/{name} {argument}".rstrip() + f" — {what}" for name, (argument, what) in COMMANDS.items()
    ]
    return ["Commands:", *commands, "", "Keys:", *(f"{key} — {what}" for key, what in KEYS)]
