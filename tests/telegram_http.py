"""The fake Bot API's wire: HTTP on 127.0.0.1, requests as python-telegram-bot sends them.

PTB (``telegram/request/_httpxrequest.py``) POSTs ``/bot<token>/<method>`` with a
form-urlencoded body, or multipart/form-data when a file is uploaded; every value that is not a
string (ints, bools, lists, dicts such as ``reply_markup``) arrives JSON-encoded. Answers are
JSON envelopes; PTB (``telegram/request/_baserequest.py``) reads the HTTP status and the
envelope's ``description`` and ``parameters``: ``migrate_to_chat_id`` → ChatMigrated,
``retry_after`` → RetryAfter (whatever the status), then 403 → Forbidden, 401/404 →
InvalidToken, 400 → BadRequest, 409 → Conflict, anything else → NetworkError; a body that is
not JSON (nginx's 502 page) is logged with a traceback and raised as NetworkError; no answer
within the client's timeout → TimedOut.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from telegram_entities import bad_request

# Values that stay strings even when they look like numbers or JSON.
TEXT_FIELDS = ("text", "caption", "data", "callback_query_id", "photo", "document", "parse_mode")


@dataclass
class Request:
    """One API call as the server saw it."""

    method: str
    params: dict[str, Any]  # JSON-looking values (reply_markup, commands, …) decoded
    files: dict[str, dict[str, Any]]  # field → {"filename", "content_type", "size", "content"}
    chat_id: int | str | None
    at: float  # time.monotonic() when it arrived
    token: str = ""
    http_method: str = "POST"
    content_type: str = ""
    peer_port: int = 0  # the client's port: equal ports mean a kept-alive connection
    status: int = 0  # 0 until answered (and when never answered: a dropped held request)
    description: str = ""  # the error description when status != 200
    result: Any = None


@dataclass
class Answer:
    """What to write back: a status and a body (``status`` 0: close without answering)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def envelope(cls, status: int, envelope: dict[str, Any]) -> Answer:
        return cls(status, json.dumps(envelope).encode("utf-8"))


class Api(Protocol):
    """What the handler needs of the server."""

    def chat_by_username(self, name: str) -> int | str: ...
    def record_request(self, req: Request) -> None: ...
    def answer(self, req: Request) -> Answer: ...
    def file_content(self, file_id: str) -> bytes | None: ...


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Split a multipart/form-data body into text fields and files (with their bytes)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise bad_request("multipart body without a boundary")
    delimiter = b"--" + m.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, dict[str, Any]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, _, content = part.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name_m = re.search(r'\bname="([^"]*)"', disposition)
        if not name_m:
            continue
        file_m = re.search(r'\bfilename="([^"]*)"', disposition) or re.search(
            r"\bfilename\*=utf-8''([^;]*)", disposition, re.I
        )
        if file_m or ("content-type" in headers and not headers["content-type"].startswith("text/plain")):
            files[name_m.group(1)] = {
                "filename": file_m.group(1) if file_m else None,
                "content_type": headers.get("content-type", "application/octet-stream"),
                "size": len(content),
                "content": content,
            }
        else:
            fields[name_m.group(1)] = content.decode("utf-8", "replace")
    return fields, files


def decode_value(value: str) -> Any:
    """PTB JSON-encodes everything that is not a string (ints, bools, lists, dicts): undo that."""
    if value[:1] in ("{", "[") or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d*", value):
        return float(value)
    return value


class HttpServer(ThreadingHTTPServer):
    """A listen backlog for hundreds of clients at once (the default 5 resets connections under load)."""

    request_queue_size = 1024
    daemon_threads = True


def handler_for(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
        server_version = "FakeTelegram/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            body = self._read_body()
            parts = urlsplit(self.path)
            m = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", parts.path)
            if m is None:
                file_m = re.fullmatch(r"/file/bot([^/]*)/(.+)", parts.path)
                content = api.file_content(file_m.group(2).rsplit("/", 1)[-1]) if file_m else None
                if content is not None and self.command == "GET":
                    self._write(Answer(200, content, "application/octet-stream"))
                else:
                    missing = {"ok": False, "error_code": 404, "description": "Not Found"}
                    self._write(Answer.envelope(404, missing))
                return
            ctype = self.headers.get("Content-Type", "")
            raw: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
            files: dict[str, dict[str, Any]] = {}
            try:
                if ctype.startswith("multipart/form-data"):
                    fields, files = parse_multipart(body, ctype)
                    raw.update(fields)
                elif ctype.startswith("application/json"):
                    decoded = json.loads(body or b"{}")
                    raw.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in decoded.items()})
                elif body:
                    raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except ValueError:
                refused = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse body"}
                self._write(Answer.envelope(400, refused))
                return
            except Exception as exc:  # bad_request from the multipart parser
                self._write(Answer.envelope(400, {"ok": False, "error_code": 400, "description": str(exc)}))
                return
            params = {k: decode_value(v) for k, v in raw.items()}
            for key in TEXT_FIELDS:
                if key in raw:
                    params[key] = raw[key]
            chat_id = params.get("chat_id")
            if isinstance(chat_id, str) and chat_id.startswith("@"):
                chat_id = api.chat_by_username(chat_id)
            req = Request(
                method=m.group(2),
                params=params,
                files=files,
                chat_id=chat_id if isinstance(chat_id, int | str) else None,
                at=time.monotonic(),
                token=m.group(1),
                http_method=self.command,
                content_type=ctype.split(";")[0],
                peer_port=self.client_address[1],
            )
            api.record_request(req)
            self._write(api.answer(req))

        def _write(self, answer: Answer) -> None:
            if answer.status == 0:  # a held request that never reached Telegram: no answer at all
                self.close_connection = True
                return
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler
