"""The files API in-process: upload, list, retrieve, content, delete; the size limit, bad
parameters, expiry and per-owner isolation, as a client sees them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ogx.plugins import PluginManager

# Field lists of the OpenAI spec (openai-spec-2.3.0.yml, components.schemas).
OPENAI_FILE_PROPERTIES = {
    "id", "bytes", "created_at", "expires_at", "filename", "object", "purpose", "status", "status_details",
}  # fmt: skip
OPENAI_FILE_REQUIRED = {"id", "object", "bytes", "created_at", "filename", "purpose", "status"}
LIST_FILES_REQUIRED = {"object", "data", "first_id", "last_id", "has_more"}
DELETE_FILE_REQUIRED = {"id", "object", "deleted"}


def localfs(tmp_path: Path, **config: Any) -> dict[str, Any]:
    storage = {"storage_dir": str(tmp_path / "files"), **config}
    return {
        "providers": {
            "files": [{"provider_id": "disk", "provider_type": "inline::localfs", "config": storage}]
        }
    }


def stored(tmp_path: Path) -> list[str]:
    """Everything in the files directory, temporary files included."""
    folder = tmp_path / "files"
    return sorted(os.listdir(folder)) if folder.exists() else []


async def upload(client, content: bytes = b"hello", name: str = "a.txt", **data: str):
    data.setdefault("purpose", "assistants")
    return await client.post("/v1/files", files={"file": (name, content)}, data=data)


def assert_openai_file(body: dict[str, Any]) -> None:
    assert OPENAI_FILE_REQUIRED <= body.keys() <= OPENAI_FILE_PROPERTIES, body.keys()
    assert body["object"] == "file" and body["status"] == "processed"
    assert body["id"].startswith("file-")
    assert isinstance(body["bytes"], int) and isinstance(body["created_at"], int)


def multipart(*parts: tuple[str, str | None, bytes], boundary: str = "XyZbound") -> tuple[bytes, str]:
    """A hand-built multipart body: (name, filename or None, content) in the order given."""
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def in_chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_upload_retrieve_content_and_delete(serve, tmp_path):
    content = "naïve café ☕\n".encode() * 1000
    async with serve(localfs(tmp_path)) as (client, _):
        created = await upload(client, content, name="notes ☕.txt")
        file_id = created.json()["id"]
        retrieved = (await client.get(f"/v1/files/{file_id}")).json()
        downloaded = await client.get(f"/v1/files/{file_id}/content")
        deleted = await client.delete(f"/v1/files/{file_id}")
        after = [await client.get(f"/v1/files/{file_id}"), await client.get(f"/v1/files/{file_id}/content")]
        again = await client.delete(f"/v1/files/{file_id}")
    assert created.status_code == 200
    assert_openai_file(created.json())
    assert retrieved == created.json()
    assert retrieved["bytes"] == len(content) and retrieved["filename"] == "notes ☕.txt"
    assert retrieved["purpose"] == "assistants" and retrieved["expires_at"] is None
    assert downloaded.content == content
    assert downloaded.headers["content-length"] == str(len(content))
    assert downloaded.headers["content-type"].startswith("text/plain")
    assert downloaded.headers["content-disposition"] == (
        "attachment; filename=\"notes _.txt\"; filename*=UTF-8''notes%20%E2%98%95.txt"
    )
    assert deleted.json() == {"id": file_id, "object": "file", "deleted": True}
    assert deleted.json().keys() == DELETE_FILE_REQUIRED
    assert [r.status_code for r in after] == [404, 404]
    assert after[0].json()["error"]["param"] == "file_id"
    assert again.status_code == 404
    assert stored(tmp_path) == [], "deleting a file removes its bytes"


async def test_list_pages_orders_and_filters_by_purpose(serve, tmp_path):
    async with serve(localfs(tmp_path)) as (client, _):
        ids = []
        for i in range(5):
            purpose = "batch" if i % 2 else "assistants"
            ids.append((await upload(client, b"x" * i, name=f"f{i}.jsonl", purpose=purpose)).json()["id"])
        newest_first = (await client.get("/v1/files")).json()
        first = (await client.get("/v1/files", params={"limit": 2, "order": "asc"})).json()
        second = (
            await client.get("/v1/files", params={"limit": 2, "order": "asc", "after": first["last_id"]})
        ).json()
        last = (
            await client.get("/v1/files", params={"limit": 2, "order": "asc", "after": second["last_id"]})
        ).json()
        batch = (await client.get("/v1/files", params={"purpose": "batch"})).json()
        desc_page = (await client.get("/v1/files", params={"limit": 1, "after": ids[3]})).json()
        bad = {
            "limit=0": await client.get("/v1/files", params={"limit": 0}),
            "limit=10001": await client.get("/v1/files", params={"limit": 10_001}),
            "limit=abc": await client.get("/v1/files", params={"limit": "abc"}),
            "order": await client.get("/v1/files", params={"order": "sideways"}),
            "purpose": await client.get("/v1/files", params={"purpose": "nope"}),
        }
        unknown_after = await client.get("/v1/files", params={"after": "file-nope"})
    assert newest_first.keys() == LIST_FILES_REQUIRED
    for item in newest_first["data"]:
        assert_openai_file(item)
    assert [f["id"] for f in newest_first["data"]] == ids[::-1], "the spec's default order is desc"
    assert (newest_first["first_id"], newest_first["last_id"]) == (ids[-1], ids[0])
    assert newest_first["has_more"] is False
    assert [f["id"] for f in first["data"]] == ids[:2] and first["has_more"] is True
    assert [f["id"] for f in second["data"]] == ids[2:4] and second["has_more"] is True
    assert [f["id"] for f in last["data"]] == ids[4:] and last["has_more"] is False
    assert [f["id"] for f in batch["data"]] == [ids[3], ids[1]]
    assert [f["id"] for f in desc_page["data"]] == [ids[2]]
    for name, response in bad.items():
        assert response.status_code == 400, name
        assert response.json()["error"]["param"] == name.split("=")[0], name
    assert unknown_after.status_code == 404 and unknown_after.json()["error"]["param"] == "after"


async def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(serve, tmp_path):
    body, content_type = multipart(("purpose", None, b"assistants"), ("file", "big.bin", b"x" * 5000))
    async with serve(localfs(tmp_path, max_upload_bytes=4096)) as (client, _):
        declared = await upload(client, b"x" * 2_000_000, name="big.bin")
        # Without a Content-Length the limit is found while streaming, after part of the file is written.
        streamed = await client.post(
            "/v1/files", content=in_chunks(body), headers={"content-type": content_type}
        )
        at_limit = await upload(client, b"x" * 4096, name="exact.bin")
        listed = (await client.get("/v1/files")).json()["data"]
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert "4096 bytes" in error["message"] and error["param"] == "file"
    assert at_limit.status_code == 200 and at_limit.json()["bytes"] == 4096
    assert [f["id"] for f in listed] == [at_limit.json()["id"]]
    assert stored(tmp_path) == [at_limit.json()["id"]], "no partial or temporary file is left behind"


@pytest.mark.parametrize(
    ("data", "files", "param"),
    [
        ({"purpose": "assistants"}, {"other": ("a.txt", b"x")}, "file"),
        ({"purpose": "assistants", "file": "not a file"}, {"x": ("a.txt", b"x")}, "file"),
        ({}, {"file": ("a.txt", b"x")}, "purpose"),
        ({"purpose": "fine-tune-results"}, {"file": ("a.txt", b"x")}, "purpose"),
        ({"purpose": "homework"}, {"file": ("a.txt", b"x")}, "purpose"),
        (
            {"purpose": "batch", "expires_after[anchor]": "last_access", "expires_after[seconds]": "3600"},
            {"file": ("a.txt", b"x")},
            "expires_after.anchor",
        ),
        (
            {"purpose": "batch", "expires_after[seconds]": "3600"},
            {"file": ("a.txt", b"x")},
            "expires_after.anchor",
        ),
        (
            {"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "60"},
            {"file": ("a.txt", b"x")},
            "expires_after.seconds",
        ),
        (
            {"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "2592001"},
            {"file": ("a.txt", b"x")},
            "expires_after.seconds",
        ),
        (
            {"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "soon"},
            {"file": ("a.txt", b"x")},
            "expires_after.seconds",
        ),
        ({"purpose": "batch", "expires_after": "[1, 2]"}, {"file": ("a.txt", b"x")}, "expires_after"),
    ],
)
async def test_bad_upload_parameters_are_400_naming_the_parameter(serve, tmp_path, data, files, param):
    async with serve(localfs(tmp_path)) as (client, _):
        response = await client.post("/v1/files", data=data, files=files)
        listed = (await client.get("/v1/files")).json()["data"]
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert listed == [] and stored(tmp_path) == []


async def test_malformed_bodies_are_400_not_500(serve, tmp_path):
    body, content_type = multipart(("purpose", None, b"assistants"), ("file", "a.txt", b"hello"))
    async with serve(localfs(tmp_path)) as (client, _):
        cases = {
            "json": await client.post("/v1/files", json={"purpose": "assistants"}),
            "no boundary": await client.post(
                "/v1/files", content=body, headers={"content-type": "multipart/form-data"}
            ),
            "truncated": await client.post(
                "/v1/files", content=body[:-30], headers={"content-type": content_type}
            ),
            "wrong boundary": await client.post(
                "/v1/files", content=body, headers={"content-type": "multipart/form-data; boundary=other"}
            ),
            "garbage": await client.post(
                "/v1/files", content=b"\x00" * 100, headers={"content-type": content_type}
            ),
        }
    for name, response in cases.items():
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"]["type"] == "invalid_request_error", name
    assert stored(tmp_path) == []


async def test_fields_may_come_before_or_after_the_file(serve, tmp_path):
    after, content_type = multipart(
        ("file", "late.txt", b"file first"),
        ("purpose", None, b"user_data"),
        ("expires_after[anchor]", None, b"created_at"),
        ("expires_after[seconds]", None, b"7200"),
    )
    early_bad, bad_type = multipart(("purpose", None, b"homework"), ("file", "x.txt", b"never stored"))
    async with serve(localfs(tmp_path)) as (client, _):
        created = await client.post(
            "/v1/files", content=in_chunks(after, 7), headers={"content-type": content_type}
        )
        refused = await client.post("/v1/files", content=early_bad, headers={"content-type": bad_type})
        content = await client.get(f"/v1/files/{created.json()['id']}/content")
    body = created.json()
    assert created.status_code == 200, created.text
    assert (body["filename"], body["purpose"], body["bytes"]) == ("late.txt", "user_data", 10)
    assert body["expires_at"] == body["created_at"] + 7200
    assert content.content == b"file first"
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "purpose"
    assert stored(tmp_path) == [body["id"]]


async def test_expired_files_disappear_and_are_swept(serve, tmp_path):
    async with serve(localfs(tmp_path)) as (client, app):
        files = app.state.ogx.files
        expiring = await upload(
            client, b"short-lived", expires_after='{"anchor": "created_at", "seconds": 3600}'
        )
        batch = await upload(client, b"{}", name="in.jsonl", purpose="batch")
        kept = await upload(client, b"kept")
        expiring_id = expiring.json()["id"]
        assert expiring.json()["expires_at"] == expiring.json()["created_at"] + 3600
        assert batch.json()["expires_at"] == batch.json()["created_at"] + 30 * 24 * 3600, "the spec's default"
        real_clock = files.clock
        files.clock = lambda: real_clock() + 3601 * 1_000_000_000
        gone = [
            await client.get(f"/v1/files/{expiring_id}"),
            await client.get(f"/v1/files/{expiring_id}/content"),
            await client.delete(f"/v1/files/{expiring_id}"),
        ]
        listed = [f["id"] for f in (await client.get("/v1/files")).json()["data"]]
        assert expiring_id in stored(tmp_path), "invisible at once, deleted by the sweep"
        swept = await files.sweep_expired()
    assert [r.status_code for r in gone] == [404, 404, 404]
    assert listed == [kept.json()["id"], batch.json()["id"]]
    assert swept == 1
    assert expiring_id not in stored(tmp_path)


async def test_each_owner_sees_only_their_files(serve, tmp_path, principal_from_header):
    alice, bob = {"x-test-principal": "alice"}, {"x-test-principal": "bob"}
    async with serve(localfs(tmp_path)) as (client, app):
        app.add_middleware(principal_from_header)
        mine = (
            await client.post(
                "/v1/files",
                files={"file": ("a.txt", b"alice's")},
                data={"purpose": "assistants"},
                headers=alice,
            )
        ).json()["id"]
        theirs = (
            await client.post(
                "/v1/files", files={"file": ("b.txt", b"bob's")}, data={"purpose": "assistants"}, headers=bob
            )
        ).json()["id"]
        alice_list = (await client.get("/v1/files", headers=alice)).json()["data"]
        anonymous_list = (await client.get("/v1/files")).json()["data"]
        bob_sees = [
            await client.get(f"/v1/files/{mine}", headers=bob),
            await client.get(f"/v1/files/{mine}/content", headers=bob),
            await client.delete(f"/v1/files/{mine}", headers=bob),
            await client.get("/v1/files", params={"after": mine}, headers=bob),
        ]
        still_there = await client.get(f"/v1/files/{mine}/content", headers=alice)
        owner_of = {
            info.id: info.owner
            for info in [await app.state.ogx.files.info(i, o) for i, o in ((mine, "alice"), (theirs, "bob"))]
        }
    assert [f["id"] for f in alice_list] == [mine]
    assert anonymous_list == []
    assert [r.status_code for r in bob_sees] == [404, 404, 404, 404]
    assert still_there.content == b"alice's"
    assert owner_of == {mine: "alice", theirs: "bob"}


async def test_files_survive_a_restart(serve, tmp_path):
    async with serve(localfs(tmp_path)) as (client, _):
        file_id = (await upload(client, b"durable")).json()["id"]
    async with serve(localfs(tmp_path)) as (client, _):
        assert (await client.get(f"/v1/files/{file_id}/content")).content == b"durable"


async def test_without_a_files_provider_localfs_keeps_files_in_the_data_dir(serve, tmp_path, monkeypatch):
    monkeypatch.setenv("OGX_DATA_DIR", str(tmp_path / "data"))
    async with serve({}) as (client, _):
        file_id = (await upload(client, b"default")).json()["id"]
        providers = (await client.get("/v1/providers")).json()["data"]
    assert os.listdir(tmp_path / "data" / "test" / "files") == [file_id]
    assert providers == [], "the implicit default is not a configured provider"


async def test_a_configured_localfs_without_a_directory_uses_the_data_dir(serve, tmp_path, monkeypatch):
    monkeypatch.setenv("OGX_DATA_DIR", str(tmp_path / "data"))
    tree = {"providers": {"files": [{"provider_id": "disk", "provider_type": "inline::localfs"}]}}
    async with serve(tree) as (client, _):
        file_id = (await upload(client, b"default")).json()["id"]
        provider = (await client.get("/v1/providers/disk")).json()
    assert os.listdir(tmp_path / "data" / "test" / "files") == [file_id]
    assert provider["config"]["storage_dir"] == str(tmp_path / "data" / "test" / "files")
    assert provider["health"]["status"] == "OK"


async def test_the_service_gives_other_apis_files_by_id(serve, tmp_path):
    async with serve(localfs(tmp_path)) as (client, app):
        files = app.state.ogx.files
        created = await files.create(
            in_chunks(b"line\n" * 1000), filename="out.jsonl", purpose="batch_output", owner="svc"
        )
        info, chunks = await files.open(created["id"], "svc")
        content = b"".join([chunk async for chunk in chunks])
        visible_to_owner = await client.get(f"/v1/files/{created['id']}")
    assert (info.filename, info.purpose, info.bytes, info.owner) == ("out.jsonl", "batch_output", 5000, "svc")
    assert content == b"line\n" * 1000
    assert visible_to_owner.status_code == 404, "owned by 'svc', not the anonymous caller"


async def test_openapi_documents_the_files_routes(serve, tmp_path):
    async with serve(localfs(tmp_path)) as (client, _):
        schema = (await client.get("/openapi.json")).json()
    upload_body = schema["paths"]["/v1/files"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload_body["schema"]["required"] == ["file", "purpose"]
    assert {"OpenAIFile", "FileList", "FileDeleted"} <= schema["components"]["schemas"].keys()
    assert {"/v1/files/{file_id}", "/v1/files/{file_id}/content"} <= schema["paths"].keys()


def test_localfs_is_a_builtin_provider():
    loaded = PluginManager(load_entry_points=False, environ={}).provider_specs["inline::localfs"]
    assert loaded.spec.api.value == "files" and loaded.plugin.name == "builtin"


@pytest.mark.integration
async def test_the_files_api_on_postgresql(serve, tmp_path, ogx_postgres_database):
    tree = {**localfs(tmp_path), "storage": {"url": ogx_postgres_database}}
    async with serve(tree) as (client, app):
        ids = [(await upload(client, b"x" * i, name=f"{i}.txt")).json()["id"] for i in range(3)]
        expiring = (
            await upload(client, b"soon", expires_after='{"anchor": "created_at", "seconds": 3600}')
        ).json()
        page = (await client.get("/v1/files", params={"limit": 2, "order": "asc", "after": ids[0]})).json()
        files = app.state.ogx.files
        real_clock = files.clock
        files.clock = lambda: real_clock() + 3601 * 1_000_000_000
        listed = [f["id"] for f in (await client.get("/v1/files")).json()["data"]]
        swept = await files.sweep_expired()
        content = (await client.get(f"/v1/files/{ids[2]}/content")).content
    assert [f["id"] for f in page["data"]] == [ids[1], ids[2]] and page["has_more"] is True
    assert listed == ids[::-1] and swept == 1 and expiring["id"] not in stored(tmp_path)
    assert content == b"xx"
