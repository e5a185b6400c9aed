// The chainrule playground's page: draws what the server's engine sends, and sends what the learner does.
// Messages are described in docs/playground.md. No build step: plain JavaScript, KaTeX and uPlot.
"use strict";

const DATASETS = {circle: "circle", xor: "exclusive or", gauss: "two Gaussians", spiral: "spiral",
  blobs: "blobs", plane: "plane (regression)", bumps: "bumps (regression)", digits: "8×8 digits", csv: "your CSV"};
const FEATURES = {x1: "x₁", x2: "x₂", "x1^2": "x₁²", "x2^2": "x₂²", x1x2: "x₁x₂", sin_x1: "sin x₁", sin_x2: "sin x₂"};
const ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear", "leaky_relu", "gelu"];
const RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const DEFAULTS = {dataset: "circle", classes: 3, noise: 0, train_percent: 50, points: 500, seed: 1,
  features: ["x1", "x2"], hidden: [{units: 4, activation: "tanh"}, {units: 2, activation: "tanh"}],
  loss: "bce", output: "tanh", optimizer: "sgd", lr: 0.03, batch_size: 10, regularization: "none",
  reg_rate: 0, dropout: 0};
const NEG = [245, 147, 34], POS = [8, 119, 189];  // orange for negative, blue for positive (as TensorFlow Playground)
const CLASS_COLOURS = [[245, 147, 34], [8, 119, 189], [60, 160, 60], [200, 60, 160], [120, 90, 200], [200, 60, 60],
  [90, 90, 90], [0, 170, 170], [170, 140, 0], [140, 70, 20]];

const $ = (id) => document.getElementById(id);
let socket = null, config = null, net = null, frame = null, selection = null, lastStep = -1;
let lossData = [[], [], []], gradData = null, lossChart = null, gradChart = null;
let marks = [];  // [{step, change}]: settings changed while this network trained, drawn on the loss chart
let linkGeometry = [];  // [{layer, i, j, x1, y1, x2, y2}]: every drawn link, for picking the one nearest a click
const canvases = [];  // [[canvas per node] per column]

// ---------------------------------------------------------------- the URL holds the settings
const VIEW = {show_test: "show-test", discretize: "discretize"};  // the page's own options, kept in the URL too

function encodeHash(c) {
  const p = new URLSearchParams();
  for (const [key, id] of Object.entries(VIEW)) if ($(id).checked) p.set(key, "1");
  for (const [k, v] of Object.entries(c)) {
    if (k === "hidden") p.set(k, v.map((l) => l.units + ":" + l.activation).join(",") || "none");
    else if (k === "features") p.set(k, v.join(","));
    else p.set(k, String(v));
  }
  return "#" + p.toString();
}

function decodeHash(hash) {
  const c = structuredClone(DEFAULTS);
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  for (const [key, id] of Object.entries(VIEW)) $(id).checked = p.get(key) === "1";
  for (const [k, v] of p.entries()) {
    if (!(k in DEFAULTS)) continue;
    if (k === "hidden") c.hidden = v === "none" ? [] : v.split(",").map((s) => {
      const [units, activation] = s.split(":");
      return {units: Number(units), activation};
    });
    else if (k === "features") c.features = v ? v.split(",") : [];
    else if (typeof DEFAULTS[k] === "number") c[k] = Number(v);
    else c[k] = v;
  }
  // an address written by hand may name a data set alone: fill in what choosing it on the page would
  if (!p.has("classes") && c.dataset === "spiral") c.classes = 2;
  if (!p.has("loss")) c.loss = lossFollowingTask(c);
  return c;
}

function lossFollowingTask(c) {
  // squared losses for the regression sets, no binary cross-entropy for more than two classes
  const classes = c.dataset === "digits" ? 10 : ["spiral", "blobs"].includes(c.dataset) ? c.classes : 2;
  if (["plane", "bumps"].includes(c.dataset)) return ["half_sse", "mse"].includes(c.loss) ? c.loss : "mse";
  return classes > 2 && c.loss === "bce" ? "cross_entropy" : c.loss;
}

