"""The vector stores API, ingestion, search, the native vector-io endpoints and the file
processor, in-process over the fake inference provider and the in-memory reference index."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ogx.storage import tables
from ogx_api import InvalidRequest, NotFound


def vector_config(tmp_path: Any = None, **vector_io: Any) -> dict[str, Any]:
    """The fake inference provider (8-dimensional hash embeddings) and the in-memory reference
    vector index, saved to a file in `tmp_path` when given (so a restarted app finds it)."""
    vector_io_config = {"persist_path": str(tmp_path / "index.json")} if tmp_path is not None else {}
    vector_io_config.update(vector_io)
    return {
        "providers": {
            "inference": [{"provider_id": "fake", "provider_type": "inline::fake", "config": {}}],
            "vector_io": [
                {
                    "provider_id": "memory",
                    "provider_type": "inline::fake-vector-io",
                    "config": vector_io_config,
                }
            ],
        }
    }


async def upload(
    client: httpx.AsyncClient, name: str, content: bytes, content_type: str = "text/plain"
) -> str:
    response = await client.post(
        "/v1/files", files={"file": (name, content, content_type)}, data={"purpose": "assistants"}
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def create_store(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/vector_stores", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for_file(
    client: httpx.AsyncClient, store_id: str, file_id: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The vector store file once it has left `in_progress` (within 15 s)."""
    async with asyncio.timeout(15):
        while True:
            response = await client.get(f"/v1/vector_stores/{store_id}/files/{file_id}", headers=headers)
            assert response.status_code == 200, response.text
            if response.json()["status"] != "in_progress":
                return response.json()
            await asyncio.sleep(0.05)


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF showing `text` in Helvetica (ASCII, no parentheses or backslashes)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# -- stores -----------------------------------------------------------------------------------

STORE_KEYS = {
    "id", "object", "created_at", "name", "usage_bytes", "file_counts", "status", "expires_at",
    "last_active_at", "metadata",
}  # fmt: skip
FILE_KEYS = {
    "id", "object", "usage_bytes", "created_at", "vector_store_id", "status", "last_error",
    "chunking_strategy", "attributes",
}  # fmt: skip


