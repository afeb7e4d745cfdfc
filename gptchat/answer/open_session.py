"""A ChatSession over a workspace's index, model and log, opened in one call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gptchat.answer.reranker import bundled_reranker
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
    owns_store: bool = True  # False: the caller's connection, which the caller closes

    def close(self) -> None:
        self.index.close()
        if self.owns_store:
            self.store.close()


def open_chat_session(
    workspace: Workspace,
    index_name: str,
    model: ModelOptions,
    k: int,
    report: Callable[[str], None],
    store: AppStore | None = None,
) -> OpenSession:
    """A ChatSession over the named index and the workspace's app database (`store`, if the
    caller holds it open already)."""
    index = open_searchable_index(workspace, index_name)
    owns_store = store is None
    try:
        embedder = index_embedder(index)
        if store is None:
            store = AppStore(workspace.app_db_path)
        generator = load_generator(model, report, workspace, store)
    except BaseException:
        index.close()
        if owns_store and store is not None:
            store.close()
        raise
    retriever = Retriever(index, embedder, reranker=bundled_reranker())
    session = ChatSession(retriever, generator, store, index_name, k=k)
    return OpenSession(session, index, store, owns_store)
