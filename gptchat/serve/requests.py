"""What the HTTP API accepts: OpenAI's chat request, and gptchat's search and feedback."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gptchat.workspace import DEFAULT_K

MAX_MESSAGES = 200  # a conversation longer than this is kept by its id, not resent


class TextPart(BaseModel):
    """One part of a message's content; parts other than text (images) are refused."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    """`POST /v1/chat/completions`. Sampling settings a client sends (temperature, top_p...)
    are ignored: answers are decoded as `gptchat ask` decodes them."""

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    # gptchat's own: continue this logged conversation (its earlier turns are the history).
    conversation_id: int | None = Field(default=None, ge=1)

    @property
    def question(self) -> str:
        """The last message, which must be the user's."""
        last = self.messages[-1]
        if last.role != "user":
            raise ValueError(f"the last message must be the user's question, not {last.role}'s")
        return last.text


class SearchRequest(BaseModel):
    """`POST /v1/search`: passages only, no model."""

    model_config = ConfigDict(extra="forbid")

    query: str
    k: int = Field(default=DEFAULT_K, ge=1, le=50)


class FeedbackRequest(BaseModel):
    """`POST /v1/feedback`: on a logged answer, what the app's keys record."""

    model_config = ConfigDict(extra="forbid")

    message_id: int = Field(ge=1)
    rating: Literal[1, -1] | None = None
    correction: str | None = None
    comment: str | None = None