// ---------------------------------------------------------------- the socket
function connect() {
  // the token (where the server asks for one: listening beyond this machine) comes with the page's address
  const token = new URLSearchParams(location.search).get("token");
  const query = token ? "?token=" + encodeURIComponent(token) : "";
  socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws" + query);
  socket.onopen = () => {
    $("connection").textContent = "connected";
    const wanted = decodeHash(location.hash);
    if (wanted.dataset === "csv") {  // the server does not keep uploads: say so rather than show circle silently
      showError("this address was a session on your CSV, which is not kept: choose the file again (showing circle)",
        "notice");
    }
    send({type: "config", config: wanted.dataset === "csv" ? {...wanted, dataset: "circle"} : wanted});
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    setPlaying(false);
    if (event.code === 1008) {  // refused for good (a wrong token or address): retrying would not help
      $("connection").textContent = "refused by the server: " + (event.reason || "not allowed");
      return;
    }
    const full = event.code === 1013;  // every session in use: try again a little later
    $("connection").textContent = full ? "the server is busy (" + event.reason + "); retrying…"
      : "connection lost; reconnecting…";
    setTimeout(connect, full ? 5000 : 1000);
  };
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function receive(m) {
  if (m.type === "error") {
    if (net) { config = net.config; showConfig(); }  // the last settings the server took
    return showError(m.message);
  }
  if (m.type === "network") return onNetwork(m);
  if (m.type === "settings") return onSettings(m);
  if (m.type === "frame") return onFrame(m);
  if (m.type === "status") return setPlaying(m.playing);
  if (m.type === "chain") return onChain(m);
  if (m.type === "file") return saveFile(m);
}

function showError(text, kind = "error", stay = false) {
  // "error", or "notice": news that is not a fault (a rebuilt network, a changed rate). ``stay``: until the
  // condition ends (a diverged network: until the next network), not for 8 seconds
  const box = $("error");
  box.textContent = text;
  box.className = kind;
  box.hidden = false;
  clearTimeout(showError.timer);
  if (!stay) showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
}

function setPlaying(playing) {
  document.body.dataset.playing = playing ? "yes" : "no";
  $("play").textContent = playing ? "❚❚ pause" : "▶ play";
}

function saveFile(m) {
  const bytes = Uint8Array.from(atob(m.base64), (c) => c.charCodeAt(0));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([bytes], {type: m.mime}));
  link.download = m.name;
  document.body.appendChild(link);
  link.click();
  setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
}

// ---------------------------------------------------------------- settings
function changeConfig(patch) {
  // the settings change here at once, so that two quick changes both count; an error puts back the server's
  config = {...config, ...patch};
  send({type: "config", config});
}

function fillSelect(select, values, format) {
  select.innerHTML = values.map((v) => `<option value="${v}">${format ? format(v) : v}</option>`).join("");
}

function setupControls() {
  const buttons = $("datasets");
  for (const [name, label] of Object.entries(DATASETS)) {
    const b = document.createElement("button");
    b.textContent = label;
    b.dataset.dataset = name;
    b.onclick = () => {
      if (name === "csv") return $("csv-file").click();
      const patch = {dataset: name};
      if (name === "spiral" && config.dataset !== "spiral") {
        // a spiral that learns: 2 classes through two layers of 8 (3 classes through 4 and 2 never did)
        patch.classes = 2;
        if (config.hidden.length < 2 || config.hidden.some((l) => l.units < 8)) {
          patch.hidden = [{units: 8, activation: "tanh"}, {units: 8, activation: "tanh"}];
        }
      }
      const classes = name === "digits" ? 10 : ["spiral", "blobs"].includes(name) ? (patch.classes || config.classes) : 2;
      const wasRegression = net && net.task === "regression";
      const loss = lossFollowingTask({...config, ...patch});
      if (loss !== config.loss) patch.loss = loss;
      else if (!["plane", "bumps"].includes(name) &&
               (wasRegression || (classes > 2 && ["half_sse", "mse"].includes(config.loss)))) {
        patch.loss = classes > 2 ? "cross_entropy" : "bce";  // the loss follows the task: no MSE on classes
      }
      if (name === "digits" && (config.dataset !== "digits")) {
        patch.hidden = [{units: 16, activation: "relu"}];
        patch.lr = 0.1;
        patch.batch_size = 32;
      } else if (name !== "digits" && config.dataset === "digits") {
        patch.hidden = DEFAULTS.hidden;
        patch.lr = DEFAULTS.lr;
        patch.batch_size = DEFAULTS.batch_size;
      }
      changeConfig(patch);
    };
    buttons.appendChild(b);
  }
  fillSelect($("lr"), RATES);
  fillSelect($("reg_rate"), REG_RATES);
  fillSelect($("dropout"), DROPOUTS);
  for (const id of ["loss", "output", "optimizer", "regularization"]) $(id).onchange = (e) => changeConfig({[id]: e.target.value});
  for (const id of ["lr", "reg_rate", "dropout"]) $(id).onchange = (e) => changeConfig({[id]: Number(e.target.value)});
  for (const id of ["classes", "noise", "train_percent", "points"]) {
    $(id).oninput = (e) => { $(id + "-value").textContent = e.target.value + (id === "noise" || id === "train_percent" ? "%" : ""); };
    $(id).onchange = (e) => changeConfig({[id]: Number(e.target.value)});
  }
  $("batch_size").onchange = (e) => changeConfig({batch_size: Math.max(1, Math.round(Number(e.target.value)) || 1)});
  $("seed").onchange = (e) => changeConfig({seed: Math.max(0, Math.round(Number(e.target.value)) || 0)});
  $("regenerate").onclick = () => send({type: "regenerate"});
  $("reset").onclick = () => send({type: "reset"});
  $("play").onclick = () => send({type: document.body.dataset.playing === "yes" ? "pause" : "play"});
  $("step").onclick = () => send({type: "step"});
  $("epoch").onclick = () => send({type: "epoch"});
  $("add-layer").onclick = () => {
    if (config.hidden.length >= 6) return showError("at most 6 hidden layers");
    const units = config.dataset === "digits" ? 16 : 4;
    const activation = config.hidden.length ? config.hidden[config.hidden.length - 1].activation : "tanh";
    changeConfig({hidden: [...config.hidden, {units, activation}]});
  };
  $("remove-layer").onclick = () => changeConfig({hidden: config.hidden.slice(0, -1)});
  $("csv-file").onchange = (e) => {
    const file = e.target.files[0];
    if (!file) return;
    if (file.size > 5 * 1024 * 1024) return showError(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB; the playground takes CSV files up to 5 MB`);
    file.text().then((text) => send({type: "upload_csv", name: file.name, text}));
    e.target.value = "";
  };
  $("csv-load").onclick = () => send({type: "load_csv", path: $("csv-path").value});
  $("show-test").onchange = () => { drawOutput(); showConfig(); };
  $("discretize").onchange = () => { drawOutput(); showConfig(); };
  window.addEventListener("hashchange", () => {  // an address edited by hand applies its settings
    if (config && location.hash !== encodeHash(config)) send({type: "config", config: decodeHash(location.hash)});
  });
  $("links").onclick = (e) => {
    const box = $("links").getBoundingClientRect();
    // the link nearest the pointer; a click with no position near any (one sent by a script) takes the line it hit
    const link = nearestLink(e.clientX - box.left, e.clientY - box.top) || e.target.dataset;
    if (link && link.layer !== undefined) {
      select({layer: Number(link.layer), i: Number(link.i), j: Number(link.j), row: selection ? selection.row : null});
    }
  };
  const setValue = () => {
    const value = Number($("chain-value").value);
    if (!selection || $("chain-value").value === "" || !Number.isFinite(value)) return showError("type a number first");
    send({type: "set_weight", layer: selection.layer, i: selection.i, j: selection.j, value});
  };
  $("chain-set").onclick = setValue;
  $("chain-value").onkeydown = (e) => { if (e.key === "Enter") setValue(); };
  $("chain-close").onclick = () => {
    selection = null;
    $("chain-panel").hidden = true;
    document.body.classList.remove("panel-open");
    send({type: "deselect"});
    drawLinks();
  };
  $("chain-row").onchange = (e) => {
    if (!selection) return;
    selection.row = e.target.value === "" ? null : Number(e.target.value);
    send({type: "select", ...selection});
  };
  for (const b of document.querySelectorAll("[data-format]")) b.onclick = () => send({type: "export", format: b.dataset.format});
  for (const b of document.querySelectorAll("[data-download]")) b.onclick = () => send({type: "download", what: b.dataset.download});
}

function showConfig() {
  for (const id of ["loss", "output", "optimizer", "regularization", "lr", "reg_rate", "dropout", "batch_size", "seed"]) $(id).value = config[id];
  for (const id of ["classes", "noise", "train_percent", "points"]) {
    $(id).value = config[id];
    $(id + "-value").textContent = config[id] + (id === "noise" || id === "train_percent" ? "%" : "");
  }
  for (const b of document.querySelectorAll("[data-dataset]")) b.classList.toggle("chosen", b.dataset.dataset === config.dataset);
  $("classes-label").hidden = !["spiral", "blobs"].includes(config.dataset);
  $("output-label").hidden = !["half_sse", "mse"].includes(config.loss);
  $("reg_rate-label").hidden = config.regularization === "none";  // a rate of no penalty does nothing
  $("layer-count").textContent = `${config.hidden.length} hidden layer${config.hidden.length === 1 ? "" : "s"}`;
  history.replaceState(null, "", encodeHash(config));
}

// ---------------------------------------------------------------- the network drawing
const NODE = 36, COLUMN = 118, TOP = 8;

function layout() {
  // (x, y, size) of every node, per column: inputs, hidden layers, output. Each column sizes its own nodes,
  // so that 64 pixel inputs fit and a layer of 16 first-layer neurons still shows its 8×8 weight images.
  const columns = net.sizes.map((count, c) => (c === 0 && net.kind === "plane" ? Object.keys(FEATURES).length : count));
  // a wide window draws the network larger (up to 1.6 times), as far as the column's width and the window's height
  // allow; a narrow one packs the columns closer (6 hidden layers at 1280 wide)
  const free = $("network-column").clientWidth - 60 - NODE - 24;
  const scale = Math.max(1, Math.min(1.6, free / ((columns.length - 1) * COLUMN), (window.innerHeight - 260) / 460));
  const room = Math.round(460 * scale), node = Math.round(NODE * scale);
  const pitch = Math.max(52, Math.min(Math.round(COLUMN * scale), Math.floor(free / Math.max(1, columns.length - 1))));
  const sizes = columns.map((count) => Math.max(5, Math.min(node, Math.floor(room / count) - (count > 16 ? 1 : 10))));
  const pitches = columns.map((count, c) => sizes[c] + (count > 16 ? 1 : 10));
  const height = TOP * 2 + Math.max(...columns.map((count, c) => count * pitches[c]));
  if (net.kind === "digits") return digitsLayout(columns, pitch, node);
  const positions = columns.map((count, c) => Array.from({length: count}, (_, k) =>
    ({x: 10 + c * pitch, y: TOP + k * pitches[c] + (height - 2 * TOP - count * pitches[c]) / 2, size: sizes[c]})));
  return {positions, height, width: 20 + (columns.length - 1) * pitch + node};
}

function digitsLayout(columns, pitch, node) {
  // the digits: the 64 pixel inputs drawn where they lie in the 8×8 image (7 px each: a 56 px picture), and the
  // first layer's weight images at 48 px, in two columns of up to 8; the other layers as usual
  const IMAGE = 48, CELL = 7, rows = Math.ceil(columns[1] / 2);
  const height = Math.max(TOP * 2 + rows * (IMAGE + 6), 460);
  const inputs = Array.from({length: columns[0]}, (_, k) =>
    ({x: 10 + (k % 8) * CELL, y: (height - 8 * CELL) / 2 + Math.floor(k / 8) * CELL, size: CELL - 1}));
  const firstX = 10 + 8 * CELL + pitch - node;
  const first = Array.from({length: columns[1]}, (_, k) =>
    ({x: firstX + (k % 2) * (IMAGE + 8), y: (height - rows * (IMAGE + 6)) / 2 + Math.floor(k / 2) * (IMAGE + 6), size: IMAGE}));
  const start = firstX + 2 * IMAGE + 8 + pitch - node;
  const rest = columns.slice(2).map((count, c) => {
    const size = Math.max(5, Math.min(node, Math.floor(height / count) - 10));
    return Array.from({length: count}, (_, k) =>
      ({x: start + c * pitch, y: (height - count * (size + 10)) / 2 + k * (size + 10), size}));
  });
  return {positions: [inputs, first, ...rest], height, width: start + (columns.length - 3) * pitch + node + 20};
}

function featureIndex(k) {
  // which of the network's inputs the k-th drawn feature is (-1: switched off)
  return config.features.indexOf(Object.keys(FEATURES)[k]);
}

function onNetwork(m) {
  if (!$("error").hidden && $("error").className === "error") $("error").hidden = true;  // a new network: a fresh start
  frame = null;  // the last frame's weights belong to the old network: drawing them on this one would fail
  marks = [];
  net = m;
  config = m.config;
  showConfig();
  $("data-note").textContent = m.note || "";
  lossData = [[], [], []];
  gradData = [[], ...m.sizes.slice(1).map(() => [])];
  lastStep = -1;
  selection = null;
  $("chain-panel").hidden = true;
  document.body.classList.remove("panel-open");
  // the plane's view options and colour legend do nothing for the digits: shown only where they apply
  for (const id of ["show-test", "discretize"]) $(id).closest("label").hidden = m.kind !== "plane";
  $("legend").hidden = m.kind !== "plane";
  buildNetwork();
  buildCharts();
  if (m.rebuilt) showError(m.rebuilt, "notice");
}

function onSettings(m) {
  // the same network trains on with the new settings from the next step: say so, and mark it on the loss chart
  config = m.config;
  showConfig();
  marks.push({step: m.step, change: m.change});
  if (lossChart) lossChart.redraw();
  showError(`step ${m.step}: ${m.change} (the network keeps its weights; reset starts over)`, "notice");
}

function buildNetwork() {
  const box = $("network");
  for (const old of box.querySelectorAll(".node, .bias")) old.remove();
  canvases.length = 0;
  const {positions, height, width} = layout();
  net.positions = positions;
  box.style.height = height + "px";
  box.style.width = width + "px";
  const svg = $("links");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  positions.forEach((column, c) => {
    canvases.push([]);
    column.forEach((p, k) => {
      const node = document.createElement("canvas");
      node.className = "node";
      node.width = node.height = net.kind === "digits" && c === 1 ? 8 : (net.kind === "digits" ? 1 : 40);
      Object.assign(node.style, {left: p.x + "px", top: p.y + "px", width: p.size + "px", height: p.size + "px"});
      node.dataset.column = c;
      node.dataset.index = k;
      if (c === 0 && net.kind === "plane") {
        const on = featureIndex(k) >= 0;
        node.classList.toggle("off", !on);
        node.title = FEATURES[Object.keys(FEATURES)[k]] + (on ? " (on: click to switch off)" : " (off: click to switch on)");
        node.onclick = () => toggleFeature(Object.keys(FEATURES)[k]);
        const label = document.createElement("span");
        label.className = "bias feature-label";
        label.textContent = FEATURES[Object.keys(FEATURES)[k]];
        Object.assign(label.style, {left: (p.x - 2) + "px", top: (p.y + p.size / 2 - 8) + "px"});
        label.style.transform = "translateX(-100%)";
        box.appendChild(label);
      } else if (c > 0) {
        node.title = `neuron ${k + 1} of ${c === positions.length - 1 ? "the output layer" : "hidden layer " + c}: click for its bias`;
        node.onclick = () => select({layer: c, i: k, j: null, row: selection ? selection.row : null});
        node.onmouseenter = (e) => showHover(c, k, e);
        node.onmouseleave = () => { $("hover").hidden = true; };
      }
      if (net.kind === "digits" && c === positions.length - 1) {  // the output neurons: which digit each one is
        node.width = node.height = 40;
        const ctx = node.getContext("2d");
        ctx.font = "bold 26px sans-serif";
        ctx.textAlign = "center";
        ctx.fillStyle = "#183d4e";
        ctx.fillText(net.class_names[k] || String(k), 20, 30);
      }
      box.appendChild(node);
      canvases[c].push(node);
    });
  });
  buildLayerControls(positions);
  drawLinks();
}

function buildLayerControls(positions) {
  const box = $("layer-controls");
  box.innerHTML = "";
  box.style.width = $("network").style.width;
  config.hidden.forEach((layer, h) => {
    const x = positions[h + 1][0].x;
    const d = document.createElement("div");
    d.className = "layer-control";
    d.style.left = (x - 30) + "px";
    const activations = ACTIVATIONS.map((a) => `<option ${a === layer.activation ? "selected" : ""}>${a}</option>`).join("");
    d.innerHTML = `<button title="add a neuron">+</button><button title="remove a neuron">−</button>
      <div>${layer.units} neuron${layer.units === 1 ? "" : "s"}</div><select>${activations}</select>`;
    const [plus, minus] = d.querySelectorAll("button");
    const limit = config.dataset === "digits" ? 64 : 8;
    plus.onclick = () => layer.units < limit ? setLayer(h, {units: layer.units + 1}) : showError(`at most ${limit} neurons per layer here`);
    minus.onclick = () => layer.units > 1 ? setLayer(h, {units: layer.units - 1}) : null;
    d.querySelector("select").onchange = (e) => setLayer(h, {activation: e.target.value});
    box.appendChild(d);
  });
}

function setLayer(h, patch) {
  changeConfig({hidden: config.hidden.map((l, k) => (k === h ? {...l, ...patch} : l))});
}

function toggleFeature(name) {
  const on = config.features.includes(name);
  if (on && config.features.length === 1) return showError("at least one input must stay on");
  changeConfig({features: on ? config.features.filter((f) => f !== name) : [...config.features, name]});
}

function inputPosition(j) {
  // where input j of the first layer is drawn
  if (net.kind === "plane") return net.positions[0][Object.keys(FEATURES).indexOf(config.features[j])];
  return net.positions[0][j];
}

function drawLinks() {
  const svg = $("links");
  svg.innerHTML = "";
  linkGeometry = [];
  if (!net || !net.positions) return;
  const weights = frame ? frame.weights : null;
  let largest = 1e-9;
  if (weights) for (const w of weights) for (const row of w) for (const v of row) largest = Math.max(largest, Math.abs(v || 0));
  const ns = "http://www.w3.org/2000/svg";
  for (let l = 1; l < net.positions.length; l++) {
    net.positions[l].forEach((to, i) => {
      for (let j = 0; j < net.sizes[l - 1]; j++) {
        const from = l === 1 ? inputPosition(j) : net.positions[l - 1][j];
        const w = weights ? weights[l - 1][i][j] : 0;
        const grads = frame && frame.weight_grads ? frame.weight_grads[l - 1] : null;
        const g = grads ? grads[i][j] : null;
        const x1 = from.x + from.size, y1 = from.y + from.size / 2, x2 = to.x, y2 = to.y + to.size / 2;
        const chosen = selection && selection.layer === l && selection.i === i && selection.j === j;
        const line = document.createElementNS(ns, "line");
        Object.entries({x1, y1, x2, y2}).forEach(([k, v]) => line.setAttribute(k, v));
        line.setAttribute("stroke", chosen ? "#222" : `rgb(${(w >= 0 ? POS : NEG).join(",")})`);
        line.setAttribute("stroke-width", chosen ? 4 : (0.4 + 4 * Math.abs(w || 0) / largest).toFixed(2));
        line.setAttribute("class", "link");
        svg.appendChild(line);
        const hit = document.createElementNS(ns, "line");
        Object.entries({x1, y1, x2, y2}).forEach(([k, v]) => hit.setAttribute(k, v));
        hit.setAttribute("class", "hit");
        hit.dataset.layer = l;
        hit.dataset.i = i;
        hit.dataset.j = j;
        const title = document.createElementNS(ns, "title");
        title.textContent = `w${l}[${i + 1},${j + 1}] = ${w === null ? "NaN" : Number(w).toPrecision(4)}`
          + (grads ? `, last gradient ${g === null ? "NaN" : Number(g).toPrecision(4)}` : "") + ": click for its chain rule";
        hit.appendChild(title);
        svg.appendChild(hit);
        linkGeometry.push({layer: l, i, j, x1, y1, x2, y2});
      }
    });
  }
}

function nearestLink(x, y) {
  // the link whose line passes closest to (x, y), within 8 pixels: where links cross, the one under the pointer
  let best = null, bestDistance = 8;
  for (const g of linkGeometry) {
    const dx = g.x2 - g.x1, dy = g.y2 - g.y1;
    const t = Math.max(0, Math.min(1, ((x - g.x1) * dx + (y - g.y1) * dy) / (dx * dx + dy * dy || 1)));
    const distance = Math.hypot(x - (g.x1 + t * dx), y - (g.y1 + t * dy));
    if (distance < bestDistance) { best = g; bestDistance = distance; }
  }
  return best;
}

function select(s) {
  selection = s;
  send({type: "select", ...s});
  drawLinks();
}

// ---------------------------------------------------------------- heatmaps
function decode(b64) {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function colour(byte) {
  // 0..255 for -1..1: orange through white to blue
  const t = byte / 127.5 - 1, c = t < 0 ? NEG : POS, a = Math.abs(t);
  return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
}

function paint(canvas, bytes, side, classMap, confidence) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(side, side);
  for (let k = 0; k < side * side; k++) {
    let rgb;
    if (classMap) {
      const c = CLASS_COLOURS[classMap[k] % CLASS_COLOURS.length], a = 0.25 + 0.6 * (confidence[k] / 255);
      rgb = [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
    } else rgb = colour(bytes[k]);
    image.data.set([rgb[0], rgb[1], rgb[2], 255], k * 4);
  }
  if (canvas.width !== side) { canvas.width = canvas.height = side; }
  ctx.putImageData(image, 0, 0);
}

function drawHeatmaps() {
  if (!frame || !net) return;
  if (frame.heatmaps) {
    const g = net.grid, nodes = frame.heatmaps.nodes;
    nodes[0].forEach((b, j) => {
      const k = Object.keys(FEATURES).indexOf(config.features[j]);
      paint(canvases[0][k], decode(b), g);
    });
    for (let c = 1; c < nodes.length; c++) nodes[c].forEach((b, k) => paint(canvases[c][k], decode(b), g));
  }
  if (frame.images) frame.images.forEach((b, k) => paint(canvases[1][k], decode(b), 8));
}

function drawOutput() {
  const canvas = $("output-map"), ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!frame || !net) return;
  if (net.kind === "digits") {
    ctx.fillStyle = "#333";
    ctx.font = "15px sans-serif";
    ctx.fillText("8×8 digits: 64 inputs, 10 classes.", 16, 40);
    ctx.fillText("The first layer's neurons show their", 16, 70);
    ctx.fillText("weights as 8×8 images.", 16, 92);
    if (frame.test_accuracy !== null) {
      ctx.font = "bold 28px sans-serif";
      ctx.fillText(`test accuracy ${(100 * frame.test_accuracy).toFixed(1)}%`, 16, 160);
    }
    return;
  }
  const g = net.grid, h = frame.heatmaps, discrete = $("discretize").checked && net.task !== "regression";
  const off = document.createElement("canvas");
  if (h.classes) {
    const confidence = decode(h.confidence);
    paint(off, null, g, decode(h.classes), discrete ? confidence.map(() => 255) : confidence);
  } else paint(off, discrete ? decode(h.output).map((b) => (b >= 128 ? 255 : 0)) : decode(h.output), g);
  ctx.imageSmoothingEnabled = !discrete;  // discretized: sharp class boundaries, no blended colours between
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  const scale = canvas.width / (2 * net.extent);
  const draw = (points, test) => {
    for (const [x1, x2, label] of points) {
      const px = (x1 + net.extent) * scale, py = (net.extent - x2) * scale;
      let c;
      if (net.task === "regression") c = colour(Math.max(0, Math.min(255, (label / (net.targetScale || 1) + 1) * 127.5)));
      else if (net.classes === 2) c = label >= 0.5 ? POS : NEG;
      else c = CLASS_COLOURS[label % CLASS_COLOURS.length];
      ctx.beginPath();
      ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${c.join(",")})`;
      ctx.strokeStyle = test ? "#000" : "#fff";
      ctx.lineWidth = test ? 1.4 : 1;
      ctx.fill();
      ctx.stroke();
    }
  };
  if (!net.targetScale && net.task === "regression") {
    net.targetScale = Math.max(1e-9, ...net.points.train.map((p) => Math.abs(p[2])));
  }
  draw(net.points.train, false);
  if ($("show-test").checked) draw(net.points.test, true);
}

