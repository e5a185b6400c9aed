"""The playground's web server: the page and its files from the package, and one WebSocket per tab at /ws.

Starlette and uvicorn are an optional extra (``pip install 'chainrule[playground]'``). Training runs in
a worker thread in slices of about a frame's time, so the event loop stays free for the page's
messages; frames go out at most ``FPS`` times a second. The socket refuses pages from any other origin.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from urllib.parse import urlsplit

from ..errors import ConfigError
from .protocol import Connection

STATIC = os.path.join(os.path.dirname(__file__), "static")
FPS = 25
MAX_MESSAGE = 8 * 1024 * 1024  # bytes; the socket closes on a larger message (a CSV upload is at most 5 MB)


def _starlette():
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError("the playground needs Starlette and uvicorn: pip install 'chainrule[playground]'") from None


def same_origin(origin: str | None, host: str | None) -> bool:
    """A browser sends Origin with every WebSocket; only pages served by this server (same host:port) may talk.
    Clients that are not browsers send none and are let in (they cannot be a web page's script)."""
    if origin is None:
        return True
    if not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == host


def create_app():
    """The Starlette application: / (the page), /static/... and /ws."""
    _starlette()
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles
    from starlette.websockets import WebSocketDisconnect

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"), headers={"Cache-Control": "no-store"})

    async def socket(websocket):
        if not same_origin(websocket.headers.get("origin"), websocket.headers.get("host")):
            await websocket.close(code=1008)  # policy violation: another site's page
            return
        await websocket.accept()
        connection = Connection()
        sender = asyncio.Lock()

        async def send(messages):
            async with sender:
                for message in messages:
                    await websocket.send_text(json.dumps(message, allow_nan=False))

        async def trainer():
            """While playing: train for about a frame's time in a worker thread, then send one frame."""
            while True:
                if not connection.playing or connection.session is None:
                    await asyncio.sleep(0.02)
                    continue
                frame = await asyncio.to_thread(_train_slice, connection, 1.0 / FPS)
                if frame is not None:
                    await send([frame])
                await asyncio.sleep(0.001)

        task = asyncio.create_task(trainer())
        try:
            while True:
                text = await websocket.receive_text()
                try:
                    message = json.loads(text)
                except ValueError as exc:
                    await send([{"type": "error", "message": f"not JSON: {exc}"}])
                    continue
                await send(await asyncio.to_thread(connection.handle, message))
        except WebSocketDisconnect:
            pass
        finally:
            task.cancel()
            connection.session = None  # the tab's state goes with it

    return Starlette(
        routes=[
            Route("/", index),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            WebSocketRoute("/ws", socket),
        ]
    )


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


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = True, ready=None) -> None:
    """Serve until interrupted; port 0 picks a free one. ``ready(url)`` is called once it listens."""
    _starlette()
    import socket as sockets

    import uvicorn

    sock = sockets.socket(sockets.AF_INET6 if ":" in host else sockets.AF_INET)
    sock.setsockopt(sockets.SOL_SOCKET, sockets.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"playground: cannot listen on {host}:{port} ({exc.strerror})") from None
    actual = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{actual}/"
    config = uvicorn.Config(create_app(), log_level="warning", ws_max_size=MAX_MESSAGE, ws="auto")
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
