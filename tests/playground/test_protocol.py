"""The WebSocket protocol in process (Starlette's test client): every message type, bad input, origins, tabs."""

import base64
import json
import os
import subprocess
import sys
import time
import tomllib

import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed (pip install 'chainrule[playground]')")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2 (the dev extra)")
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from chainrule.playground.protocol import MESSAGES, Connection
from chainrule.playground.server import allowed_host, create_app, same_origin

ORIGIN = {"origin": "http://127.0.0.1"}
WS = "ws://127.0.0.1/ws"  # the test client would otherwise say Host: testserver, which the server refuses


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), base_url="http://127.0.0.1") as c:  # the address the server answers to
        yield c


def receive_until(ws, kind, limit=50):
    for _ in range(limit):
        message = ws.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message")


def start(ws, **config):
    ws.send_json({"type": "config", "config": config})
    network = receive_until(ws, "network")
    frame = receive_until(ws, "frame")
    receive_until(ws, "status")
    return network, frame


def test_the_page_and_its_files_come_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and "chainrule playground" in page.text
    for path in (
        "/static/app.js",
        "/static/style.css",
        "/static/vendor/katex/katex.min.js",
        "/static/vendor/katex/katex.min.css",
        "/static/vendor/katex/contrib/auto-render.min.js",
        "/static/vendor/katex/fonts/KaTeX_Main-Regular.woff2",
        "/static/vendor/uplot/uPlot.iife.min.js",
        "/static/vendor/katex/LICENSE",
        "/static/vendor/uplot/LICENSE",
    ):
        assert client.get(path).status_code == 200, path
    assert "http" not in page.text.replace("http://www.w3.org", "")  # nothing from another site


def test_a_page_from_another_origin_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(WS, headers={"origin": "http://evil.example"}) as ws:
            ws.receive_json()
    assert refused.value.code == 1008
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert not same_origin("http://127.0.0.1:8001", "127.0.0.1:8000")
    assert not same_origin("null", "127.0.0.1:8000")


def test_every_message_type(client):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        network, frame = start(ws)
        assert network["sizes"] == [2, 4, 2, 1] and frame["step"] == 0 and len(frame["heatmaps"]["nodes"]) == 4
        ws.send_json({"type": "step"})
        assert receive_until(ws, "frame")["step"] == 1
        ws.send_json({"type": "epoch"})
        frame = receive_until(ws, "frame")
        assert frame["epoch"] == 1 and frame["step"] == 25  # the rest of the pass: 250 training points, batches of 10
        ws.send_json({"type": "select", "layer": 2, "i": 1, "j": 3})
        chain = receive_until(ws, "chain")
        assert chain["name"] == "w2[2,4]" and chain["gradient"] == pytest.approx(chain["data_gradient"])
        ws.send_json({"type": "select", "layer": 2, "i": 1, "j": 3, "row": 4})
        assert receive_until(ws, "chain")["row"] == 4
        ws.send_json({"type": "play"})
        assert receive_until(ws, "status")["playing"] is True
        first = receive_until(ws, "frame")
        later = receive_until(ws, "frame")
        assert later["step"] > first["step"] > 25 and "chain" in later  # the panel follows the training
        ws.send_json({"type": "pause"})
        receive_until(ws, "status")
        ws.send_json({"type": "deselect"})
        for fmt in ("markdown", "latex", "html", "json", "text"):
            ws.send_json({"type": "export", "format": fmt})
            exported = receive_until(ws, "file")
            assert exported["name"].startswith("chainrule-step-") and base64.b64decode(exported["base64"])
        ws.send_json({"type": "download", "what": "history"})
        assert base64.b64decode(receive_until(ws, "file")["base64"]).startswith(b"step,epoch,train_loss")
        ws.send_json({"type": "regenerate"})
        regenerated = receive_until(ws, "network")
        assert regenerated["config"]["seed"] != 1
        receive_until(ws, "status")
        ws.send_json({"type": "reset"})
        assert receive_until(ws, "frame")["step"] == 0
        receive_until(ws, "status")
        ws.send_json(
            {
                "type": "upload_csv",
                "name": "mine.csv",
                "text": "x,y,c\n" + "\n".join(f"{i},{i * i % 7},{i % 2}" for i in range(30)),
            }
        )
        csv_network = receive_until(ws, "network")
        assert csv_network["config"]["dataset"] == "csv" and csv_network["train_size"] == 15
        assert "mine.csv: 30 rows" in csv_network["note"]