function showHover(c, k, event) {
  const box = $("hover"), canvas = box.querySelector("canvas");
  const source = canvases[c][k];
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, 160, 160);
  ctx.drawImage(source, 0, 0, 160, 160);
  const last = c === net.sizes.length - 1;
  box.querySelector("div").textContent = `${last ? "output" : "hidden layer " + c} neuron ${k + 1} (${net.activations[c - 1]})`;
  box.style.left = (event.pageX + 16) + "px";
  box.style.top = (event.pageY + 16) + "px";
  box.hidden = false;
}

// ---------------------------------------------------------------- frames and charts
function format(v) {
  return v === null || v === undefined ? "NaN" : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4);
}

function onFrame(m) {
  if (window.firstFrameAt === undefined) window.firstFrameAt = performance.now();  // ms since the page was opened
  frame = m;
  $("epoch-count").textContent = m.epoch;
  $("step-count").textContent = m.step;
  $("train-loss").textContent = format(m.train_loss);
  $("test-loss").textContent = format(m.test_loss);
  $("train-acc").textContent = m.train_accuracy === null ? "" : `(accuracy ${(100 * m.train_accuracy).toFixed(1)}%)`;
  $("test-acc").textContent = m.test_accuracy === null ? "" : `(accuracy ${(100 * m.test_accuracy).toFixed(1)}%)`;
  if (m.diverged) {
    showError("the loss became NaN: the learning rate is too large for this network (training paused); lower it and "
      + "press reset", "error", true);
  }
  if (m.step !== lastStep) {
    if (m.step < lastStep) { lossData = [[], [], []]; gradData = gradData.map(() => []); }
    lastStep = m.step;
    lossData[0].push(m.step);
    lossData[1].push(m.train_loss);
    lossData[2].push(m.test_loss);
    gradData[0].push(m.step);
    m.grad_norms.forEach((v, k) => gradData[k + 1].push(v > 0 ? v : null));
    if (lossChart) lossChart.setData(lossData);
    if (gradChart) gradChart.setData(shownGradients());
  }
  drawHeatmaps();
  drawOutput();
  drawLinks();
  showWarnings(m.warnings || []);
  if (m.chain) onChain(m.chain);
}

