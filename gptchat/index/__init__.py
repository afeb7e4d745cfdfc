"""Index: embed chunks and keep them searchable, in SQLite (the truth) and FAISS (a cache)."""
