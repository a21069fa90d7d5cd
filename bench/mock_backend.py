"""The mock OpenAI backend: Debian's nginx serving fixed files on a loopback port.

nginx cannot look at the JSON body, so streaming is routed by URL prefix instead:

    POST /v1/chat/completions         -> chat.json   (application/json)
    POST /stream/v1/chat/completions  -> stream.sse  (text/event-stream, 20 chunks + [DONE])
    GET  /v1/models, /stream/v1/models -> models.json
    GET  /health, /stream/health      -> 200, empty

The static module answers POST with 405; `error_page 405 =200 $uri` turns that into an internal
GET of the same location, so POSTs get the file with status 200 (the body is discarded by nginx
and the connection stays keep-alive). The run config gives OGX a second provider whose
`base_url` is the `/stream/v1` prefix, so direct and proxied runs read the same files.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import payloads
from procs import HOST, Owned, port_open

_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    types {{ }}
    default_type application/json;
    sendfile on;
    tcp_nopush off;
    tcp_nodelay on;
    etag off;
    if_modified_since off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_buffer_size 64k;
    client_body_temp_path {root}/tmp-body;
    proxy_temp_path {root}/tmp-proxy;
    server {{
        listen {host}:{port} backlog=4096;
        error_page 405 =200 $uri;
        location = /v1/chat/completions {{ alias {root}/www/chat.json; }}
        location = /stream/v1/chat/completions {{
            default_type text/event-stream;
            add_header Cache-Control no-cache;
            alias {root}/www/stream.sse;
        }}
        location = /v1/models {{ alias {root}/www/models.json; }}
        location = /stream/v1/models {{ alias {root}/www/models.json; }}
        location = /health {{ return 200; }}
        location = /stream/health {{ return 200; }}
        location / {{ return 404 '{{"error":{{"message":"mock: no such route","type":"not_found"}}}}'; }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


class MockBackend:
    """nginx in the foreground, in its own session; `stop()` ends it and its worker."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.proc: Owned | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def stream_base_url(self) -> str:
        return f"http://{HOST}:{self.port}/stream/v1"

    def write_files(self) -> Path:
        www = self.root / "www"
        www.mkdir(parents=True, exist_ok=True)
        (www / "chat.json").write_bytes(payloads.chat_completion())
        (www / "stream.sse").write_bytes(payloads.chat_stream())
        (www / "models.json").write_bytes(payloads.models())
        conf = self.root / "nginx.conf"
        conf.write_text(_CONF.format(root=self.root, host=HOST, port=self.port))
        # nginx workers drop root privileges (to `nobody`): they must be able to read the files.
        for path in (self.root, www, *www.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        return conf

    def start(self, timeout: float = 10.0) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed")
        conf = self.write_files()
        argv = [binary, "-p", str(self.root), "-e", str(self.root / "nginx-error.log"), "-c", str(conf)]
        self.proc = Owned("nginx", argv, self.root / "nginx.out")
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if not self.proc.alive():
                raise RuntimeError(f"nginx exited at start:\n{self._logs()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not listen on {HOST}:{self.port} in {timeout} s")
            time.sleep(0.02)

    def _logs(self) -> str:
        out = self.proc.log_tail() if self.proc else ""
        err = self.root / "nginx-error.log"
        return out + ("\n" + err.read_text(errors="replace") if err.exists() else "")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None