function showWarnings(warnings) {
  // what is going wrong, in words, for as long as it lasts; dead neurons crossed out where they are drawn
  const box = $("warnings");
  box.innerHTML = warnings.map((w) => `<div class="warning ${w.kind}"></div>`).join("");
  box.querySelectorAll(".warning").forEach((div, k) => { div.textContent = warnings[k].text; });
  box.hidden = warnings.length === 0;
  const dead = new Set(warnings.filter((w) => w.kind === "dead").flatMap((w) => w.neurons.map(([l, k]) => l + ":" + k)));
  canvases.forEach((column, c) => column.forEach((node, k) => {
    const isDead = dead.has(c + ":" + k);
    node.classList.toggle("dead", isDead);
    if (isDead) {
      const ctx = node.getContext("2d"), n = node.width;
      ctx.strokeStyle = "#c0392b";
      ctx.lineWidth = Math.max(1, n / 10);
      ctx.beginPath();
      ctx.moveTo(0, 0); ctx.lineTo(n, n); ctx.moveTo(n, 0); ctx.lineTo(0, n);
      ctx.stroke();
    }
  }));
}

function shownGradients() {
  // the gradient norms as the log-scale chart can draw them: at most 15 decades below the largest (uPlot's ticks
  // fail beyond about 20 decades; a vanishing gradient 18 orders down is said in words by the warnings)
  let top = 0;
  for (const series of gradData.slice(1)) for (const v of series) if (v !== null && v > top) top = v;
  const floor = top * 1e-15;
  return [gradData[0], ...gradData.slice(1).map((series) => series.map((v) => (v === null ? null : Math.max(v, floor))))];
}

