"""A tiny blocking HTTP/1.1 client on one persistent keep-alive connection.

It sends pre-built request bytes and parses just enough of the answer (status, Content-Length or
chunked body) to know when it ends, so its own cost per request is a few tens of microseconds
and the same for the direct and the proxied side. It also notes when the first `data:` byte of
a streamed body arrived (time to first byte).
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from procs import HOST

_RECV = 65536


class HTTPError(RuntimeError):
    pass


@dataclass
class Answer:
    status: int
    body: bytes
    total_ns: int  # from just before `sendall` to the end of the body
    first_data_ns: int | None  # from just before `sendall` to the first recv holding `data:`


class Connection:
    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.reconnects = -1

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, bytearray()
        self.reconnects += 1
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, raw: bytes) -> Answer:
        sock = self.sock or self._connect()
        start = time.perf_counter_ns()
        try:
            sock.sendall(raw)
            return self._read(sock, start)
        except (ConnectionError, HTTPError):
            self.close()
            raise

    def _fill(self, sock: socket.socket) -> None:
        data = sock.recv(_RECV)
        if not data:
            raise ConnectionResetError("server closed the connection")
        self.buf += data

    def _read(self, sock: socket.socket, start: int) -> Answer:
        buf = self.buf
        first_data: int | None = None
        while (end := buf.find(b"\r\n\r\n")) < 0:
            self._fill(sock)
        head = bytes(buf[:end]).decode("latin-1").split("\r\n")
        del buf[: end + 4]
        status = int(head[0].split(" ", 2)[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if b"data:" in buf:
            first_data = time.perf_counter_ns() - start
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, first_data = self._read_chunked(sock, start, first_data)
        else:
            length = int(headers.get("content-length", "0"))
            while len(buf) < length:
                self._fill(sock)
                if first_data is None and b"data:" in buf:
                    first_data = time.perf_counter_ns() - start
            body = bytes(buf[:length])
            del buf[:length]
        total = time.perf_counter_ns() - start
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, body, total, first_data)

    def _read_chunked(
        self, sock: socket.socket, start: int, first_data: int | None
    ) -> tuple[bytes, int | None]:
        buf, parts = self.buf, []
        while True:
            while (eol := buf.find(b"\r\n")) < 0:
                self._fill(sock)
            size = int(bytes(buf[:eol]).split(b";", 1)[0], 16)
            while len(buf) < eol + 2 + size + 2:
                self._fill(sock)
                if first_data is None and b"data:" in buf:
                    first_data = time.perf_counter_ns() - start
            if first_data is None and size and b"data:" in buf[eol + 2 : eol + 2 + size]:
                first_data = time.perf_counter_ns() - start
            parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
            del buf[: eol + 2 + size + 2]
            if size == 0:  # no trailers expected from either side
                return b"".join(parts), first_data


def fetch(port: int, raw: bytes, timeout: float = 10.0) -> Answer:
    """One request on a fresh connection (for probes)."""
    conn = Connection(port, timeout)
    try:
        return conn.request(raw)
    finally:
        conn.close()