def test_load_csv_by_path(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("a;b;label\n" + "\n".join(f"{i};{-i};{'yes' if i > 10 else 'no'}" for i in range(20)))
    with TestClient(create_app(data_dir=str(tmp_path)), base_url="http://127.0.0.1") as client:
        with client.websocket_connect(WS, headers=ORIGIN) as ws:
            ws.send_json({"type": "load_csv", "path": "points.csv"})  # relative to the data folder
            network = receive_until(ws, "network")
            assert network["class_names"] == ["no", "yes"]
            ws.send_json({"type": "load_csv", "path": str(path)})  # or absolute, inside it
            assert receive_until(ws, "network")["class_names"] == ["no", "yes"]
            ws.send_json({"type": "load_csv", "path": "missing.csv"})
            assert "no file at" in receive_until(ws, "error")["message"]


@pytest.mark.parametrize(
    "message, expected",
    [
        ("not json", "not JSON"),
        ([1, 2], "expected a JSON object"),
        ({"type": "explode"}, "unknown message type 'explode'"),
        ({"type": "step", "extra": 1}, "unknown field(s) 'extra'"),
        ({"type": "select", "layer": "1", "i": 0}, "field 'layer' should be int"),
        ({"type": "select", "layer": True, "i": 0}, "field 'layer' should be int"),
        ({"type": "config", "config": {"hidden": [{"units": 2, "activation": "tanh"}] * 10000}}, "at most 6 layers"),
        ({"type": "config", "config": {"lr": -1}}, "'lr'"),
        ({"type": "upload_csv", "name": "big.csv", "text": "1,2,3\n" * 1_000_000}, "over 5 MB"),
        (
            {"type": "upload_csv", "name": "text.csv", "text": "a,b,c\n1,2,0\n2,two,1\n3,4,0\n5,6,1\n"},
            "'b' (column 2) is not numeric",
        ),
        ({"type": "select", "layer": 9, "i": 0, "j": 0}, "layer must be 1 to 3"),
        ({"type": "select", "layer": 1, "i": 0, "j": 5}, "layer 1 has 4×2 weights"),
        ({"type": "export", "format": "pdf"}, "format should be one of"),
        ({"type": "download", "what": "everything"}, "what should be one of"),
    ],
)
def test_bad_messages_get_an_error_and_the_server_keeps_serving(client, message, expected):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        start(ws)
        ws.send_json({"type": "step"})
        receive_until(ws, "frame")
        ws.send_text(message) if isinstance(message, str) else ws.send_json(message)
        assert expected in receive_until(ws, "error")["message"]
        ws.send_json({"type": "step"})  # still serving, with the old state
        assert receive_until(ws, "frame")["step"] == 2


def test_a_selection_before_any_step_says_so(client):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        ws.send_json({"type": "step"})
        assert "send a 'config' message first" in receive_until(ws, "error")["message"]
        start(ws)
        ws.send_json({"type": "select", "layer": 1, "i": 0, "j": 0})
        assert "no step yet" in receive_until(ws, "error")["message"]


def test_tabs_have_their_own_networks(client):
    with client.websocket_connect(WS, headers=ORIGIN) as a, client.websocket_connect(WS, headers=ORIGIN) as b:
        start(a)
        start(b, dataset="xor", hidden=[{"units": 3, "activation": "relu"}])
        for _ in range(3):
            a.send_json({"type": "step"})
            receive_until(a, "frame")
        b.send_json({"type": "step"})
        frame_b = receive_until(b, "frame")
        assert frame_b["step"] == 1 and len(frame_b["weights"][0]) == 3


def test_closing_a_tab_frees_its_network(client):
    import gc

    from chainrule.playground.session import LIVE

    gc.collect()
    before = len(LIVE)
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        start(ws)
        ws.send_json({"type": "play"})
        receive_until(ws, "frame")
        assert len(LIVE) == before + 1
    deadline = time.time() + 10
    while len(LIVE) > before and time.time() < deadline:  # the server notices the close, then drops the session
        time.sleep(0.05)
        gc.collect()
    assert len(LIVE) == before


def test_the_toml_is_accepted_by_chainrule_train(client, tmp_path):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        start(
            ws,
            hidden=[{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "linear"}],
            optimizer="adam",
            lr=0.01,
            features=["x1", "x2", "x1x2"],
        )
        ws.send_json({"type": "epoch"})
        receive_until(ws, "frame")
        files = {}
        for what in ("toml", "data", "model"):
            ws.send_json({"type": "download", "what": what})
            message = receive_until(ws, "file")
            files[message["name"]] = base64.b64decode(message["base64"])
    (tmp_path / "playground.toml").write_bytes(files["playground.toml"])
    (tmp_path / "playground-data.csv").write_bytes(files["playground-data.csv"])
    values = tomllib.loads(files["playground.toml"].decode())
    assert values["hidden"] == [4, 3] and values["activation"] == ["tanh", "identity"]
    assert values["optimizer"] == "adam" and values["standardize"] is False
    assert files["playground-model.safetensors"][8:9] == b"{"  # a safetensors header, not a pickle
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "--config", str(tmp_path / "playground.toml"), "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs" / "playground" / "model.safetensors").is_file()
    summary = json.loads((tmp_path / "runs" / "playground" / "summary.json").read_text())
    assert "tanh" in json.dumps(summary) and "identity" in json.dumps(summary)