async def test_store_lifecycle_and_exact_shapes(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        store = await create_store(
            client, name="docs", metadata={"team": "a"}, expires_after={"anchor": "last_active_at", "days": 2}
        )
        assert set(store) == STORE_KEYS | {"expires_after"}
        assert store["object"] == "vector_store" and store["id"].startswith("vs_")
        assert store["status"] == "completed" and store["usage_bytes"] == 0
        assert store["file_counts"] == {
            "in_progress": 0,
            "completed": 0,
            "failed": 0,
            "cancelled": 0,
            "total": 0,
        }
        assert store["expires_at"] == store["last_active_at"] + 2 * 86400

        other = await create_store(client, name="other")
        assert set(other) == STORE_KEYS and other["expires_at"] is None

        listed = (await client.get("/v1/vector_stores", params={"limit": 1, "order": "asc"})).json()
        assert [s["id"] for s in listed["data"]] == [store["id"]] and listed["has_more"] is True
        following = (
            await client.get("/v1/vector_stores", params={"after": store["id"], "order": "asc"})
        ).json()
        assert [s["id"] for s in following["data"]] == [other["id"]]
        preceding = (
            await client.get("/v1/vector_stores", params={"before": other["id"], "order": "asc"})
        ).json()
        assert [s["id"] for s in preceding["data"]] == [store["id"]]

        updated = await client.post(
            f"/v1/vector_stores/{store['id']}",
            json={"name": "renamed", "metadata": {"team": "b"}, "expires_after": None},
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["name"] == "renamed" and updated.json()["metadata"] == {"team": "b"}
        assert updated.json()["expires_at"] is None and "expires_after" not in updated.json()

        deleted = await client.delete(f"/v1/vector_stores/{store['id']}")
        assert deleted.json() == {"id": store["id"], "object": "vector_store.deleted", "deleted": True}
        missing = await client.get(f"/v1/vector_stores/{store['id']}")
        assert missing.status_code == 404 and store["id"] in missing.json()["error"]["message"]


async def test_create_needs_a_vector_io_provider(serve: Any, fake_inference: Any) -> None:
    async with serve(fake_inference()) as (client, _):
        response = await client.post("/v1/vector_stores", json={"name": "x"})
    assert response.status_code == 400
    assert "providers.vector_io" in response.json()["error"]["message"]


async def test_create_rejects_bad_embedding_settings(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        wrong = await client.post("/v1/vector_stores", json={"embedding_dimension": 384})
        assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "embedding_dimension"
        assert "8 dimensions" in wrong.json()["error"]["message"]
        unknown = await client.post("/v1/vector_stores", json={"embedding_model": "nope"})
        assert unknown.status_code == 400 and "fake/fake-embed" in unknown.json()["error"]["message"]
        chat_model = await client.post("/v1/vector_stores", json={"embedding_model": "fake/fake-llm"})
        assert chat_model.status_code == 400
        provider = await client.post("/v1/vector_stores", json={"provider_id": "faiss"})
        assert provider.status_code == 400 and "memory" in provider.json()["error"]["message"]
        overlap = await client.post(
            "/v1/vector_stores",
            json={
                "chunking_strategy": {
                    "type": "static",
                    "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 60},
                }
            },
        )
        assert overlap.status_code == 400 and "half" in overlap.json()["error"]["message"]


# -- files, search ----------------------------------------------------------------------------

GUIDE = b"# Fruit guide\n\nBananas are yellow and rich in potassium."
MANUAL = b"The espresso machine needs descaling every month with citric acid."


async def test_attach_ingest_search_update_and_delete(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        guide = await upload(client, "guide.md", GUIDE, "text/markdown")
        manual = await upload(client, "manual.txt", MANUAL)
        store = await create_store(client, name="kb", file_ids=[guide])
        assert store["file_counts"]["total"] == 1
        attached = await client.post(
            f"/v1/vector_stores/{store['id']}/files",
            json={"file_id": manual, "attributes": {"kind": "manual", "year": 2024}},
        )
        assert attached.status_code == 200, attached.text
        # the answer is the file's state when read back: ingestion of so small a file may be done already
        assert set(attached.json()) == FILE_KEYS and attached.json()["status"] in ("in_progress", "completed")

        done = [await wait_for_file(client, store["id"], f) for f in (guide, manual)]
        assert [f["status"] for f in done] == ["completed", "completed"]
        assert all(f["last_error"] is None and f["usage_bytes"] > 0 for f in done)
        assert done[0]["chunking_strategy"] == {
            "type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}
        }  # fmt: skip
        store = (await client.get(f"/v1/vector_stores/{store['id']}")).json()
        assert store["status"] == "completed"
        assert store["file_counts"] == {
            "in_progress": 0,
            "completed": 2,
            "failed": 0,
            "cancelled": 0,
            "total": 2,
        }
        assert store["usage_bytes"] == sum(f["usage_bytes"] for f in done)

        search = f"/v1/vector_stores/{store['id']}/search"
        # The fake embeds by hashing, so only the exact text is near; that is enough to see the
        # query embedded with the store's model and the right chunk come back first.
        page = (await client.post(search, json={"query": MANUAL.decode()})).json()
        assert page["object"] == "vector_store.search_results.page" and page["search_query"] == [
            MANUAL.decode()
        ]
        assert page["has_more"] is False and page["next_page"] is None
        top = page["data"][0]
        assert top == {
            "file_id": manual,
            "filename": "manual.txt",
            "score": pytest.approx(1.0),
            "attributes": {"kind": "manual", "year": 2024},
            "content": [{"type": "text", "text": MANUAL.decode()}],
        }
        keyword = (await client.post(search, json={"query": "potassium", "search_mode": "keyword"})).json()
        assert [r["file_id"] for r in keyword["data"]] == [guide]
        hybrid = (
            await client.post(search, json={"query": ["descaling", "espresso"], "search_mode": "hybrid"})
        ).json()
        assert hybrid["data"][0]["file_id"] == manual and hybrid["search_query"] == ["descaling", "espresso"]
        rewritten = (
            await client.post(
                search, json={"query": "What is potassium?", "rewrite_query": True, "search_mode": "keyword"}
            )
        ).json()
        assert rewritten["search_query"] == ["potassium"] and rewritten["data"][0]["file_id"] == guide

        filtered = (
            await client.post(
                search, json={"query": "x", "filters": {"type": "eq", "key": "kind", "value": "manual"}}
            )
        ).json()
        assert [r["file_id"] for r in filtered["data"]] == [manual]
        typo = await client.post(
            search, json={"query": "x", "filters": {"type": "eq", "key": "knd", "value": "manual"}}
        )
        assert typo.status_code == 400 and "'knd'" in typo.json()["error"]["message"]
        assert "kind" in typo.json()["error"]["message"] and typo.json()["error"]["param"] == "filters"
        too_many = await client.post(search, json={"query": "x", "max_num_results": 51})
        assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "max_num_results"
        threshold = (
            await client.post(
                search, json={"query": MANUAL.decode(), "ranking_options": {"score_threshold": 0.99}}
            )
        ).json()
        assert [r["file_id"] for r in threshold["data"]] == [manual]

        # Attributes are re-applied to the indexed chunks.
        updated = await client.post(
            f"/v1/vector_stores/{store['id']}/files/{guide}", json={"attributes": {"kind": "guide"}}
        )
        assert updated.status_code == 200 and updated.json()["attributes"] == {"kind": "guide"}
        guides = (
            await client.post(
                search, json={"query": "x", "filters": {"type": "eq", "key": "kind", "value": "guide"}}
            )
        ).json()
        assert [r["file_id"] for r in guides["data"]] == [guide] and guides["data"][0]["attributes"] == {
            "kind": "guide"
        }

        content = (await client.get(f"/v1/vector_stores/{store['id']}/files/{guide}/content")).json()
        assert content == {
            "object": "vector_store.file_content.page",
            "data": [{"type": "text", "text": GUIDE.decode()}],
            "has_more": False,
            "next_page": None,
        }
        completed = (
            await client.get(f"/v1/vector_stores/{store['id']}/files", params={"filter": "completed"})
        ).json()
        assert {f["id"] for f in completed["data"]} == {guide, manual}

        deleted = await client.delete(f"/v1/vector_stores/{store['id']}/files/{manual}")
        assert deleted.json() == {"id": manual, "object": "vector_store.file.deleted", "deleted": True}
        after = (await client.post(search, json={"query": MANUAL.decode(), "max_num_results": 50})).json()
        assert manual not in {r["file_id"] for r in after["data"]}
        assert (await client.get(f"/v1/vector_stores/{store['id']}")).json()["file_counts"]["total"] == 1


async def test_bad_files_are_refused_or_fail_clearly(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        store = await create_store(client)
        files_url = f"/v1/vector_stores/{store['id']}/files"
        unknown = await client.post(files_url, json={"file_id": "file-nope"})
        assert unknown.status_code == 404 and "file-nope" in unknown.json()["error"]["message"]
        unsupported = await client.post(
            files_url,
            json={"file_id": await upload(client, "tool.exe", b"MZ\x90\x00", "application/octet-stream")},
        )
        assert unsupported.status_code == 400 and unsupported.json()["error"]["code"] == "unsupported_file"
        empty = await client.post(files_url, json={"file_id": await upload(client, "empty.txt", b"")})
        assert empty.status_code == 400 and "empty" in empty.json()["error"]["message"]
        create_with_unknown = await client.post("/v1/vector_stores", json={"file_ids": ["file-nope"]})
        assert create_with_unknown.status_code == 404
        assert len((await client.get("/v1/vector_stores")).json()["data"]) == 1  # nothing half-created

        # Known only once read: each ends `failed` with its reason, never stuck in progress.
        cases = {
            "broken.json": (b"{not json", "invalid_file", "not valid JSON"),
            "broken.pdf": (b"%PDF-1.4 garbage", "invalid_file", "PDF"),
            "blank.md": (b"   \n\n  ", "invalid_file", "no text"),
            "latin1.txt": ("café".encode("latin-1"), "invalid_file", "UTF-8"),
        }
        for name, (data, code, words) in cases.items():
            file_id = await upload(client, name, data)
            assert (await client.post(files_url, json={"file_id": file_id})).status_code == 200
            failed = await wait_for_file(client, store["id"], file_id)
            assert failed["status"] == "failed" and failed["last_error"]["code"] == code, (name, failed)
            assert words in failed["last_error"]["message"], (name, failed)
        store = (await client.get(f"/v1/vector_stores/{store['id']}")).json()
        assert store["file_counts"]["failed"] == 4 and store["status"] == "completed"

        deleted_before_ingest = await upload(client, "gone.txt", b"soon gone")
        await client.delete(f"/v1/files/{deleted_before_ingest}")
        assert (await client.post(files_url, json={"file_id": deleted_before_ingest})).status_code == 404

        missing = await client.post("/v1/vector_stores/vs_nope/search", json={"query": "x"})
        assert (
            missing.status_code == 404
            and missing.json()["error"]["message"] == "vector store 'vs_nope' not found"
        )


async def test_an_index_that_refuses_the_chunks_fails_the_file_with_a_server_error(serve: Any) -> None:
    async with serve(vector_config(fail_insert="InvalidRequest")) as (client, _):
        file_id = await upload(client, "manual.txt", MANUAL)
        store = await create_store(client, file_ids=[file_id])
        failed = await wait_for_file(client, store["id"], file_id)
        store = (await client.get(f"/v1/vector_stores/{store['id']}")).json()
    assert failed["status"] == "failed" and failed["last_error"]["code"] == "server_error"
    assert "fake InvalidRequest" in failed["last_error"]["message"]
    assert store["status"] == "completed" and store["file_counts"]["failed"] == 1


async def test_pdf_html_csv_and_json_are_extracted(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        store = await create_store(client)
        sources = {
            "report.pdf": (pdf_with_text("Quarterly revenue grew by twelve percent"), "application/pdf"),
            "page.html": (
                b"<html><head><style>p{}</style></head><body><p>Hello <b>reader</b></p><script>x()</script></body></html>",
                "text/html",
            ),
            "table.csv": (b"name,colour\nbanana,yellow\n", "text/csv"),
            "data.json": (b'{"planet": "Mars"}', "application/json"),
        }
        texts = {}
        for name, (data, content_type) in sources.items():
            file_id = await upload(client, name, data, content_type)
            await client.post(f"/v1/vector_stores/{store['id']}/files", json={"file_id": file_id})
            assert (await wait_for_file(client, store["id"], file_id))["status"] == "completed", name
            content = (await client.get(f"/v1/vector_stores/{store['id']}/files/{file_id}/content")).json()
            texts[name] = " ".join(part["text"] for part in content["data"])
    assert "Quarterly revenue grew by twelve percent" in texts["report.pdf"]
    assert texts["page.html"] == "Hello reader"
    assert texts["table.csv"] == "name, colour\nbanana, yellow"
    assert texts["data.json"] == '{"planet": "Mars"}'


async def test_static_chunking_counts_real_tokens(serve: Any) -> None:
    words = " ".join(f"word{i}" for i in range(600))
    async with serve(vector_config()) as (client, _):
        file_id = await upload(client, "long.txt", words.encode())
        strategy = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 20}}
        store = await create_store(client, file_ids=[file_id], chunking_strategy=strategy)
        done = await wait_for_file(client, store["id"], file_id)
        assert done["chunking_strategy"] == strategy
        content = (await client.get(f"/v1/vector_stores/{store['id']}/files/{file_id}/content")).json()
    from ogx.file_processing import count_tokens

    total = count_tokens(words)
    assert len(content["data"]) == -(-(total - 20) // 80)
    assert all(count_tokens(part["text"]) <= 100 for part in content["data"])
    assert content["data"][0]["text"].startswith("word0 word1")


# -- file batches -----------------------------------------------------------------------------


async def test_file_batches(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        store = await create_store(client)
        a = await upload(client, "a.txt", b"alpha text")
        b = await upload(client, "b.txt", b"beta text")
        url = f"/v1/vector_stores/{store['id']}/file_batches"
        created = await client.post(
            url,
            json={"files": [{"file_id": a, "attributes": {"n": 1}}, {"file_id": b, "attributes": {"n": 2}}]},
        )
        assert created.status_code == 200, created.text
        batch = created.json()
        assert set(batch) == {"id", "object", "created_at", "vector_store_id", "status", "file_counts"}
        assert batch["object"] == "vector_store.files_batch" and batch["file_counts"]["total"] == 2
        for file_id in (a, b):
            await wait_for_file(client, store["id"], file_id)
        batch = (await client.get(f"{url}/{batch['id']}")).json()
        assert batch["status"] == "completed" and batch["file_counts"]["completed"] == 2
        listed = (await client.get(f"{url}/{batch['id']}/files", params={"order": "asc"})).json()
        assert [(f["id"], f["attributes"]) for f in listed["data"]] == [(a, {"n": 1}), (b, {"n": 2})]

        both = await client.post(url, json={"file_ids": [a], "files": [{"file_id": b}]})
        assert both.status_code == 400
        shared = (await client.post(url, json={"file_ids": [a, b], "attributes": {"shared": True}})).json()
        cancelled = (await client.post(f"{url}/{shared['id']}/cancel")).json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["file_counts"]["in_progress"] == 0
        unknown = await client.get(f"{url}/vsfb_nope")
        assert unknown.status_code == 404


# -- native vector io and file processors -----------------------------------------------------


async def test_native_insert_and_query(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        store = await create_store(client)
        chunk = {
            "chunk_id": "c1",
            "content": "pre-embedded",
            "embedding": [1.0] + [0.0] * 7,
            "attributes": {"lang": "en"},
        }
        inserted = await client.post(
            "/v1/vector-io/insert", json={"vector_store_id": store["id"], "chunks": [chunk]}
        )
        assert inserted.json() == {
            "object": "vector_io.insert",
            "vector_store_id": store["id"],
            "inserted": 1,
        }
        wrong = await client.post(
            "/v1/vector-io/insert",
            json={"vector_store_id": store["id"], "chunks": [{**chunk, "embedding": [1.0, 0.0]}]},
        )
        assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "chunks[0].embedding"
        assert "dimension 2" in wrong.json()["error"]["message"]
        hits = await client.post(
            "/v1/vector-io/query",
            json={"vector_store_id": store["id"], "embedding": [0.9, 0.1] + [0.0] * 6, "k": 3},
        )
        assert hits.status_code == 200, hits.text
        [hit] = hits.json()["data"]
        assert hit["chunk"]["chunk_id"] == "c1" and hit["score"] > 0.9 and "embedding" not in hit["chunk"]
        keyword = await client.post(
            "/v1/vector-io/query",
            json={"vector_store_id": store["id"], "mode": "keyword", "text": "embedded"},
        )
        assert keyword.json()["data"][0]["chunk"]["content"] == "pre-embedded"
        bad_query = await client.post(
            "/v1/vector-io/query", json={"vector_store_id": store["id"], "embedding": [1.0]}
        )
        assert bad_query.status_code == 400
        unknown = await client.post("/v1/vector-io/query", json={"vector_store_id": "vs_nope", "text": "x"})
        assert unknown.status_code == 404


async def test_file_processors_process(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        uploaded = await client.post(
            "/v1alpha/file-processors/process",
            files={"file": ("notes.md", b"# Notes\n\nShip it.", "text/markdown")},
            data={
                "chunking_strategy": '{"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}'
            },
        )
        assert uploaded.status_code == 200, uploaded.text
        body = uploaded.json()
        assert body["filename"] == "notes.md" and body["chunks"][0]["content"] == "# Notes\n\nShip it."
        assert body["chunks"][0]["token_count"] > 0
        file_id = await upload(client, "manual.txt", MANUAL)
        by_id = await client.post("/v1alpha/file-processors/process", json={"file_id": file_id})
        assert by_id.json()["chunks"][0]["content"] == MANUAL.decode()
        assert by_id.json()["chunking_strategy"]["static"]["max_chunk_size_tokens"] == 800
        unsupported = await client.post(
            "/v1alpha/file-processors/process",
            files={"file": ("x.bin", b"\x00\x01", "application/octet-stream")},
        )
        assert unsupported.status_code == 400 and unsupported.json()["error"]["code"] == "unsupported_file"


# -- restart ----------------------------------------------------------------------------------


async def test_ingestion_claimed_by_a_dead_worker_finishes_after_restart(serve: Any, tmp_path: Path) -> None:
    config = vector_config(tmp_path)
    async with serve(config) as (client, app):
        file_id = await upload(client, "manual.txt", MANUAL)
        store = await create_store(client)
        engine = app.state.ogx.vector_stores.engine
        # The file attached and its job claimed by a worker that then died: no runner here
        # finishes it (the job's lease belongs to another worker and has not expired yet).
        response = await client.post(f"/v1/vector_stores/{store['id']}/files", json={"file_id": file_id})
        assert response.status_code == 200
        await wait_for_file(client, store["id"], file_id)
        async with engine.begin() as conn:
            await conn.execute(tables.vector_store_files.update().values(status="in_progress", usage_bytes=0))
            await conn.execute(tables.vector_store_chunks.delete())
            await conn.execute(
                tables.jobs.update().values(
                    status="running",
                    lease_owner="dead-worker",
                    lease_expires_at=time.time() - 1,
                    finished_at=None,
                )
            )
        await app.state.ogx.vector_stores.providers["memory"].delete_file(store["id"], file_id)

    async with serve(config) as (client, _):
        done = await wait_for_file(client, store["id"], file_id)
        assert done["status"] == "completed"
        page = (
            await client.post(f"/v1/vector_stores/{store['id']}/search", json={"query": MANUAL.decode()})
        ).json()
        assert page["data"][0]["file_id"] == file_id


@pytest.mark.integration
async def test_on_postgresql(serve: Any, ogx_postgres_database: str) -> None:
    """The same tables and queries on PostgreSQL (production's storage): attach, batch, count,
    page, filter, update attributes, search, detach."""
    config = {**vector_config(), "storage": {"url": ogx_postgres_database}}
    async with serve(config) as (client, app):
        assert app.state.ogx.vector_stores.engine.dialect.name == "postgresql"
        guide = await upload(client, "guide.md", GUIDE, "text/markdown")
        manual = await upload(client, "manual.txt", MANUAL)
        store = await create_store(client, file_ids=[guide])
        batch = await client.post(
            f"/v1/vector_stores/{store['id']}/file_batches",
            json={"file_ids": [manual], "attributes": {"kind": "m"}},
        )
        for file_id in (guide, manual):
            assert (await wait_for_file(client, store["id"], file_id))["status"] == "completed"
        assert (
            await client.get(f"/v1/vector_stores/{store['id']}/file_batches/{batch.json()['id']}")
        ).json()["file_counts"]["completed"] == 1
        store = (await client.get(f"/v1/vector_stores/{store['id']}")).json()
        assert store["file_counts"]["completed"] == 2 and store["usage_bytes"] > 0
        first = (await client.get(f"/v1/vector_stores/{store['id']}/files", params={"limit": 1})).json()
        rest = (
            await client.get(f"/v1/vector_stores/{store['id']}/files", params={"after": first["last_id"]})
        ).json()
        assert {first["data"][0]["id"], rest["data"][0]["id"]} == {guide, manual}
        search = f"/v1/vector_stores/{store['id']}/search"
        found = (
            await client.post(
                search, json={"query": "x", "filters": {"type": "eq", "key": "kind", "value": "m"}}
            )
        ).json()
        assert [r["file_id"] for r in found["data"]] == [manual]
        await client.post(
            f"/v1/vector_stores/{store['id']}/files/{guide}", json={"attributes": {"kind": "g"}}
        )
        assert (await client.post(search, json={"query": GUIDE.decode()})).json()["data"][0][
            "attributes"
        ] == {"kind": "g"}
        await client.delete(f"/v1/vector_stores/{store['id']}/files/{manual}")
        assert (await client.get(f"/v1/vector_stores/{store['id']}")).json()["file_counts"]["total"] == 1
        assert (await client.delete(f"/v1/vector_stores/{store['id']}")).json()["deleted"] is True


async def test_each_owner_sees_only_their_vector_stores(serve: Any, principal_from_header: Any) -> None:
    alice, bob = {"x-test-principal": "alice"}, {"x-test-principal": "bob"}
    async with serve(vector_config()) as (client, app):
        app.add_middleware(principal_from_header)
        uploaded = await client.post(
            "/v1/files", files={"file": ("a.txt", MANUAL)}, data={"purpose": "assistants"}, headers=alice
        )
        file_id = uploaded.json()["id"]
        store = (await client.post("/v1/vector_stores", json={"file_ids": [file_id]}, headers=alice)).json()
        await wait_for_file(client, store["id"], file_id, headers=alice)
        bobs_store = (await client.post("/v1/vector_stores", json={}, headers=bob)).json()
        url = f"/v1/vector_stores/{store['id']}"
        bob_sees = [
            await client.get(url, headers=bob),
            await client.post(f"{url}/search", json={"query": "x"}, headers=bob),
            await client.get(f"{url}/files", headers=bob),
            await client.get(f"{url}/files/{file_id}/content", headers=bob),
            await client.delete(url, headers=bob),
            await client.post(
                f"/v1/vector_stores/{bobs_store['id']}/files", json={"file_id": file_id}, headers=bob
            ),
            await client.post(
                "/v1/vector-io/query", json={"vector_store_id": store["id"], "text": "x"}, headers=bob
            ),
        ]
        alice_list = (await client.get("/v1/vector_stores", headers=alice)).json()["data"]
        still_found = (
            await client.post(f"{url}/search", json={"query": MANUAL.decode()}, headers=alice)
        ).json()
    assert [r.status_code for r in bob_sees] == [404] * 7
    assert [s["id"] for s in alice_list] == [store["id"]]
    assert still_found["data"][0]["file_id"] == file_id


async def test_activity_moves_the_expiry_and_an_expired_store_says_so(serve: Any) -> None:
    async with serve(vector_config()) as (client, app):
        service = app.state.ogx.vector_stores
        store = await create_store(client, expires_after={"anchor": "last_active_at", "days": 1})
        url = f"/v1/vector_stores/{store['id']}"
        start = time.time_ns()
        service.clock = lambda: start + 3600 * 10**9  # an hour later, a search is activity
        assert (await client.post(f"{url}/search", json={"query": "x"})).status_code == 200
        active = (await client.get(url)).json()
        assert active["last_active_at"] == (start + 3600 * 10**9) // 10**9
        assert active["expires_at"] == active["last_active_at"] + 86400 and active["status"] == "completed"
        service.clock = lambda: start + 3 * 86400 * 10**9  # then nothing for three days
        expired = (await client.get(url)).json()
        refused = await client.post(f"{url}/search", json={"query": "x"})
    assert expired["status"] == "expired" and expired["expires_at"] == active["expires_at"]
    assert refused.status_code == 400 and "expired" in refused.json()["error"]["message"]


async def test_the_service_search_that_file_search_calls(serve: Any) -> None:
    """`Services.vector_stores.search`, as the Responses API's `file_search` calls it: plain
    dicts in, OpenAI's search-results page out, bad options as typed 400s."""
    async with serve(vector_config()) as (client, app):
        file_id = await upload(client, "manual.txt", MANUAL)
        store = await create_store(client)
        await client.post(
            f"/v1/vector_stores/{store['id']}/files", json={"file_id": file_id, "attributes": {"v": 2}}
        )
        await wait_for_file(client, store["id"], file_id)
        service = app.state.ogx.vector_stores
        page = await service.search(
            store["id"],
            query="espresso descaling",
            filters={"type": "gte", "key": "v", "value": 1},
            max_num_results=5,
            ranking_options={"ranker": "auto", "score_threshold": 0.0},
            search_mode="keyword",
            owner=None,
        )
        with pytest.raises(InvalidRequest) as bad_options:
            await service.search(store["id"], query="x", ranking_options={"score_threshold": 2}, owner=None)
        with pytest.raises(NotFound):
            await service.search(store["id"], query="x", owner="someone else")
    assert page["object"] == "vector_store.search_results.page"
    assert [(r["file_id"], r["filename"]) for r in page["data"]] == [(file_id, "manual.txt")]
    assert bad_options.value.param == "score_threshold"


async def test_attaching_a_file_again_reingests_it_in_place(serve: Any) -> None:
    async with serve(vector_config()) as (client, _):
        file_id = await upload(client, "manual.txt", MANUAL)
        store = await create_store(client, file_ids=[file_id])
        await wait_for_file(client, store["id"], file_id)
        again = await client.post(
            f"/v1/vector_stores/{store['id']}/files", json={"file_id": file_id, "attributes": {"v": 2}}
        )
        assert again.status_code == 200 and again.json()["attributes"] == {"v": 2}
        await wait_for_file(client, store["id"], file_id)
        page = (
            await client.post(
                f"/v1/vector_stores/{store['id']}/search",
                json={"query": MANUAL.decode(), "max_num_results": 50},
            )
        ).json()
        counts = (await client.get(f"/v1/vector_stores/{store['id']}")).json()["file_counts"]
    assert [(r["file_id"], r["attributes"]) for r in page["data"]] == [(file_id, {"v": 2})]
    assert counts["total"] == 1 and counts["completed"] == 1


async def test_changes_while_the_chunks_are_being_indexed_are_not_lost(serve: Any) -> None:
    """An attribute update or a detach that lands while ingestion is inserting the chunks: the
    chunks end with the new attributes, or gone."""
    async with serve(vector_config(insert_delay=0.4)) as (client, app):
        index = app.state.ogx.vector_stores.providers["memory"]
        store = await create_store(client)
        url = f"/v1/vector_stores/{store['id']}"

        async def attach_and_wait_for_the_insert(name: str) -> str:
            file_id = await upload(client, name, MANUAL)
            before = index.inserts
            await client.post(f"{url}/files", json={"file_id": file_id, "attributes": {"v": 1}})
            for _ in range(1000):  # 10 s at most
                if index.inserts > before:
                    return file_id
                await asyncio.sleep(0.01)
            raise AssertionError("ingestion never reached the insert")

        updated = await attach_and_wait_for_the_insert("updated.txt")
        await client.post(f"{url}/files/{updated}", json={"attributes": {"v": 2}})
        assert (await wait_for_file(client, store["id"], updated))["status"] == "completed"

        detached = await attach_and_wait_for_the_insert("detached.txt")
        assert (await client.delete(f"{url}/files/{detached}")).status_code == 200
        await asyncio.sleep(0.6)  # the interrupted insert finishes meanwhile
        page = (
            await client.post(f"{url}/search", json={"query": MANUAL.decode(), "max_num_results": 50})
        ).json()
    assert [(r["file_id"], r["attributes"]) for r in page["data"]] == [(updated, {"v": 2})]
