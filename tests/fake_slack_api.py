"""A fake Slack Web API on 127.0.0.1 for the real slack_sdk client to talk to.

It answers what the bot calls (auth.test, chat.postMessage, chat.postEphemeral, chat.update,
conversations.open, views.publish, apps.connections.open) and the three steps of
`files_upload_v2`: files.getUploadURLExternal hands out an upload URL on this same server, the
bytes are POSTed there, and files.completeUploadExternal shares them in a conversation (never
in a user id, as Slack refuses). Files people shared can be registered (`share`): files.info
describes them and their `url_private_download` on this server serves the bytes only with the
bot token (otherwise it redirects to a sign-in page, as Slack does); `lose` makes one gone.
Every call is recorded; any can be scripted to fail or to answer HTTP 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT_TOKEN = "xoxb-test-token-never-logged"
APP_TOKEN = "xapp-test-token-never-logged"
BOT_USER, BOT_ID = "UBOT", "BBOT"
UPLOAD = "upload"  # the name `fail` takes for the POST of a file's bytes to its upload URL
DOWNLOAD = "download"  # the name `fail` takes for the GET of a shared file's bytes (HTTP 500)
_JSON_ARGS = ("blocks", "view", "files")


def dm_of(user: str) -> str:
    """The DM channel between `user` and the app, as the fake opens it: UALEX -> DALEX."""
    return "D" + user[1:]


def _conversation(channel: str) -> str:
    """Where a post lands: a message to a person (`U…`) goes into their DM with the app."""
    return dm_of(channel) if channel[:1] in ("U", "W") else channel


@dataclass(frozen=True)
class Call:
    """One Web API call the bot made: the method and its arguments, merged."""

    method: str
    args: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Upload:
    """A file shared in a conversation through files.completeUploadExternal."""

    file_id: str
    channel: str
    filename: str
    title: str
    content: bytes
    thread_ts: str | None


@dataclass
class FakeSlack:
    """The Slack Web API, on loopback; `calls` holds every call in order, `uploads` each file."""

    calls: list[Call] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    _errors: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = field(
        default_factory=dict
    )
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> posts
    _file_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> name, bytes
    _runner: web.AppRunner | None = None
    url: str = ""
    acks: list[dict[str, Any]] = field(default_factory=list)  # Socket Mode acknowledgements
    _socket: web.WebSocketResponse | None = None
    shared: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> files.info
    downloads: list[str] = field(default_factory=list)  # file ids whose bytes were served
    refused_downloads: int = 0  # GETs of a file without the bot token

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(
            [
                web.post("/api/{method}", self._handle),
                web.get("/api/{method}", self._handle),
                web.get("/files-pri/{file_id}/download/{name}", self._download),
                web.get("/signin", self._signin),
                web.get("/link", self._link),
                web.post("/upload/{file_id}", self._upload),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api/"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        """The Socket Mode WebSocket: says hello, then records each acknowledgement."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})
        self._socket = socket
        async for frame in socket:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.acks.append(json.loads(frame.data))
        return socket

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to the connected app."""
        for _ in range(200):
            if self._socket is not None:
                await self._socket.send_json(envelope)
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the app never connected over Socket Mode")

    def fail(self, method: str, error: str, n: int = 1) -> None:
        """Answer the next `n` calls of `method` with `{"ok": false, "error": error}`.

        `method` may be UPLOAD: the POST of a file's bytes then gets HTTP 500; or DOWNLOAD: the
        GET of a shared file's bytes gets HTTP 500.
        """
        self._errors.setdefault(method, []).extend([(200, {"error": error}, {})] * n)

    def throttle(self, method: str, retry_after: int) -> None:
        """Answer the next call of `method` with HTTP 429 and `Retry-After: retry_after`."""
        headers = {"Retry-After": str(retry_after)}
        self._errors.setdefault(method, []).append((429, {"error": "ratelimited"}, headers))

    def share(
        self,
        file_id: str,
        name: str,
        content: bytes,
        *,
        mimetype: str = "application/octet-stream",
        size: int | None = None,
    ) -> dict[str, Any]:
        """A file a person shared: what a `file_share` event lists in `files`.

        `size` is what files.info says (the length of `content` unless given: a huge file
        needs no huge bytes).
        """
        self.shared[file_id] = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "size": len(content) if size is None else size,
            "content": content,
        }
        return {k: v for k, v in self.shared[file_id].items() if k != "content"}

    def lose(self, file_id: str, error: str = "file_not_found") -> None:
        """files.info about `file_id` answers `error` from now on (the file was deleted...)."""
        self.shared.setdefault(file_id, {"id": file_id})["error"] = error

    def of(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call of `method`."""
        return [c.args for c in self.calls if c.method == method]

    def uploads_to(self, channel: str) -> list[Upload]:
        """The files shared in `channel`, in order."""
        return [u for u in self.uploads if u.channel == channel]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _arguments(request)
        token = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if request.headers.get("Authorization") != f"Bearer {token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        call = Call(method, args)
        self.calls.append(call)
        scripted = self._errors.get(method)
        if scripted:
            status, body, headers = scripted.pop(0)
            return web.json_response({"ok": False, **body}, status=status, headers=headers)
        try:
            call.result.update(self._answer(method, args, request))
        except LookupError as error:  # Slack's answer to arguments it cannot use
            return web.json_response({"ok": False, "error": error.args[0]})
        return web.json_response({"ok": True, **call.result})

    def _answer(self, method: str, args: dict[str, Any], request: web.Request) -> dict[str, Any]:
        if method == "auth.test":
            return {"user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "T1", "user": "boundary"}
        if method == "apps.connections.open":
            return {"url": self.url.replace("http://", "ws://").replace("/api/", "/link")}
        if method == "conversations.open":
            return {"channel": {"id": dm_of(str(args["users"]))}}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"{1_800_000_000 + next(self._ts)}.000100"
            if method == "chat.postMessage":
                self._history.setdefault(_conversation(str(args.get("channel"))), []).append(
                    {"ts": ts, "text": args.get("text", ""), "metadata": args.get("metadata")}
                )
            return {"channel": args.get("channel"), "ts": ts}
        if method == "conversations.history":
            posted = self._history.get(str(args.get("channel")), [])
            newest = posted[::-1][: int(args.get("limit") or 100)]
            with_metadata = args.get("include_all_metadata") in (True, "true", "1", 1)
            return {
                "messages": [
                    {k: v for k, v in m.items() if k != "metadata" or with_metadata} for m in newest
                ]
            }
        if method == "chat.postEphemeral":
            return {"message_ts": f"{1_800_000_000 + next(self._ts)}.000200"}
        if method == "files.getUploadURLExternal":
            return self._upload_url(args, request)
        if method == "files.completeUploadExternal":
            return self._complete(args)
        if method == "files.info":
            return self._file_info(args, request)
        return {}

    def _file_info(self, args: dict[str, Any], request: web.Request) -> dict[str, Any]:
        shared = self.shared.get(str(args.get("file") or ""))
        if shared is None:
            raise LookupError("file_not_found")
        if "error" in shared:
            raise LookupError(shared["error"])
        info = {k: v for k, v in shared.items() if k != "content"}
        base = f"http://127.0.0.1:{request.url.port}/files-pri/T1-{shared['id']}"
        info["url_private"] = f"{base}/{shared['name']}"
        info["url_private_download"] = f"{base}/download/{shared['name']}"
        return {"file": info}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """A shared file's bytes, for the bot token only; others get the sign-in page."""
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            self.refused_downloads += 1
            raise web.HTTPFound("/signin")
        file_id = request.match_info["file_id"].removeprefix("T1-")
        if self._errors.get(DOWNLOAD):
            self._errors[DOWNLOAD].pop(0)
            return web.Response(status=500, text="download failed")
        shared = self.shared.get(file_id)
        if shared is None or "error" in shared or "content" not in shared:
            return web.Response(status=404, text="not found")
        self.downloads.append(file_id)
        return web.Response(body=shared["content"], content_type=shared["mimetype"])

    async def _signin(self, request: web.Request) -> web.Response:
        return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")

    def _upload_url(self, args: dict[str, Any], request: web.Request) -> dict[str, Any]:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            raise LookupError("invalid_arguments")
        file_id = f"F{next(self._file_ids):06d}"
        self._pending[file_id] = {"filename": filename, "length": int(length), "content": None}
        upload_url = f"http://127.0.0.1:{request.url.port}/upload/{file_id}"
        return {"upload_url": upload_url, "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: takes the file's bytes (the declared length) and answers `OK`."""
        pending = self._pending.get(request.match_info["file_id"])
        content = await request.read()
        if self._errors.get(UPLOAD):
            self._errors[UPLOAD].pop(0)
            return web.Response(status=500, text="upload failed")
        if pending is None or len(content) != pending["length"]:
            return web.Response(status=400, text="bad upload")
        pending["content"] = content
        return web.Response(text=f"OK - {len(content)}")

    def _complete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel_id") or "")
        if channel[:1] not in ("C", "D", "G"):
            raise LookupError("channel_not_found")
        done = []
        for item in args.get("files") or []:
            pending = self._pending.get(str(item.get("id")))
            if pending is None or pending["content"] is None:
                raise LookupError("file_not_found")
            title = str(item.get("title") or pending["filename"])
            thread = args.get("thread_ts") or None
            upload = Upload(
                item["id"], channel, pending["filename"], title, pending["content"], thread
            )
            done.append(upload)
        self.uploads.extend(done)
        return {"files": [{"id": u.file_id, "name": u.filename, "title": u.title} for u in done]}


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        args.update(await request.json())
    else:
        args.update(await request.post())
    for key in _JSON_ARGS:
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args
