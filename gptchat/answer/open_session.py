"""A ChatSession over a workspace's index, model and log, opened in one call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gptchat.answer.retriever import Retriever
from gptchat.answer.session import ChatSession
from gptchat.index.catalog import index_embedder, open_searchable_index
from gptchat.index.document_index import DocumentIndex
from gptchat.log.store import AppStore
from gptchat.model.loading import ModelOptions, load_generator
from gptchat.workspace import Workspace


@dataclass
class OpenSession:
    """A ChatSession with the index and database it holds open."""

    session: ChatSession
    index: DocumentIndex
    store: AppStore

    def close(self) -> None:
        self.index.close()
        self.store.close()


def open_chat_session(
    workspace: Workspace,
    index_name: str,
    model: ModelOptions,
    k: int,
    report: Callable[[str], None],
) -> OpenSession:
    """A ChatSession over the named index and the workspace's app database."""
    index = open_searchable_index(workspace, index_name)
    try:
        embedder = index_embedder(index)
        generator = load_generator(model, report, workspace)
        store = AppStore(workspace.app_db_path)
    except BaseException:
        index.close()
        raise
    session = ChatSession(Retriever(index, embedder), generator, store, index_name, k=k)
    return OpenSession(session, index, store)
