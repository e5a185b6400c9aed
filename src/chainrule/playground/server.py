"""The playground's web server: the page and its files from the package, and one WebSocket per tab at /ws.

Starlette and uvicorn are an optional extra (``pip install 'chainrule[playground]'``). Training runs in
a worker thread in slices of about a frame's time, so the event loop stays free for the page's
messages; frames go out at most ``FPS`` times a second. The socket refuses pages from any other origin.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ..errors import ConfigError
from .protocol import Connection

STATIC = os.path.join(os.path.dirname(__file__), "static")
FPS = 25
MAX_MESSAGE = 8 * 1024 * 1024  # bytes; the socket closes on a larger message (a CSV upload is at most 5 MB)
MAX_SESSIONS = 8  # tabs at once (each holds a network, its data and a history of up to 100,000 rows)
NOT_FINITE = "the network's numbers are no longer finite (it diverged); lower the learning rate and reset"


def _starlette():
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError("the playground needs Starlette and uvicorn: pip install 'chainrule[playground]'") from None


def host_name(header: str | None) -> str:
    """The name in a Host header, without the port: '[::1]:8000' -> '::1', 'Localhost:80' -> 'localhost'."""
    try:
        return urlsplit("//" + (header or "")).hostname or ""
    except ValueError:
        return ""


def is_loopback(name: str) -> bool:
    """localhost, or a loopback address (127.0.0.0/8, ::1): names that only ever mean this machine."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def allowed_host(header: str | None, listen: str) -> bool:
    """Against DNS rebinding (a page on evil.com whose name now resolves to 127.0.0.1): while the server
    listens on a loopback address, only requests addressed to localhost or a loopback address are served.
    Listening beyond this machine (--host), any name may reach it, and the token guards the socket."""
    return is_loopback(host_name(header)) or not is_loopback(listen.strip("[]"))


def same_origin(origin: str | None, host: str | None) -> bool:
    """A browser sends Origin with every WebSocket; only pages served by this server (same host:port) may talk.
    A request without an Origin is refused too: no page of ours opens the socket without one."""
    if origin is None or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == host


class HostCheck:
    """ASGI middleware: a request whose Host is not allowed (see ``allowed_host``) gets 400, or, for the
    socket, a refusal, before any route sees it."""

    def __init__(self, app, listen: str):
        self.app, self.listen = app, listen

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not allowed_host(host, self.listen):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                from starlette.responses import PlainTextResponse

                await PlainTextResponse("unknown host: the playground answers to localhost only", 400)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


def create_app(
    data_dir: str | None = None, host: str = "127.0.0.1", token: str | None = None, max_sessions: int = MAX_SESSIONS
):
    """The Starlette application: / (the page), /static/... and /ws.

    ``data_dir``: the only folder whose CSV files a page may open by path (default: the current folder).
    ``host``: the address the server listens on (which Host names it answers to). ``token``: where given, the
    socket also needs ``?token=`` with it (the page passes on its own address's). At most ``max_sessions``
    tabs at once; another is told so and closed."""
    _starlette()
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles

    data_dir = os.path.realpath(data_dir or os.getcwd())
    # Training slices and message handling each have their own threads: tabs that train never keep another
    # tab's messages waiting, and the slices of all playing tabs take turns (the queue is first in, first out).
    trainers = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="playground-train")
    handlers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="playground-message")
    open_sessions = 0

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"), headers={"Cache-Control": "no-store"})

    async def socket(websocket):
        nonlocal open_sessions
        if not same_origin(websocket.headers.get("origin"), websocket.headers.get("host")):
            await websocket.close(code=1008)  # policy violation: another site's page, or no page at all
            return
        if token is not None and not secrets.compare_digest(websocket.query_params.get("token", ""), token):
            await websocket.close(code=1008, reason="wrong or missing token: open the address the server printed")
            return
        await websocket.accept()
        if open_sessions >= max_sessions:
            message = f"{max_sessions} sessions are open, the most this server allows; close a tab and try again"
            await websocket.send_text(json.dumps({"type": "error", "message": message}))
            await websocket.close(code=1013, reason=f"{max_sessions} sessions open")  # 1013: try again later
            return
        open_sessions += 1
        try:
            await _serve_tab(websocket, Connection(data_dir), trainers, handlers)
        finally:
            open_sessions -= 1

    app = Starlette(
        routes=[
            Route("/", index),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            WebSocketRoute("/ws", socket),
        ],
        middleware=[Middleware(HostCheck, listen=host)],
    )
    return app


