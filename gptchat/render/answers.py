"""Plain-text and JSON renderings of answers and conversations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import PurePath

from gptchat.answer.prompt import NOT_COVERED
from gptchat.answer.retriever import Hit
from gptchat.answer.session import Answer
from gptchat.answer.taught import taught_name
from gptchat.control_chars import one_line, visible
from gptchat.errors import BadInput
from gptchat.log.store import (
    AppStore,
    Conversation,
    Feedback,
    Message,
    StoredSource,
    TaughtAnswer,
)


def source_line(number: int | None, location: str, heading: str) -> str:
    """`[n] location — heading`; `[-]` for a passage the prompt did not number."""
    label = f"[{number}]" if number is not None else "[-]"
    location, heading = one_line(location), one_line(heading)
    return f"{label} {location} — {heading}" if heading else f"{label} {location}"


def shown_path(path: str, roots: Sequence[str]) -> str:
    """`path` relative to the deepest indexed folder above it; a file indexed on its own by
    its name; a path under no root as it is."""
    above = [r for r in roots if path == r or path.startswith(r.rstrip(os.sep) + os.sep)]
    if not above:
        return path
    root = max(above, key=len)
    return PurePath(path).name if path == root else path[len(root.rstrip(os.sep)) + 1 :]


def _after_path(source: StoredSource) -> str | None:
    """What the location adds to the path (`:12-20`, ` (page 3)`, ""); None if it does not
    begin with the path (a source logged before paths were kept)."""
    if source.path and source.location.startswith(source.path):
        return source.location[len(source.path) :]
    return None


def shown_location(source: StoredSource, roots: Sequence[str]) -> str:
    """The source's location with its path as shown_path gives it: `notes/a.md:12-20`."""
    after = _after_path(source)
    if after is None or source.path is None:
        return source.location
    return shown_path(source.path, roots) + after


def place_in_file(source: StoredSource) -> str:
    """Where in its file the passage lies: `12-20`, `12`, `page 3`, or "" (the whole file)."""
    return (_after_path(source) or "").strip(" :()")


def final_label(answer: Answer) -> str:
    """What the text after the streamed one is: a quote, the model's words checked, or the
    app's "not covered" in place of an answer no source supports."""
    if answer.quoted:
        return "Quoted"
    if answer.far and answer.text == NOT_COVERED:
        return "Not kept, no passage supports it"
    return "Checked"


def reading_line(answer: Answer) -> str | None:
    """What the wait before the first word is spent on, when it is reading sources (the prompt
    is built and read first: seconds on a laptop); None for a given-back or refused answer."""
    if not (answer.relevant and answer.hits):
        return None
    count = len(answer.hits)
    return f"Reading {count} source{'s' if count != 1 else ''}…"


def taught_label(taught: TaughtAnswer, stale: bool = False) -> str:
    """How a given-back answer is named: "your answer of 5 Dec (taught #3)"."""
    label = taught_name(taught)
    return f"{label}, possibly out of date: a passage it cites has changed" if stale else label


def given_back_label(store: AppStore, taught_id: int) -> str:
    """What an answer given back from a taught one is called in history: as when it was
    given ("your answer of 5 Dec (taught #3)"), or "taught #3, since forgotten"."""
    try:
        return taught_name(store.taught_answer(taught_id))
    except BadInput:
        return f"taught #{taught_id}, since forgotten"


def taught_lines(taught: TaughtAnswer) -> list[str]:
    """`gptchat taught`: a few lines for each thing taught."""
    return [
        f"#{taught.id}  {taught.created_at[:10]}  {one_line(taught.question)}",
        f"      {one_line(taught.answer)}",
    ]


def sources_lines(answer: Answer) -> list[str]:
    """The Sources list under an answer: `[n] path:lines — heading`."""
    if answer.taught is not None:
        label = taught_label(answer.taught, answer.stale)
        cited = [_source_line(source) for source in answer.taught.sources]
        return [f"Given back: {label}.", *(["Sources:", *cited] if cited else [])]
    if not answer.relevant:
        title = "Closest passages (none relevant enough to answer from):"
        return [title, *(source_line(None, h.location, h.heading) for h in answer.hits)]
    if not answer.sources:
        return []
    return [
        "Sources:",
        *(source_line(n, h.location, h.heading) for n, h in enumerate(answer.sources, 1)),
    ]


def language_line(answer: Answer) -> str | None:
    """How a question in another language was handled: searched and answered in the
    documents' language, or searched as written by a model that cannot translate."""
    asked = answer.asked
    if asked.language is None:
        return None
    if not asked.foreign or asked.documents is None:
        return asked.note[:1].upper() + asked.note[1:]
    return (
        f"Asked in {asked.language.name}; searched in {asked.documents.name}"
        f" as “{one_line(asked.translated or '')}”, answered in {asked.language.name}"
    )


def answer_language(answer: Answer) -> str | None:
    """The code of the language the answer is in, where gptchat could tell."""
    asked = answer.asked
    if asked.foreign and asked.language is not None:
        return asked.language.code
    return asked.documents.code if asked.documents is not None else None


def closing_lines(answer: Answer) -> list[str]:
    """What follows a streamed answer: its checked text, where that differs from what
    streamed (for a translated answer: the answer in the documents' language), then the
    numbered sources."""
    language = language_line(answer)
    if answer.asked.foreign:
        name = answer.asked.documents.name if answer.asked.documents else ""
        checked = [f"{final_label(answer)} ({name}): {answer.answered_text}", ""]
    elif answer.text != answer.raw_text:
        checked = [f"{final_label(answer)}: {answer.text}", ""]
    else:
        checked = []
    return [*([language, ""] if language else []), *checked, *sources_lines(answer)]


def _source_json(source: Hit | StoredSource, number: int | None) -> dict:
    """A retrieved passage (or a taught answer's source, as it was when taught) for --json."""
    lines = (source.line_start, source.line_end, source.page) if isinstance(source, Hit) else ()
    return {
        "number": number,
        "path": source.path,
        "location": source.location,
        "heading": source.heading,
        **dict(zip(("line_start", "line_end", "page"), lines, strict=False)),
        "score": round(source.score, 6),
        "similarity": _rounded(source.similarity),
        # How close its closest sentence is: what the relevance floor and the refusal read.
        "closeness": _rounded(source.closest_sentence) if isinstance(source, Hit) else None,
        "chunk_ids": list(source.chunk_ids),
        "text": source.text,
        "taught": source.taught_id,
    }


def _rounded(value: float | None) -> float | None:
    """A cosine to four places, as --json writes it."""
    return None if value is None else round(value, 4)


def passages_json(hits: list[Hit]) -> list[dict]:
    """A search's passages, numbered by rank, as `--json` writes sources."""
    return [_source_json(hit, rank) for rank, hit in enumerate(hits, start=1)]


def answer_json(answer: Answer) -> dict:
    """`gptchat ask --json`: the answer, its sources and its timings in one object."""
    return {
        "conversation_id": answer.conversation_id,
        "message_id": answer.message_id,
        "answer": answer.text,
        "raw_answer": answer.raw_text,
        "cut": answer.cut,
        "quoted": answer.quoted,
        "status": answer.status,
        "relevant": answer.relevant,
        "far": answer.far,
        "taught": answer.taught.id if answer.taught else None,
        "given_back": taught_label(answer.taught, answer.stale) if answer.taught else None,
        "stale": answer.stale,
        "sources": (
            [_source_json(source, source.source_number) for source in answer.taught.sources]
            if answer.taught
            else [_source_json(hit, answer.source_number(hit)) for hit in answer.hits]
        ),
        "cited": sorted(answer.attribution.cited) if answer.attribution else [],
        # A question in another language than the documents': searched in theirs.
        "question_language": answer.asked.language.code if answer.asked.language else None,
        "translated_question": answer.asked.translated,
        "answer_language": answer_language(answer),
        "answer_in_documents_language": answer.answered_text if answer.asked.foreign else None,
        "language_note": answer.asked.note or None,
        "timings": answer.timings,
    }


