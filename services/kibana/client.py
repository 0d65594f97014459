"""Kibana's HTTP API for what ``earshot kibana import`` does: spaces, saved-object import, roles.

Every call sends ``kbn-xsrf`` and retries what may pass (connection errors,
timeouts, 429, 5xx: Kibana answers 503 while it starts) under the project
retry policy; anything else is a :class:`KibanaError` naming the call and
Kibana's answer. Each operation is idempotent: spaces and roles are read first
and written only when they differ, and objects are imported with
``overwrite=true`` under fixed ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from common.retry import Permanent, Retryable, RetryPolicy, retry_sync
from services.kibana.generate import Bundle, ndjson
from services.kibana.roles import Role, same_role
from services.kibana.views import space_path

STARTUP = RetryPolicy(base=1.0, cap=15.0, max_attempts=12)


class KibanaError(Permanent):
    """Kibana refused a call in a way retrying will not fix."""


class KibanaClient:
    """A small synchronous client; ``transport`` is injectable for tests."""

    def __init__(
        self,
        base_url: str,
        auth: tuple[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = STARTUP,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            transport=transport,
            timeout=60.0,
            headers={"kbn-xsrf": "earshot", "Accept": "application/json"},
        )
        self._policy = policy
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def _call(
        self, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any
    ) -> httpx.Response:
        def attempt() -> httpx.Response:
            try:
                response = self._http.request(method, path, **kw)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                raise Retryable(f"{method} {path}: Kibana unreachable: {exc}") from exc
            if response.status_code in ok:
                return response
            if response.status_code == 429 or response.status_code >= 500:
                hint = response.headers.get("Retry-After")
                raise Retryable(
                    f"{method} {path}: {response.status_code}",
                    retry_after=float(hint) if hint and hint.isdigit() else None,
                )
            raise KibanaError(f"{method} {path}: {response.status_code} {response.text[:500]}")

        return retry_sync(attempt, self._policy, sleep=self._sleep)

    def ensure_space(self, body: dict[str, Any]) -> str:
        """Create or update a space so it matches ``body``; returns created/updated/unchanged."""
        space = body["id"]
        current = self._call("GET", f"/api/spaces/space/{space}", ok=(200, 404))
        if current.status_code == 404:
            self._call("POST", "/api/spaces/space", json=body)
            return "created"
        have = current.json()
        if all(have.get(k) == v for k, v in body.items()):
            return "unchanged"
        self._call("PUT", f"/api/spaces/space/{space}", json=body)
        return "updated"

    def import_objects(self, space_path: str, objects: list[dict[str, Any]], name: str) -> int:
        """Import saved objects into a space (overwrite); returns how many Kibana accepted."""
        files = {"file": (f"{name}.ndjson", ndjson(objects), "application/ndjson")}
        response = self._call(
            "POST",
            f"{space_path}/api/saved_objects/_import",
            params={"overwrite": "true"},
            files=files,
        )
        result = response.json()
        errors = result.get("errors") or []
        if not result.get("success") or errors:
            detail = "; ".join(
                f"{e.get('type')} {e.get('id')}: {e.get('error', {}).get('type')}" for e in errors
            )
            raise KibanaError(f"import into {name} failed: {detail or result}")
        moved = [r for r in result.get("successResults", []) if r.get("destinationId")]
        if moved:
            # Kibana re-ids an object whose id lives in another space: re-imports would then pile up copies.
            raise KibanaError(f"import into {name}: Kibana gave new ids to {moved}")
        return int(result.get("successCount", 0))

    def ensure_role(self, name: str, body: Role) -> str:
        """Create or update a role through Kibana's role API; returns created/updated/unchanged."""
        current = self._call("GET", f"/api/security/role/{name}", ok=(200, 404))
        if current.status_code == 200 and same_role(body, current.json()):
            return "unchanged"
        self._call("PUT", f"/api/security/role/{name}", ok=(200, 204), json=body)
        return "created" if current.status_code == 404 else "updated"


def import_bundle(client: KibanaClient, bundle: Bundle, roles: bool = True) -> list[str]:
    """Spaces first (objects need them), then each space's objects, then roles; one line per step."""
    lines = []
    for view in bundle.spaces:
        if view.body is not None:
            lines.append(f"space {view.space_id}: {client.ensure_space(view.body)}")
    for view in bundle.spaces:
        count = client.import_objects(space_path(view.space_id), view.objects, view.space_id)
        lines.append(
            f"space {view.space_id}: {count} saved objects imported (overwrite, fixed ids)"
        )
    if roles:
        for name, body in bundle.roles.items():
            lines.append(f"role {name}: {client.ensure_role(name, body)}")
    return lines
