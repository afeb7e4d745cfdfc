"""One index and one loaded model, shared by every request of the HTTP API and MCP server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread

from gptchat.answer.open_session import OpenSession, open_chat_session
from gptchat.answer.retriever import Retrieval, Retriever
from gptchat.answer.session import Answer
from gptchat.answer.taught import TaughtAnswers
from gptchat.errors import BadInput
from gptchat.index.catalog import open_searchable_index
from gptchat.log.store import AppStore, Feedback
from gptchat.model.loading import ModelOptions
from gptchat.model.versions import (
    ModelChoice,
    active_choice,
    active_generator,
    choice_for,
    default_choice,
)
from gptchat.workspace import Workspace

# A question this long already fills most of the prompt's 1,024 tokens; refused before it
# waits its turn, so a streamed answer never fails after its first byte for that reason.
MAX_QUESTION_CHARS = 2000
T = TypeVar("T")


@dataclass(frozen=True)
class ServedModel:
    """A model a client may name: `id` as `gptchat models use` names it, `name` as logs do."""

    id: str
    name: str
    served: bool


@dataclass(frozen=True)
class ServedIndex:
    """What a server answers from: a workspace's index, the model, passages per answer."""

    workspace: Workspace
    index_name: str
    model: ModelOptions
    k: int


class LiveAnswer:
    """An answer written in a worker thread, read piece by piece by async code."""

    def __init__(self, answer: Answer, cancel: threading.Event) -> None:
        self.answer = answer
        self._cancel = cancel
        self._pieces: Iterator[str] = iter(answer)

    async def pieces(self) -> AsyncIterator[str]:
        """The text as it is decoded; each piece is waited for off the event loop."""
        while (piece := await anyio.to_thread.run_sync(next, self._pieces, None)) is not None:
            yield piece

    async def finish(self) -> None:
        """Stop the model if it is still writing, and wait until the answer is logged (as
        interrupted, when stopped); safe to call when it has ended."""
        self._cancel.set()
        with anyio.CancelScope(shield=True):  # a client gone must not leave it half logged
            await anyio.to_thread.run_sync(_drain, self._pieces)


def _drain(pieces: Iterator[str]) -> None:
    for _ in pieces:
        pass


class DocumentService:
    """The served index and model: answers in arrival order, searches and feedback beside."""

    def __init__(self, served: ServedIndex, report: Callable[[str], None]) -> None:
        workspace, index_name = served.workspace, served.index_name
        self.workspace = workspace
        self.index_name = index_name
        self._answering: OpenSession = open_chat_session(
            workspace, index_name, served.model, served.k, report
        )
        # Searches and feedback get their own connections: they never wait for an answer.
        index = store = None
        try:
            self._answering.session.generator.load()
            index = open_searchable_index(workspace, index_name)
            store = AppStore(workspace.app_db_path)
        except BaseException:
            for opened in (index, store, self._answering):
                if opened is not None:
                    opened.close()
            raise
        self._lookup_index, self._lookup_store = index, store
        # Fixed at start: `models use` while it runs changes the next start, not this one.
        choice = None if served.model.path else active_choice(workspace, store)
        self._served_id = self.model_name if choice is None else _choice_id(choice)
        embedder = self._answering.session.retriever.embedder
        self._retriever = Retriever(
            index, embedder, reranker=self._answering.session.retriever.reranker
        )
        self._retriever.taught = TaughtAnswers(store, embedder, index, index_name)
        self._lookup_lock = threading.Lock()
        self._turn = asyncio.Lock()  # its waiters are woken in the order they came

    def close(self) -> None:
        self._answering.close()
        self._lookup_index.close()
        self._lookup_store.close()

    # -- models ----------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """The loaded model as logs name it: `SmolLM2-135M-Instruct+starter@v2`."""
        return self._answering.session.generator.name

    @property
    def served_id(self) -> str:
        """The loaded model as `gptchat models use` names it: base, starter, vN (or a folder)."""
        return self._served_id

    def models(self) -> list[ServedModel]:
        """The base model, the starter, the user's versions, and which one answers here."""
        with self._lookup_lock:
            store = self._lookup_store
            generator = active_generator(store)
            entries = [ServedModel("base", default_choice(False, generator).name, False)]
            starter = default_choice(True, generator)
            if starter.starter:
                entries.append(ServedModel("starter", starter.name, False))
            for version in store.model_versions():
                try:
                    name = choice_for(self.workspace, store, version).name
                except BadInput as exc:  # listed as it is: a client sees why it cannot be used
                    name = f"v{version.id} (cannot be loaded: {exc})"
                entries.append(ServedModel(f"v{version.id}", name, False))
        entries = [ServedModel(e.id, e.name, e.id == self._served_id) for e in entries]
        if not any(entry.served for entry in entries):  # a folder given with --model
            entries.append(ServedModel(self._served_id, self.model_name, True))
        return entries

    # -- answers, searches, feedback -------------------------------------------------------

    @asynccontextmanager
    async def answering(
        self, question: str, conversation_id: int | None
    ) -> AsyncIterator[LiveAnswer]:
        """Wait for this question's turn, then answer it; logged however the caller stops."""
        check_question(question)
        async with self._turn:
            cancel = threading.Event()
            session = self._answering.session
            answer = await anyio.to_thread.run_sync(session.ask, question, conversation_id, cancel)
            live = LiveAnswer(answer, cancel)
            try:
                yield live
            finally:
                await live.finish()

    async def answer(self, question: str, conversation_id: int | None) -> Answer:
        """The whole answer to `question`, once it is written."""
        async with self.answering(question, conversation_id) as live:
            async for _ in live.pieces():
                pass
        return live.answer

    async def search(self, query: str, k: int) -> Retrieval:
        """The passages that best answer `query`: retrieval alone, no model."""
        check_question(query)
        return await self._lookup(lambda: self._retriever.retrieve(query, k))

    async def check_conversation(self, conversation_id: int) -> None:
        """BadInput unless the conversation exists: said before the question waits its turn."""
        await self._lookup(lambda: self._lookup_store.existing_conversation(conversation_id))

    async def feedback(
        self,
        message_id: int,
        rating: int | None,
        correction: str | None,
        comment: str | None,
    ) -> Feedback:
        """Rate, correct or comment a logged answer, by the same rules as the app."""
        return await self._lookup(
            lambda: self._lookup_store.set_feedback(
                message_id, rating=rating, correction=correction, comment=comment
            )
        )

    async def _lookup(self, work: Callable[[], T]) -> T:
        """`work` on the lookup connections: off the event loop, one at a time."""

        def locked() -> T:
            with self._lookup_lock:
                return work()

        return await anyio.to_thread.run_sync(locked)


def check_question(question: str) -> None:
    """BadInput for a question that is empty or too long to ask."""
    if not question.strip():
        raise BadInput("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInput(
            f"the question is too long: {len(question)} characters, at most {MAX_QUESTION_CHARS}"
        )


def _choice_id(choice: ModelChoice) -> str:
    """The name `gptchat models use` takes for a choice: base, starter or vN."""
    if choice.version is not None:
        return f"v{choice.version}"
    return "starter" if choice.starter else "base"