# every type with fields of any JSON kind: the handler answers (an error or a reply) and never raises
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.one_of(
    json_values,
    st.builds(
        lambda kind, fields: {"type": kind, **fields},
        st.sampled_from(list(MESSAGES) + ["nope"]),
        st.dictionaries(
            st.sampled_from(["config", "layer", "i", "j", "row", "format", "what", "name", "text", "path", "x"]),
            json_values,
            max_size=4,
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(messages, min_size=1, max_size=6))
def test_random_messages_never_break_the_handler(sequence):
    connection = Connection()
    connection.handle({"type": "config", "config": {"points": 60}})
    for message in sequence:
        if isinstance(message, dict) and message.get("type") in ("load_csv",):
            continue  # paths: covered above, and a random one must not read this machine's files in a test
        replies = connection.handle(message)
        assert isinstance(replies, list)
        for reply in replies:
            json.dumps(reply, allow_nan=False)  # what goes to the page is valid JSON
    assert connection.handle({"type": "step"})[0]["type"] == "frame"


def test_the_command_listens_on_localhost_only(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "playground", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BROWSER": "false"},
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("chainrule playground: http://127.0.0.1:"), line
        url = line.split()[2]
        import urllib.request

        deadline = time.time() + 10
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert b"chainrule playground" in response.read()
                break
            except OSError:
                assert time.time() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(10)


def test_a_port_in_use_is_one_line_and_exit_2():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "chainrule", "playground", "--no-browser", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2 and "cannot listen on 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_huge_message_closes_only_its_own_socket():
    """Against the real server (uvicorn): a message over 8 MB (a page would refuse a 2 GB file before sending)
    closes that socket; another tab goes on being served."""
    import asyncio

    import websockets

    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "playground", "--no-browser"], stdout=subprocess.PIPE, text=True
    )
    try:
        page = process.stdout.readline().split()[2]
        url, origin = page.replace("http://", "ws://") + "ws", page.rstrip("/")

        async def scenario():
            async with (
                websockets.connect(url, max_size=None, origin=origin) as good,
                websockets.connect(url, max_size=None, origin=origin) as bad,
            ):
                await good.send(json.dumps({"type": "config", "config": {}}))
                assert json.loads(await good.recv())["type"] == "network"
                await bad.send(json.dumps({"type": "upload_csv", "name": "huge.csv", "text": "1,2,3\n" * 1_600_000}))
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(bad.recv(), 20)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
                await good.send(json.dumps({"type": "step"}))
                while (message := json.loads(await asyncio.wait_for(good.recv(), 20)))["type"] != "frame" or (
                    message["step"] != 1
                ):
                    pass

        asyncio.run(scenario())
    finally:
        process.terminate()
        process.wait(10)


# ---------------------------------------------------------------------- what the server lets in
def test_dns_rebinding_is_refused(client):
    """A page on evil.com whose name now resolves to 127.0.0.1: its Host and Origin agree, but are not ours."""
    evil = {"origin": "http://evil.com:8000"}
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("ws://evil.com:8000/ws", headers=evil) as ws:
            ws.receive_json()
    assert refused.value.code == 1008
    assert client.get("http://evil.com:8000/").status_code == 400
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "127.0.0.2"):
        assert allowed_host(host, "127.0.0.1"), host
    for host in ("evil.com:8000", "localhost.evil.com", "", None, "127.0.0.1.evil.com"):
        assert not allowed_host(host, "127.0.0.1"), host
    assert allowed_host("my-laptop.lan:8000", "0.0.0.0")  # listening beyond loopback: the token guards instead