PAUSED = {"type": "status", "playing": False}


async def _serve_tab(websocket, connection: Connection, trainers, handlers) -> None:
    """One tab's socket: its messages answered, and while it plays, a frame after each slice of training."""
    from starlette.websockets import WebSocketDisconnect

    loop = asyncio.get_running_loop()
    sender = asyncio.Lock()

    async def send(messages):
        async with sender:
            for message in messages:
                try:
                    texts = [json.dumps(message, allow_nan=False)]
                except ValueError:  # NaN or infinity in a reply: say so, and that training stopped, rather than drop
                    connection.playing = False
                    texts = [json.dumps({"type": "error", "message": NOT_FINITE}), json.dumps(PAUSED)]
                if message.get("type") == "frame" and message.get("diverged"):
                    texts.append(json.dumps(PAUSED))  # the page's button says pause no longer
                for text in texts:
                    await websocket.send_text(text)

    async def trainer():
        """While playing: train for about a frame's time in a worker thread, then send one frame."""
        while True:
            if not connection.playing or connection.session is None:
                await asyncio.sleep(0.02)
                continue
            frame = await loop.run_in_executor(trainers, _train_slice, connection, 1.0 / FPS)
            if frame is not None:
                await send([frame])
            await asyncio.sleep(0.001)

    task = asyncio.create_task(trainer())
    try:
        while True:
            event = await websocket.receive()
            if event["type"] == "websocket.disconnect":
                break
            text = event.get("text")
            if text is None:
                await send([{"type": "error", "message": "binary frames are not part of the protocol; send JSON text"}])
                continue
            try:
                message = json.loads(text)
            except RecursionError:
                await send([{"type": "error", "message": "not a message: JSON nested too deeply"}])
                continue
            except ValueError as exc:
                await send([{"type": "error", "message": f"not JSON: {exc}"}])
                continue
            await send(await loop.run_in_executor(handlers, connection.handle, message))
    except WebSocketDisconnect:
        pass
    finally:
        task.cancel()
        connection.session = None  # the tab's state goes with it


def _train_slice(connection: Connection, seconds: float):
    """Steps until ``seconds`` have passed (at least one), then the frame; None if the network diverged to NaN."""
    session = connection.session
    with session.lock:
        end = time.perf_counter() + seconds * 0.9
        while True:
            loss = session.step()
            if loss != loss or time.perf_counter() >= end:  # NaN: stop, and let the page say why
                break
        frame = session.frame()
    if loss != loss:
        connection.playing = False
        frame["diverged"] = True
    return frame


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    ready=None,
    data_dir: str | None = None,
    max_sessions: int = MAX_SESSIONS,
) -> None:
    """Serve until interrupted; port 0 picks a free one. ``ready(url)`` is called once it listens. Beyond a
    loopback address the socket needs a random token, which is in the URL given to ``ready``."""
    _starlette()
    import socket as sockets

    import uvicorn

    sock = sockets.socket(sockets.AF_INET6 if ":" in host else sockets.AF_INET)
    sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        raise ConfigError(
            f"playground: cannot listen on {host}:{port} ({getattr(exc, 'strerror', None) or exc})"
        ) from None
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{actual}/"
    if token:
        url += f"?token={token}"
    app = create_app(data_dir, host, token, max_sessions)
    config = uvicorn.Config(app, log_level="warning", ws_max_size=MAX_MESSAGE, ws="auto")
    server = uvicorn.Server(config)

    async def main():
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.02)
        if ready is not None:
            ready(url)
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        await task

    asyncio.run(main())
