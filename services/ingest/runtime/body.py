"""Response bodies with bounded work: size caps before and after decompression, a JSON depth cap,
and large parses off the event loop.

Contract: :func:`read_capped` reads a streamed httpx response, decoding gzip/deflate itself
with an output cap, and raises :class:`BodyTooLarge` (a PayloadError: the feed gets one dead
letter and is tried again on its schedule) past ``max_wire_bytes`` on the wire or
``max_decoded_bytes`` decoded, and PayloadError for a body that is not the encoding its
header claims. :func:`parse_json` raises PayloadError — never RecursionError, ValueError from
a 5,000-digit number, or UnicodeDecodeError — and refuses nesting deeper than ``max_depth``.
"""

from __future__ import annotations

import asyncio
import json
import re
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import httpx
import numpy as np

from services.ingest.runtime.errors import PayloadError

T = TypeVar("T")
EVIDENCE_BYTES: Final = 64 * 1024
"""What of an unreadable body a dead letter keeps (the letter also gives the full size)."""
OFF_LOOP_BYTES: Final = 256 * 1024
"""Bodies at least this big are parsed in a worker thread, so /healthz and the other streams
keep answering while a 10 MB feed is read."""
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_STEP: Final = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class BodyLimits:
    """Caps on one response: bytes on the wire, bytes once decoded, JSON nesting, total time."""

    max_wire_bytes: int = 16 * 1024 * 1024
    max_decoded_bytes: int = 32 * 1024 * 1024
    max_json_depth: int = 128
    max_seconds: float = 120.0
    max_line_bytes: int = 1024 * 1024


class BodyTooLarge(PayloadError):
    """A response over a configured size cap; reading stopped there."""


class _Inflate:
    """zlib decoding with an output cap: never holds more than the cap allows."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._first = True

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of ``data``; OverflowError when they would exceed ``room``."""
        try:
            out = self._obj.decompress(data, room + 1)
        except zlib.error:
            if self._gzip or not self._first:
                raise
            # Some servers send raw deflate under "deflate": read it as that instead.
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._obj.decompress(data, room + 1)
        self._first = False
        if len(out) > room or self._obj.unconsumed_tail:
            raise OverflowError
        return out

    def flush(self, room: int) -> bytes:
        out = self._obj.flush()
        if len(out) > room:
            raise OverflowError
        return out


DECODED: Final = frozenset({"gzip", "x-gzip", "deflate"})
ACCEPT_ENCODING: Final = "gzip, deflate"
"""Only what :func:`read_capped` decodes with a cap is asked for."""


def _decoders(url: str, header: str) -> list[_Inflate]:
    names = [e.strip().lower() for e in header.split(",") if e.strip()]
    names = [n for n in names if n != "identity"]
    unknown = [n for n in names if n not in DECODED]
    if unknown or len(names) > 2:
        raise PayloadError(url, f"unsupported Content-Encoding {header[:100]!r}", b"")
    return [_Inflate(n) for n in reversed(names)]


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers.get("content-length", ""))
    except ValueError:
        return None


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as it came off the wire; a body read already (tests' MockTransport) as is."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


async def read_capped(response: httpx.Response, limits: BodyLimits) -> bytes:
    """The whole decoded body of a streamed response, within ``limits`` (see module doc)."""
    url = str(response.url)
    declared = _declared_length(response)
    if declared is not None and declared > limits.max_wire_bytes:
        raise BodyTooLarge(
            url, f"Content-Length {declared} is over the {limits.max_wire_bytes}-byte cap", b""
        )
    decoders = _decoders(url, response.headers.get("content-encoding", ""))
    if response.is_stream_consumed:  # a transport that read (and decoded) the body already
        decoders = []
    body = bytearray()
    evidence = bytearray()
    wire = 0
    try:
        async for raw in _raw_chunks(response):
            wire += len(raw)
            if len(evidence) < EVIDENCE_BYTES:
                evidence += raw[: EVIDENCE_BYTES - len(evidence)]
            if wire > limits.max_wire_bytes:
                raise BodyTooLarge(
                    url, f"over {limits.max_wire_bytes} bytes on the wire", bytes(evidence)
                )
            chunk = raw
            for decoder in decoders:
                chunk = decoder.feed(chunk, limits.max_decoded_bytes - len(body))
            body += chunk
            if len(body) > limits.max_decoded_bytes:
                raise OverflowError
        for decoder in decoders:
            body += decoder.flush(limits.max_decoded_bytes - len(body))
    except OverflowError:
        raise BodyTooLarge(
            url,
            f"over {limits.max_decoded_bytes} bytes once decoded ({wire} bytes read)",
            bytes(evidence),
        ) from None
    except zlib.error as exc:
        encoding = response.headers.get("content-encoding", "")[:50]
        raise PayloadError(url, f"body is not valid {encoding}: {exc}", bytes(evidence)) from exc
    return bytes(body)


async def lines_capped(response: httpx.Response, limits: BodyLimits) -> AsyncIterator[str]:
    """Lines of a long-lived streamed response (SSE), decoded and each at most ``max_line_bytes``."""
    url = str(response.url)
    decoders = _decoders(url, response.headers.get("content-encoding", ""))
    if response.is_stream_consumed:
        decoders = []
    pending = b""
    async for raw in _raw_chunks(response):
        chunk = raw
        try:
            for decoder in decoders:
                chunk = decoder.feed(chunk, limits.max_line_bytes * 4)
        except (OverflowError, zlib.error) as exc:
            raise PayloadError(
                url, f"stream chunk not decodable within caps: {exc!r}", b""
            ) from exc
        pending += chunk
        *complete, pending = re.split(rb"\r\n|\r|\n", pending)
        for line in complete:
            yield line.decode("utf-8", "replace")
        if len(pending) > limits.max_line_bytes:
            raise BodyTooLarge(url, f"a line over {limits.max_line_bytes} bytes", pending[:4096])
    if pending:
        yield pending.decode("utf-8", "replace")


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw`` (strings skipped); linear in its length."""
    steps = np.frombuffer(
        _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS).translate(_STEP), dtype=np.int8
    )
    level = peak = 0
    for start in range(0, len(steps), _CHUNK):  # chunks keep the running sums' memory small
        sums = np.cumsum(steps[start : start + _CHUNK], dtype=np.int64) + level
        peak, level = max(peak, int(sums.max())), int(sums[-1])
    return peak


def parse_json(url: str, raw: bytes, max_depth: int = BodyLimits.max_json_depth) -> Any:
    """The JSON body of a response from ``url``; PayloadError (dead-lettered) when it is not JSON
    or nests deeper than ``max_depth``."""
    depth = json_depth(raw)
    if depth > max_depth:
        raise PayloadError(url, f"JSON nested {depth} deep (the cap is {max_depth})", raw)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise PayloadError(url, f"body is not JSON: {exc}", raw) from exc


async def off_loop(size: int, work: Callable[[], T]) -> T:
    """``work()`` in a worker thread when ``size`` is large, inline when it is small."""
    if size >= OFF_LOOP_BYTES:
        return await asyncio.to_thread(work)
    return work()


async def parse_json_async(url: str, raw: bytes, max_depth: int = BodyLimits.max_json_depth) -> Any:
    """:func:`parse_json`, off the event loop for a large body."""
    return await off_loop(len(raw), lambda: parse_json(url, raw, max_depth))
