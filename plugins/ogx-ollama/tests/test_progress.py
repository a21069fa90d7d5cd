"""A pull's progress is shown on the console: a rich progress bar when rich is installed, log
lines at every further 10% otherwise."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from ogx_ollama.progress import LoggedPullProgress, console_pull_progress, human_size

LAYER = "sha256:dde5aa3fc5ffc17176b5e8bdc82f587b24b2678c6c66101bf7da77af9f7ccdff"


def layer_event(completed: int | None, total: int = 2_000_000_000) -> dict[str, object]:
    event: dict[str, object] = {"status": "pulling dde5aa3fc5ff", "digest": LAYER, "total": total}
    if completed is not None:
        event["completed"] = completed
    return event


def test_log_fallback_logs_statuses_once_and_layers_every_ten_percent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress = LoggedPullProgress("llama3.2:3b")
    events = [
        {"status": "pulling manifest"},
        layer_event(None),
        *(layer_event(completed) for completed in range(0, 2_000_000_001, 50_000_000)),  # every 2.5%
        {"status": "verifying sha256 digest"},
        {"status": "verifying sha256 digest"},
        {"status": "success"},
    ]
    with caplog.at_level(logging.INFO, logger="ogx_ollama"):
        for event in events:
            progress.update(event)

    messages = [record.getMessage() for record in caplog.records]
    layer_lines = [m for m in messages if "layer" in m]
    assert layer_lines == [
        f"pulling Ollama model llama3.2:3b: layer dde5aa3fc5ff {p}% of 2.0 GB" for p in range(0, 101, 10)
    ]
    assert [m for m in messages if "layer" not in m] == [
        "pulling Ollama model llama3.2:3b: pulling manifest",
        "pulling Ollama model llama3.2:3b: verifying sha256 digest",
        "pulling Ollama model llama3.2:3b: success",
    ]


def test_rich_progress_draws_a_bar_per_layer() -> None:
    rich_console = pytest.importorskip("rich.console")
    output = io.StringIO()
    console = rich_console.Console(file=output, width=120, force_terminal=False)
    with console_pull_progress("gemma3:270m", console=console) as progress:
        progress.update({"status": "pulling manifest"})
        progress.update(layer_event(None, total=290_000_000))
        progress.update(layer_event(145_000_000, total=290_000_000))
        progress.update(layer_event(290_000_000, total=290_000_000))
        progress.update({"status": "success"})

    text = output.getvalue()
    assert "gemma3:270m: pulling manifest" in text
    assert "gemma3:270m dde5aa3fc5ff" in text
    assert "290.0/290.0 MB" in text
    assert "gemma3:270m: success" in text


def test_without_rich_the_default_progress_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A None entry in sys.modules makes the import fail, as if rich were not installed.
    monkeypatch.setitem(sys.modules, "rich.console", None)
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    with caplog.at_level(logging.INFO, logger="ogx_ollama"), console_pull_progress("qwen3:0.6b") as progress:
        assert isinstance(progress, LoggedPullProgress)
        progress.update({"status": "pulling manifest"})
    assert caplog.messages == ["pulling Ollama model qwen3:0.6b: pulling manifest"]


@pytest.mark.parametrize(
    ("size", "text"),
    [(512, "512 B"), (1_500, "1.5 KB"), (274_290_656, "274.3 MB"), (4_700_000_000_000, "4.7 TB")],
)
def test_sizes_read_as_ollama_shows_them(size: int, text: str) -> None:
    assert human_size(size) == text
