"""``earshot kibana import`` against a small fake Kibana that records every request.

Kibana cannot be installed here, so this fake implements just the APIs the
import uses (spaces, saved-objects import, roles) the way Kibana documents
them, and the test checks the requests: ``kbn-xsrf`` on every call, one
multipart import per space with ``overwrite=true`` under ``/s/<space>``, and a
second run that writes nothing but the (idempotent) imports.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services.kibana.client import KibanaClient, KibanaError, import_bundle
from services.kibana.generate import Bundle, build
from services.search.settings import ViewsSettings, load_departments


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeKibana:
    requests: list[Seen] = field(default_factory=list)
    spaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)
    import_errors: list[dict[str, Any]] = field(default_factory=list)

    def writes(self) -> list[Seen]:
        return [r for r in self.requests if r.method in ("POST", "PUT") and "_import" not in r.path]


def _multipart_file(headers: dict[str, str], body: bytes) -> bytes:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError("no 'file' part in the import request")


def _handler(kb: FakeKibana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any = None) -> None:
            data = json.dumps(body if body is not None else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            kb.requests.append(Seen(self.command, url.path, parse_qs(url.query), headers, body))
            if kb.fail_next:
                self._reply(kb.fail_next.pop(0), {"error": "Kibana server is not ready yet"})
                return
            if self.command != "GET" and headers.get("kbn-xsrf") is None:
                self._reply(400, {"message": "Request must contain a kbn-xsrf header."})
                return
            self._route(url.path, url.query, headers, body)

        def _route(self, path: str, query: str, headers: dict[str, str], body: bytes) -> None:
            parts = path.strip("/").split("/")
            if path.startswith("/api/spaces/space"):
                if self.command == "GET":
                    space = kb.spaces.get(parts[-1])
                    self._reply(200, space) if space else self._reply(404)
                elif self.command == "POST":
                    new = json.loads(body)
                    if new["id"] in kb.spaces:
                        self._reply(409)
                    else:
                        kb.spaces[new["id"]] = {**new, "_reserved": False}
                        self._reply(200, new)
                else:
                    kb.spaces[parts[-1]] = json.loads(body)
                    self._reply(200, kb.spaces[parts[-1]])
            elif path.endswith("/api/saved_objects/_import"):
                target = parts[1] if parts[0] == "s" else "default"
                if target != "default" and target not in kb.spaces:
                    self._reply(404, {"message": f"space {target} not found"})
                    return
                lines = _multipart_file(headers, body).decode().splitlines()
                objects = [json.loads(line) for line in lines if line.strip()]
                if kb.import_errors:
                    self._reply(
                        200, {"success": False, "successCount": 0, "errors": kb.import_errors}
                    )
                    return
                store = kb.objects.setdefault(target, {})
                for obj in objects:
                    store[(obj["type"], obj["id"])] = obj
                results = [{"type": o["type"], "id": o["id"], "meta": {}} for o in objects]
                self._reply(
                    200, {"success": True, "successCount": len(objects), "successResults": results}
                )
            elif path.startswith("/api/security/role/"):
                name = parts[-1]
                if self.command == "GET":
                    role = kb.roles.get(name)
                    self._reply(
                        200, {"name": name, "transient_metadata": {"enabled": True}, **role}
                    ) if role else self._reply(404)
                else:
                    kb.roles[name] = json.loads(body)
                    self._reply(204)
            else:
                self._reply(404)

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

    return Handler


@pytest.fixture
def kibana() -> Iterator[tuple[FakeKibana, str]]:
    kb = FakeKibana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(kb))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield kb, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return build(load_departments(ViewsSettings()), "earshot")


def client(url: str) -> KibanaClient:
    return KibanaClient(url, ("elastic", "secret"), sleep=lambda _: None)


def test_import_creates_spaces_objects_and_roles_then_changes_nothing(
    kibana: tuple[FakeKibana, str], bundle: Bundle
) -> None:
    kb, url = kibana
    c = client(url)
    first = import_bundle(c, bundle)
    departments = [v.space_id for v in bundle.spaces[1:]]
    assert set(kb.spaces) == set(departments)
    assert set(kb.objects) == {"default", *departments}
    for view in bundle.spaces:
        assert set(kb.objects[view.space_id]) == {(o["type"], o["id"]) for o in view.objects}
    assert set(kb.roles) == set(bundle.roles)
    assert all("created" in line or "imported" in line for line in first)

    imports = [r for r in kb.requests if r.path.endswith("_import")]
    assert len(imports) == len(bundle.spaces)
    assert imports[0].path == "/api/saved_objects/_import"
    assert imports[1].path == f"/s/{departments[0]}/api/saved_objects/_import"
    for r in kb.requests:
        assert r.headers.get("kbn-xsrf"), f"{r.method} {r.path} without kbn-xsrf"
        assert r.headers["authorization"].startswith("Basic ")
    for r in imports:
        assert r.query == {"overwrite": ["true"]}
        assert r.headers["content-type"].startswith("multipart/form-data")

    writes_before = len(kb.writes())
    second = import_bundle(c, bundle)
    c.close()
    assert len(kb.writes()) == writes_before, "a second import wrote spaces or roles again"
    assert [line for line in second if "unchanged" not in line and "imported" not in line] == []


def test_a_changed_space_or_role_is_updated(kibana: tuple[FakeKibana, str], bundle: Bundle) -> None:
    kb, url = kibana
    c = client(url)
    import_bundle(c, bundle)
    dept = bundle.spaces[1].space_id
    kb.spaces[dept]["name"] = "Renamed by hand"
    role = next(iter(kb.roles))
    kb.roles[role]["kibana"] = []
    lines = import_bundle(c, bundle)
    c.close()
    assert f"space {dept}: updated" in lines
    assert f"role {role}: updated" in lines
    assert kb.spaces[dept]["name"] == bundle.spaces[1].body["name"]  # type: ignore[index]


def test_kibana_starting_up_is_waited_for(kibana: tuple[FakeKibana, str], bundle: Bundle) -> None:
    kb, url = kibana
    kb.fail_next = [503, 503]
    c = client(url)
    assert import_bundle(c, bundle, roles=False)
    c.close()
    assert [r.method for r in kb.requests[:3]] == ["GET", "GET", "GET"]


def test_import_errors_are_reported_with_the_objects(
    kibana: tuple[FakeKibana, str], bundle: Bundle
) -> None:
    kb, url = kibana
    kb.import_errors = [{"type": "lens", "id": "x", "error": {"type": "missing_references"}}]
    c = client(url)
    with pytest.raises(KibanaError, match="lens x: missing_references"):
        import_bundle(c, bundle, roles=False)
    c.close()
