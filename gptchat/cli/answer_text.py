"""Plain-text and JSON renderings of answers and conversations."""

from __future__ import annotations

from gptchat.answer.retriever import Hit
from gptchat.answer.session import Answer
from gptchat.log.store import AppStore, Conversation


def source_line(number: int | None, location: str, heading: str) -> str:
    """`[n] location — heading`; `[-]` for a passage the prompt did not number."""
    label = f"[{number}]" if number is not None else "[-]"
    return f"{label} {location} — {heading}" if heading else f"{label} {location}"


def sources_lines(answer: Answer) -> list[str]:
    """The Sources list under an answer: `[n] path:lines — heading`."""
    if not answer.relevant:
        title = "Closest passages (none relevant enough to answer from):"
        return [title, *(source_line(None, h.location, h.heading) for h in answer.hits)]
    if not answer.sources:
        return []
    return [
        "Sources:",
        *(source_line(n, h.location, h.heading) for n, h in enumerate(answer.sources, 1)),
    ]


def _hit_json(hit: Hit, number: int | None) -> dict:
    return {
        "number": number,
        "path": hit.path,
        "location": hit.location,
        "heading": hit.heading,
        "line_start": hit.line_start,
        "line_end": hit.line_end,
        "page": hit.page,
        "score": round(hit.score, 6),
        "similarity": None if hit.similarity is None else round(hit.similarity, 4),
        "chunk_ids": list(hit.chunk_ids),
        "text": hit.text,
    }


def answer_json(answer: Answer) -> dict:
    """`gptchat ask --json`: the answer, its sources and its timings in one object."""
    return {
        "conversation_id": answer.conversation_id,
        "message_id": answer.message_id,
        "answer": answer.text,
        "raw_answer": answer.raw_text,
        "cut": answer.cut,
        "status": answer.status,
        "relevant": answer.relevant,
        "sources": [_hit_json(hit, answer.source_number(hit)) for hit in answer.hits],
        "cited": sorted(answer.attribution.cited) if answer.attribution else [],
        "timings": answer.timings,
    }


def conversations_table(conversations: list[Conversation]) -> list[str]:
    """`gptchat history`: one line per conversation, newest first."""
    if not conversations:
        return ['No conversations yet. Ask something: gptchat ask "QUESTION"']
    return [
        f"{c.id:>4}  {c.updated_at}  {c.index_name:<10}  {c.message_count:>3} msgs  {c.title}"
        for c in conversations
    ]


def conversation_lines(store: AppStore, conversation_id: int) -> list[str]:
    """`gptchat history ID`: every message, with each answer's sources."""
    lines: list[str] = []
    for message in store.messages(conversation_id):
        if message.role == "user":
            lines.append(f"> {message.content}")
            continue
        status = "" if message.status == "complete" else f" [{message.status}]"
        lines.append(f"{message.content}{status}")
        for source in store.sources(message.id):
            if source.source_number is not None:
                lines.append(
                    "  " + source_line(source.source_number, source.location, source.heading)
                )
        lines.append("")
    return lines