def conversations_table(conversations: list[Conversation], query: str = "") -> list[str]:
    """`gptchat history`: one line per conversation, newest first."""
    if not conversations and query.strip():
        return [f"No conversation mentions {query!r}."]
    if not conversations:
        return ['No conversations yet. Ask something: gptchat ask "QUESTION"']
    return [
        f"{c.id:>4}  {c.updated_at}  {c.index_name:<10}  {c.message_count:>3} msgs  {c.title}"
        for c in conversations
    ]


@dataclass(frozen=True)
class _Turn:
    """A logged message and, for an answer, its numbered sources and the user's feedback."""

    message: Message
    sources: list[StoredSource]
    feedback: Feedback | None


def _turns(store: AppStore, conversation_id: int) -> list[_Turn]:
    """Every message of a conversation, in order, as all three renderings read it."""
    turns = []
    for message in store.messages(conversation_id):
        if message.role == "user":
            turns.append(_Turn(message, [], None))
            continue
        numbered = [s for s in store.sources(message.id) if s.source_number is not None]
        turns.append(_Turn(message, numbered, store.feedback(message.id)))
    return turns


def _source_line(source: StoredSource) -> str:
    return source_line(source.source_number, source.location, source.heading)


def conversation_lines(store: AppStore, conversation_id: int) -> list[str]:
    """`gptchat history ID`: every message, with each answer's sources."""
    lines: list[str] = []
    for turn in _turns(store, conversation_id):
        message = turn.message
        if message.role == "user":
            lines.append(f"> {message.content}")
            continue
        status = "" if message.status == "complete" else f" [{message.status}]"
        given_back = (
            f" [given back: {given_back_label(store, message.taught_id)}]"
            if message.taught_id
            else ""
        )
        lines.append(f"{message.content}{status}{given_back}")
        lines.extend("  " + _source_line(source) for source in turn.sources)
        if turn.feedback is not None:
            lines.extend("  " + line for line in feedback_lines(turn.feedback))
        lines.append("")
    return lines


def feedback_lines(feedback: Feedback) -> list[str]:
    """What the user said of an answer, one line each."""
    lines = []
    if feedback.rating is not None:
        lines.append(f"rated {feedback.rating:+d}")
    if feedback.correction:
        lines.append(f"corrected: {feedback.correction}")
    if feedback.comment:
        lines.append(f"comment: {feedback.comment}")
    return lines


def conversations_json(conversations: list[Conversation]) -> list[dict]:
    """`gptchat history --json`."""
    return [asdict(conversation) for conversation in conversations]


def conversation_json(store: AppStore, conversation_id: int) -> dict:
    """`gptchat history ID --json`: the conversation, each message with sources and feedback."""
    conversation = store.conversation(conversation_id)
    assert conversation is not None  # the caller checked
    messages = []
    for turn in _turns(store, conversation_id):
        row = {
            key: value
            for key, value in asdict(turn.message).items()
            if key not in ("prompt", "conversation_id")  # the prompt is long; eval has it
        }
        if turn.message.role == "assistant":
            row["sources"] = [
                {"number": s.source_number, "location": s.location, "heading": s.heading}
                for s in turn.sources
            ]
            row["feedback"] = asdict(turn.feedback) if turn.feedback else None
        messages.append(row)
    return {**asdict(conversation), "messages": messages}


def conversation_markdown(store: AppStore, conversation_id: int) -> str:
    """A conversation as a Markdown document: questions, answers, their sources and feedback."""
    conversation = store.conversation(conversation_id)
    assert conversation is not None  # the caller checked
    when = conversation.created_at[:16].replace("T", " ")
    lines = [f"# {conversation.title}", "", f"{when} · index `{conversation.index_name}`", ""]
    for turn in _turns(store, conversation_id):
        message = turn.message
        if message.role == "user":
            lines += ["## " + " ".join(message.content.split()), ""]
            continue
        status = "" if message.status == "complete" else f" *({message.status})*"
        lines += [message.content + status, ""]
        if turn.sources:
            lines += ["Sources:", "", *(f"- {_source_line(s)}" for s in turn.sources), ""]
        if turn.feedback is not None:
            lines += [f"> {line}" for line in feedback_lines(turn.feedback)] + [""]
    # A file that `cat` shows: escape sequences from documents or the model stay inert.
    return visible("\n".join(lines))
