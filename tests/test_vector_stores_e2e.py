"""Vector stores end to end: the official `openai` SDK against `ogx run starter` (embeddings by
the embedded all-MiniLM-L6-v2, `inline::minilm`; indexes in `inline::faiss`) — upload, attach,
poll, search, restart, detach, delete the file — and every bad input answered with a clear 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

pytestmark = pytest.mark.integration

DOCUMENTS = {
    "espresso.md": (
        "# Espresso machine care\n\nDescale the espresso machine every month with citric acid. "
        "Rinse the portafilter after each shot and replace the group gasket once a year."
    ),
    "bananas.txt": (
        "Bananas are berries rich in potassium. They ripen faster next to apples because apples "
        "release ethylene gas."
    ),
    "volcano.html": (
        "<html><body><h1>Volcanoes</h1><p>Magma that reaches the surface is called lava. "
        "Shield volcanoes such as Mauna Loa have gentle slopes.</p></body></html>"
    ),
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ogx-vector-stores")


@pytest.fixture(scope="module")
def server(ogx_runner, workdir) -> Iterator:
    with ogx_runner("starter", workdir) as running:
        yield running
        running.assert_no_server_errors()


def sdk(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="unused", max_retries=0, timeout=60)


def upload(client: openai.OpenAI, name: str, content: bytes) -> str:
    return client.files.create(file=(name, content), purpose="assistants").id


def top_file(client: openai.OpenAI, store_id: str, query: str) -> str:
    page = client.vector_stores.search(store_id, query=query, max_num_results=3)
    return page.data[0].filename


def test_bad_inputs_get_clear_client_errors(server) -> None:
    """Runs first, on the server the last test then restarts."""
    client = sdk(server)
    store = client.vector_stores.create(name="bad inputs")
    with pytest.raises(openai.NotFoundError, match="file-missing"):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-missing")
    with pytest.raises(openai.BadRequestError, match="unsupported type"):
        client.vector_stores.files.create(
            vector_store_id=store.id, file_id=upload(client, "app.exe", b"MZ\x90")
        )
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.vector_stores.files.create(vector_store_id=store.id, file_id=upload(client, "empty.txt", b""))
    with pytest.raises(openai.BadRequestError, match="384"):
        client.vector_stores.create(name="x", extra_body={"embedding_dimension": 768})
    with pytest.raises(openai.BadRequestError, match="'year'"):
        client.vector_stores.search(store.id, query="x", filters={"type": "gt", "key": "year", "value": 2000})
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search("vs_missing", query="x")
    broken = client.vector_stores.files.create_and_poll(
        vector_store_id=store.id,
        file_id=upload(client, "broken.pdf", b"%PDF-1.4 not really"),
        poll_interval_ms=100,
    )
    assert broken.status == "failed" and broken.last_error.code == "invalid_file"
    assert client.vector_stores.retrieve(store.id).status == "completed"
    server.assert_no_server_errors()


def test_a_deleted_file_leaves_the_store(server) -> None:
    """Deleting a file through the Files API removes it from every vector store it was in."""
    client = sdk(server)
    file_id = upload(client, "espresso.md", DOCUMENTS["espresso.md"].encode())
    store = client.vector_stores.create(name="deleting")
    client.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=file_id, poll_interval_ms=100
    )
    assert top_file(client, store.id, "How often should I descale my coffee machine?") == "espresso.md"

    assert client.files.delete(file_id).deleted is True
    for mode in ("vector", "keyword"):
        page = client.vector_stores.search(
            store.id, query="descale the espresso machine", extra_body={"search_mode": mode}
        )
        assert page.data == [], mode
    assert list(client.vector_stores.files.list(store.id)) == []
    store = client.vector_stores.retrieve(store.id)
    assert store.file_counts.total == 0 and store.usage_bytes == 0
    server.assert_no_server_errors()


def test_ingest_search_restart_and_detach(ogx_runner, server, workdir) -> None:
    client = sdk(server)
    file_ids = {name: upload(client, name, text.encode()) for name, text in DOCUMENTS.items()}
    store = client.vector_stores.create(name="kb", metadata={"team": "docs"})
    assert store.status == "completed" and store.file_counts.total == 0

    attached = client.vector_stores.files.create_and_poll(
        vector_store_id=store.id,
        file_id=file_ids["espresso.md"],
        attributes={"topic": "coffee"},
        poll_interval_ms=100,
    )
    assert attached.status == "completed" and attached.last_error is None
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        file_ids=[file_ids["bananas.txt"], file_ids["volcano.html"]],
        attributes={"topic": "science"},
        poll_interval_ms=100,
    )
    assert batch.status == "completed" and batch.file_counts.completed == 2
    store = client.vector_stores.retrieve(store.id)
    assert store.file_counts.completed == 3 and store.status == "completed" and store.usage_bytes > 0

    questions = {
        "How often should I descale my coffee machine?": "espresso.md",
        "Why do bananas ripen faster near apples?": "bananas.txt",
        "What is lava?": "volcano.html",
    }
    for question, expected in questions.items():
        assert top_file(client, store.id, question) == expected, question
    filtered = client.vector_stores.search(
        store.id, query="descale", filters={"type": "eq", "key": "topic", "value": "science"}
    )
    assert {r.filename for r in filtered.data} <= {"bananas.txt", "volcano.html"}
    hybrid = client.vector_stores.search(
        store.id, query="Mauna Loa slopes", extra_body={"search_mode": "hybrid"}
    )
    assert hybrid.data[0].filename == "volcano.html"

    server.process.terminate()
    server.process.wait(timeout=15)
    with ogx_runner("starter", workdir) as restarted:
        client = sdk(restarted)
        for question, expected in questions.items():
            assert top_file(client, store.id, question) == expected, question
        client.vector_stores.files.delete(file_ids["espresso.md"], vector_store_id=store.id)
        after = client.vector_stores.search(
            store.id, query="descale the espresso machine", max_num_results=50
        )
        assert "espresso.md" not in {r.filename for r in after.data}
        assert client.vector_stores.retrieve(store.id).file_counts.total == 2
        restarted.assert_no_server_errors()