def test_a_socket_without_an_origin_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(WS) as ws:
            ws.receive_json()
    assert refused.value.code == 1008


def test_beyond_loopback_the_socket_needs_the_token():
    with TestClient(create_app(host="0.0.0.0", token="s3cret"), base_url="http://10.0.0.5") as c:
        origin = {"origin": "http://10.0.0.5"}
        for url in ("ws://10.0.0.5/ws", "ws://10.0.0.5/ws?token=wrong"):
            with pytest.raises(WebSocketDisconnect) as refused:
                with c.websocket_connect(url, headers=origin) as ws:
                    ws.receive_json()
            assert refused.value.code == 1008
        with c.websocket_connect("ws://10.0.0.5/ws?token=s3cret", headers=origin) as ws:
            network, _ = start(ws)
            assert network["type"] == "network"


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../../../../etc/passwd", "~/.bashrc", "link/passwd", "link"])
def test_load_csv_reads_nothing_outside_its_data_folder(tmp_path, path):
    (tmp_path / "link").symlink_to("/etc")
    with TestClient(create_app(data_dir=str(tmp_path)), base_url="http://127.0.0.1") as c:
        with c.websocket_connect(WS, headers=ORIGIN) as ws:
            ws.send_json({"type": "load_csv", "path": path})
            message = receive_until(ws, "error")["message"]
            assert "only files under the playground's data folder" in message and "root:x:0:0" not in message
            ws.send_json({"type": "config", "config": {}})  # the socket goes on serving
            assert receive_until(ws, "network")["config"]["dataset"] == "circle"


def test_errors_quote_only_a_short_excerpt_of_a_chosen_file(client):
    secret = "x" * 5000
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        ws.send_json({"type": "upload_csv", "name": "a.csv", "text": f"a,b,c\n1,2,0\n2,{secret},1\n3,4,0\n5,6,1\n"})
        message = receive_until(ws, "error")["message"]
        assert "is not numeric" in message and len(message) < 300


def test_binary_frames_and_nested_json_get_an_error_and_the_socket_stays(client):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        start(ws)
        ws.send_bytes(b"\x00\x01binary")
        assert "binary frames" in receive_until(ws, "error")["message"]
        ws.send_text("[" * 100_000 + "]" * 100_000)
        assert "nested too deeply" in receive_until(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "config", "config": {"hidden": [[[[[[[[1]]]]]]]]}}))
        receive_until(ws, "error")
        ws.send_json({"type": "step"})
        assert receive_until(ws, "frame")["step"] == 1


def test_sessions_beyond_the_cap_are_told_and_closed():
    with TestClient(create_app(max_sessions=2), base_url="http://127.0.0.1") as c:
        with c.websocket_connect(WS, headers=ORIGIN) as first, c.websocket_connect(WS, headers=ORIGIN) as second:
            start(first)
            first.send_json({"type": "play"})
            start(second)
            with c.websocket_connect(WS, headers=ORIGIN) as third:
                assert "2 sessions are open" in third.receive_json()["message"]
                with pytest.raises(WebSocketDisconnect) as closed:
                    third.receive_json()
                assert closed.value.code == 1013
            # the playing tab does not starve the other's messages
            began = time.perf_counter()
            second.send_json({"type": "step"})
            receive_until(second, "frame")
            assert time.perf_counter() - began < 5
        with c.websocket_connect(WS, headers=ORIGIN) as again:  # closed tabs free their places
            start(again)


