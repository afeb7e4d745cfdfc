"""Which files an index run considers: hidden, ignored, symlinks, sizes, types."""

from __future__ import annotations

from pathlib import Path

from gptchat.ingest.walker import UNSUPPORTED, discover


def names(root: Path, max_bytes: int = 10_000) -> tuple[list[str], dict[str, str]]:
    walk = discover(root.resolve(), max_bytes)
    found = [c.path.relative_to(root.resolve()).as_posix() for c in walk.candidates]
    reasons = {Path(s.path).name: s.reason for s in walk.skipped}
    return found, reasons


def test_hidden_and_ignored_paths_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "keep.md").write_text("x")
    (tmp_path / ".secret.md").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.md").write_text("x")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.md").write_text("x")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "draft.md").write_text("x")
    (tmp_path / "notes" / "final.md").write_text("x")
    (tmp_path / ".gptchatignore").write_text("build/\n*draft*\n")
    found, _ = names(tmp_path)
    assert found == ["keep.md", "notes/final.md"]


def test_symlinks_outside_the_root_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.md").write_text("secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "real.md").write_text("x")
    (root / "link-out.md").symlink_to(outside / "private.md")
    (root / "dir-out").symlink_to(outside)
    (root / "link-in.md").symlink_to(root / "real.md")
    found, reasons = names(root)
    assert found == ["link-in.md", "real.md"]
    assert reasons == {
        "link-out.md": "symlink leads outside the indexed folder",
        "dir-out": "symlink leads outside the indexed folder",
    }


def test_big_and_unsupported_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "small.txt").write_text("x")
    (tmp_path / "big.txt").write_text("x" * 20_000)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    found, reasons = names(tmp_path, max_bytes=10_000)
    assert found == ["small.txt"]
    assert reasons == {"big.txt": "larger than the 0.01 MB limit", "photo.jpg": UNSUPPORTED}


def test_a_single_file_can_be_the_root(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("x")
    walk = discover((tmp_path / "one.md").resolve(), 10_000)
    assert [c.path.name for c in walk.candidates] == ["one.md"] and walk.skipped == []
    assert walk.unread == {}