function buildCharts() {
  for (const chart of [lossChart, gradChart]) if (chart) chart.destroy();
  const width = 330;
  const drawMarks = (u) => {  // a dashed line at each step where the settings changed
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#b35c00";
    ctx.setLineDash([3, 3]);
    for (const mark of marks) {
      const x = u.valToPos(mark.step, "x", true);
      if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) continue;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  };
  lossChart = new uPlot({title: "loss per example", width, height: 170, scales: {x: {time: false}}, hooks: {draw: [drawMarks]},
    series: [{label: "step"}, {label: "train", stroke: "#0877bd", width: 1.5}, {label: "test", stroke: "#222", width: 1.5, dash: [4, 3]}],
    axes: [{}, {size: 50}]}, lossData, $("loss-chart"));
  const palette = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2"];
  gradChart = new uPlot({title: "gradient norm per layer (log scale)", width, height: 170,
    scales: {x: {time: false}, y: {distr: 3}},
    series: [{label: "step"}, ...net.sizes.slice(1).map((_, k) => ({label: `W${k + 1}`, stroke: palette[k % palette.length], width: 1.2}))],
    axes: [{}, {size: 50}]}, gradData, $("grad-chart"));
}

// ---------------------------------------------------------------- the chain-rule panel
function onChain(m) {
  $("chain-panel").hidden = false;
  document.body.classList.add("panel-open");  // room below the network, to scroll it clear of the panel
  if ($("chain-name").textContent !== m.name) $("chain-value").value = Number(m.new.toPrecision(6));
  $("chain-name").textContent = m.name;
  $("chain-step").textContent = m.step;
  const rows = $("chain-row");
  const wanted = m.row === null ? "" : String(m.row);
  if (rows.options.length !== m.rows + 1) {
    rows.innerHTML = `<option value="">the batch (all ${m.rows} rows)</option>` +
      Array.from({length: m.rows}, (_, k) => `<option value="${k}">row ${k + 1} of the batch</option>`).join("");
  }
  rows.value = wanted;
  $("chain-row-product").textContent = m.row_product.toPrecision(8);
  $("chain-data-gradient").textContent = m.data_gradient.toPrecision(8);
  $("chain-gradient").textContent = m.gradient.toPrecision(8);
  $("chain-penalty-line").hidden = m.penalty === null;
  if (m.penalty !== null) $("chain-penalty").textContent = m.penalty.toPrecision(8);
  $("chain-formula").textContent = m.update.formula;
  $("chain-result").textContent = m.update.result.toPrecision(10);
  $("chain-new").textContent = m.update.new.toPrecision(10);
  const state = Object.entries(m.update).filter(([k]) => !["optimizer", "formula", "result", "new"].includes(k));
  $("chain-state").textContent = state.map(([k, v]) => `${k} = ${Array.isArray(v) ? v.join(", ") : v === null ? "–" : typeof v === "number" ? Number(v.toPrecision(6)) : v}`).join(";  ");
  const math = $("chain-math");
  math.innerHTML = m.html;
  renderMathInElement(math, {delimiters: [{left: "\\[", right: "\\]", display: true}], throwOnError: false});
}

// ---------------------------------------------------------------- start
setupControls();
connect();