def test_settings_that_change_only_how_it_learns_keep_the_network():
    connection = Connection()
    connection.handle({"type": "config", "config": {"dataset": "circle", "lr": 0.03}})
    for _ in range(30):
        connection.handle({"type": "step"})
    session = connection.session
    weights = [w.array.copy() for w, _ in session.params]
    base = session.config.to_dict()
    settings, frame = connection.handle({"type": "config", "config": base | {"lr": 0.01, "dropout": 0.1}})
    assert settings["type"] == "settings" and settings["step"] == 30 and frame["step"] == 30
    assert settings["change"] == "lr 0.03 → 0.01, dropout 0.0 → 0.1"
    assert session.optimizer.param_groups[0]["lr"] == 0.01
    for (w, _), before in zip(session.params, weights):
        assert (w.array == before).all()
    settings, _ = connection.handle(
        {"type": "config", "config": base | {"lr": 0.01, "dropout": 0.1, "optimizer": "adam"}}
    )
    assert settings["change"] == "optimizer sgd → adam" and type(session.optimizer).__name__ == "Adam"
    assert [c["step"] for c in session.changes] == [30, 30]
    connection.handle({"type": "step"})
    assert session.steps == 31
    network = connection.handle({"type": "config", "config": base | {"hidden": [{"units": 3, "activation": "relu"}]}})[
        0
    ]
    assert (
        network["type"] == "network"
        and network["rebuilt"] == "a new network: hidden changed (the weights start afresh)"
    )
    assert connection.session.steps == 0


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")  # it diverges
def test_a_diverged_frame_tells_the_page_that_training_stopped(client):
    with client.websocket_connect(WS, headers=ORIGIN) as ws:
        start(ws, dataset="plane", loss="mse", output="linear", hidden=[{"units": 8, "activation": "relu"}] * 2, lr=10)
        ws.send_json({"type": "play"})
        for _ in range(2000):
            message = ws.receive_json()
            if message["type"] == "frame" and message.get("diverged"):
                break
        else:
            raise AssertionError("no diverged frame")
        assert receive_until(ws, "status") == {"type": "status", "playing": False}
        ws.send_json({"type": "select", "layer": 1, "i": 0, "j": 0})
        error = receive_until(ws, "error")
        assert "no longer finite" in error["message"]
        assert receive_until(ws, "status")["playing"] is False
        ws.send_json({"type": "reset"})
        assert receive_until(ws, "frame")["step"] == 0  # the session lives on


def test_a_csv_s_classes_choose_the_loss():
    connection = Connection()
    connection.handle({"type": "config", "config": {"dataset": "circle", "loss": "bce"}})
    three = "x1,x2,label\n" + "".join(f"{i % 7},{i % 5},{'abc'[i % 3]}\n" for i in range(60))
    network = connection.handle({"type": "upload_csv", "name": "three.csv", "text": three})[0]
    assert network["type"] == "network" and network["config"]["loss"] == "cross_entropy"
    numbers = "x1,x2,y\n" + "".join(f"{i % 7},{i % 5},{i * 0.1}\n" for i in range(60))
    assert connection.handle({"type": "upload_csv", "name": "y.csv", "text": numbers})[0]["config"]["loss"] == "mse"
    two = "x1,x2,label\n" + "".join(f"{i % 7},{i % 5},{'ab'[i % 2]}\n" for i in range(60))
    assert connection.handle({"type": "upload_csv", "name": "two.csv", "text": two})[0]["config"]["loss"] == "bce"


def test_the_learner_sets_a_weight_and_the_frame_carries_every_gradient():
    connection = Connection()
    connection.handle({"type": "config", "config": {"dataset": "circle"}})
    connection.handle({"type": "step"})
    frame = connection.handle({"type": "set_weight", "layer": 2, "i": 1, "j": 0, "value": 1.25})[0]
    assert frame["type"] == "frame" and frame["weights"][1][1][0] == 1.25
    assert connection.session.params[1][0].array[1, 0] == 1.25
    assert len(frame["weight_grads"]) == 3 and len(frame["weight_grads"][0]) == 4  # 4 neurons of layer 1
    connection.handle({"type": "set_weight", "layer": 3, "i": 0, "value": -0.5})  # a bias
    assert connection.session.params[2][1].array[0] == -0.5
    assert [c["change"] for c in connection.session.changes] == ["w2[2,1] set to 1.25", "b3[1] set to -0.5"]
    for bad, message in (
        ({"layer": 9, "i": 0, "j": 0, "value": 1.0}, "layer must be 1 to 3"),
        ({"layer": 1, "i": 7, "j": 0, "value": 1.0}, "has 4 neurons of 2 inputs"),
        ({"layer": 1, "i": 0, "j": 0, "value": 1e300}, "finite number within"),
        ({"layer": 1, "i": 0, "j": 0, "value": "2"}, "should be int or float"),
    ):
        reply = connection.handle({"type": "set_weight", **bad})[0]
        assert reply["type"] == "error" and message in reply["message"], reply
