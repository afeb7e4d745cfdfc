"""Ingest: walk a folder, load each document, cut it into chunks."""
