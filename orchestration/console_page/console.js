// hvla operator console: polls the server, draws the plan graph, the cameras with the perceived objects,
// the policy's confidence and anomaly score, and the event timeline. No library: the machine may be offline.
'use strict';

const TOKEN_KEY = 'hvla-console-token';
const POLL_MS = 400;
const STATE_COLOURS = {
  pending: '#e5e7eb', awaiting: '#fde68a', running: '#93c5fd', succeeded: '#86efac',
  failed: '#fca5a5', stopped: '#fdba74', skipped: '#f9fafb',
};
const KIND_CLASS = {
  subgoal_succeeded: 'good', predicate_met: 'good', episode_finished: 'info', subgoal_failed: 'bad',
  monitor_alert: 'bad', safety_refusal: 'bad', estop: 'stop', subgoal_stopped: 'stop',
  approval_requested: 'ask', monitor_warning: 'ask', subgoal_started: 'info', plan_created: 'info',
  retry: 'ask', replan: 'ask',
};
const PALETTE = ['#f59e0b', '#10b981', '#3b82f6', '#ef4444', '#a855f7', '#14b8a6', '#f97316', '#84cc16', '#ec4899'];

const $ = (id) => document.getElementById(id);
let token = readToken();
let watch = null;   // the run the page shows: {id, nEvents, nSteps, viewSeq, events, series, finished}
let online = true;

// --- the token: from ?token= in the address `hvla serve` printed, then kept in this browser ----------
function readToken() {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');  // out of the address bar, the history and any screenshot
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return localStorage.getItem(TOKEN_KEY) || '';
}

// --- requests: every failure becomes a sentence for the operator -------------------------------------
async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers['X-HVLA-Token'] = token;
  let resp;
  try {
    resp = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    return {ok: false, status: 0, message: `the console server did not answer (${err.message}): is \`hvla serve\` still running?`};
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
  if (!resp.ok) {
    const detail = data && data.detail ? data.detail : (text.trim() || resp.statusText || 'no message from the server');
    const hint = resp.status === 401 ? ' (the token is missing or wrong)' : '';
    return {ok: false, status: resp.status, data, message: `${resp.status}: ${detail}${hint}`};
  }
  return {ok: true, status: resp.status, data};
}

function showError(message) {
  const box = $('error');
  if (!message) { box.hidden = true; box.textContent = ''; return; }
  box.textContent = `${new Date().toLocaleTimeString()}  ${message}`;
  box.hidden = false;
}

function request() {
  const seed = Number($('seed').value);
  const body = {instruction: $('instr').value, seed: Number.isInteger(seed) ? seed : $('seed').value,
                approval: $('approval').checked};
  for (const layer of ['perception', 'planner', 'skills']) if ($(layer).value) body[layer] = $(layer).value;
  return body;
}

// --- actions -----------------------------------------------------------------------------------------
async function plan() {
  setBusy(true);
  const r = await api('POST', '/api/plan', request());
  setBusy(false);
  if (!r.ok) { showError(`plan refused: ${r.message}`); return; }
  showError('');
  watch = null;
  const nodes = r.data.subgoals.map((s) => ({...s, state: 'pending'}));
  drawGraph({nodes, edges: r.data.edges});
  $('plan-note').textContent = `preview, nothing moved · ${nodes.length} subgoal(s) · score ${fmt(r.data.scores.plan)}`;
  setRunState('idle', 'plan preview: press run to execute it');
}

async function run() {
  setBusy(true);
  const r = await api('POST', '/api/runs', request());
  setBusy(false);
  if (!r.ok) { showError(`run refused: ${r.message}`); if (r.data && r.data.id) startWatching(r.data.id); return; }
  showError('');
  startWatching(r.data.id);
}

async function estop() {
  const r = await api('POST', '/api/estop');
  if (!r.ok) showError(`E-STOP REQUEST FAILED: ${r.message}. Use the cell's hardware e-stop.`);
  poll();
}

async function resetEstop() {
  const r = await api('POST', '/api/estop/reset');
  if (!r.ok) { showError(`reset refused: ${r.message}`); return; }
  showError('');
  poll();
}

async function decide(approve) {
  const pending = watch && watch.pending;
  if (!pending) return;
  const r = await api('POST', `/api/runs/${watch.id}/approve`, {subgoal_id: pending.subgoal_id, approve});
  if (!r.ok) showError(`${approve ? 'approval' : 'decline'} refused: ${r.message}`);
  else showError('');
  poll();
}

function setBusy(busy) { $('plan-btn').disabled = busy; $('run-btn').disabled = busy; }

// --- polling -----------------------------------------------------------------------------------------
function startWatching(id) {
  watch = {id, nEvents: 0, nSteps: 0, viewSeq: -1, events: [], series: [], finished: false, pending: null};
  $('events').querySelector('tbody').textContent = '';
  $('plan-note').textContent = `run ${id}`;
  for (const cam of ['scene', 'wrist']) { $(`cam-${cam}`).dataset.seq = '-1'; }
  poll();
}

let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    const s = await api('GET', '/api/status');
    setOnline(s.ok, s.message);
    if (s.ok) {
      showLatch(s.data.estop);
      fillSelects(s.data);
      const live = s.data.live_run;
      if (live && (!watch || watch.id !== live.id)) startWatching(live.id);
    }
    if (watch && !watch.finished) await pollRun();
  } finally {
    polling = false;
  }
}

async function pollRun() {
  const r = await api('GET', `/api/runs/${watch.id}?since=${watch.nEvents}&since_step=${watch.nSteps}`);
  if (!r.ok) { showError(`run ${watch.id}: ${r.message}`); watch.finished = true; return; }
  const run = r.data;
  watch.events.push(...run.events); watch.nEvents = run.n_events;
  watch.series.push(...run.series); watch.nSteps = run.n_steps;
  appendEvents(run.events);
  drawGraph(run.graph);
  drawPlots(watch);
  showApproval(run.pending_approval);
  showRun(run);
  if (run.view_seq !== null && run.view_seq > watch.viewSeq) {
    const v = await api('GET', `/api/runs/${watch.id}/view?after=${watch.viewSeq}`);
    if (v.ok && v.data.cameras) { watch.viewSeq = v.data.seq; drawCameras(v.data); }
  }
  if (!['planning', 'running'].includes(run.state)) watch.finished = true;
}

function setOnline(ok, message) {
  $('conn').textContent = ok ? (token ? 'connected · token set' : 'connected · no token') : `offline: ${message}`;
  if (!ok && online) showError(message);
  if (ok && !online) showError('');
  online = ok;
  $('token-warning').hidden = Boolean(token);
}

function showLatch(estop) {
  const latch = $('latch');
  latch.dataset.latched = String(estop.latched);
  latch.className = `latch ${estop.latched ? 'latched' : 'clear'}`;
  latch.textContent = estop.latched ? 'E-STOP LATCHED' : 'e-stop clear';
  $('reset-btn').disabled = !estop.latched;
  const banner = $('latch-banner');
  banner.hidden = !estop.latched;
  if (estop.latched) {
    const since = new Date(estop.since_wall_s * 1000).toLocaleTimeString();
    banner.textContent = `E-stop latched since ${since} (${estop.reason}). Nothing can start until the operator ` +
      'presses "reset e-stop" once the cell is safe.';
  }
}

let selectsFilled = false;
function fillSelects(status) {
  if (selectsFilled) return;
  for (const layer of ['perception', 'planner', 'skills']) {
    const select = $(layer);
    for (const name of status.implementations[layer]) {
      const opt = document.createElement('option');
      opt.value = name; opt.textContent = name + (name === status.defaults[layer] ? ' (default)' : '');
      opt.selected = name === status.defaults[layer];
      select.appendChild(opt);
    }
  }
  selectsFilled = true;
}

function showRun(run) {
  let text = `run ${run.id} · ${run.state}` + (run.approval ? ' · step approval' : '') + ` · "${run.instruction}" seed ${run.seed}`;
  if (run.state === 'error') { text += ` · ${run.error}`; showError(`run ${run.id} ended in error: ${run.error}`); }
  if (run.result) {
    text += ` · ${run.result.sim_time_s} s simulated`;
    if (run.result.failure) text += ` · ${run.result.failure}`;
  }
  setRunState(run.state, text);
}

function setRunState(state, text) { const el = $('run-state'); el.dataset.state = state; el.textContent = text; }

function showApproval(pending) {
  watch.pending = pending;
  $('approval-panel').hidden = !pending;
  if (pending) {
    $('approval-text').textContent = `Subgoal ${pending.subgoal_id}: ${pending.describe} is waiting. ` +
      'Check the cameras, then approve it or decline (declining stops the episode).';
  }
}

// --- the plan graph (SVG): columns by depth in the DAG, nodes coloured by their live state ------------
const NODE_W = 190, NODE_H = 54, GAP_X = 46, GAP_Y = 14, PAD = 10;
const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function layout(nodes, edges) {
  const depth = {}; const ids = nodes.map((n) => n.id);
  for (const id of ids) depth[id] = 0;
  for (let pass = 0; pass < ids.length; pass++) {
    for (const [a, b] of edges) if (a in depth && b in depth) depth[b] = Math.max(depth[b], depth[a] + 1);
  }
  const rows = {}; const pos = {};
  for (const id of ids) {
    const d = depth[id]; rows[d] = (rows[d] || 0);
    pos[id] = {x: PAD + d * (NODE_W + GAP_X), y: PAD + rows[d] * (NODE_H + GAP_Y)};
    rows[d] += 1;
  }
  return pos;
}

function argsText(args) {
  const vals = Object.entries(args || {});
  if (args && args.object && args.target) return `${args.object} → ${args.target}`;
  return vals.map(([k, v]) => `${k}=${v}`).join(', ');
}

let drawnGraph = '';
function drawGraph(graph) {
  const key = JSON.stringify(graph);
  if (key === drawnGraph) return;  // redraw only on a change: no flicker, and selections survive
  drawnGraph = key;
  const root = $('graph');
  root.textContent = '';
  const defs = svg('defs', {}, root);
  const marker = svg('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7,
                                orient: 'auto-start-reverse'}, defs);
  svg('path', {d: 'M 0 0 L 10 5 L 0 10 z', fill: '#6b7280'}, marker);
  const pos = layout(graph.nodes, graph.edges);
  let width = 0, height = 0;
  for (const p of Object.values(pos)) { width = Math.max(width, p.x + NODE_W + PAD); height = Math.max(height, p.y + NODE_H + PAD); }
  root.setAttribute('height', Math.max(height, 60));
  root.setAttribute('viewBox', `0 0 ${Math.max(width, 300)} ${Math.max(height, 60)}`);
  root.setAttribute('preserveAspectRatio', 'xMinYMin meet');
  for (const [a, b] of graph.edges) {
    if (!(a in pos && b in pos)) continue;
    const x1 = pos[a].x + NODE_W, y1 = pos[a].y + NODE_H / 2, x2 = pos[b].x, y2 = pos[b].y + NODE_H / 2;
    const mx = (x1 + x2) / 2;
    svg('path', {d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2 - 2} ${y2}`, fill: 'none', stroke: '#6b7280',
                 'stroke-width': 1.5, 'marker-end': 'url(#arrow)'}, root);
  }
  for (const node of graph.nodes) {
    const p = pos[node.id];
    const g = svg('g', {class: 'node', 'data-id': node.id, 'data-state': node.state, transform: `translate(${p.x},${p.y})`}, root);
    const attrs = {width: NODE_W, height: NODE_H, rx: 8, fill: STATE_COLOURS[node.state] || '#fff',
                   stroke: node.state === 'running' ? '#1d4ed8' : '#6b7280', 'stroke-width': node.state === 'running' ? 3 : 1.2};
    if (node.state === 'skipped') attrs['stroke-dasharray'] = '5 3';
    svg('rect', attrs, g);
    const title = svg('text', {x: 10, y: 19, 'font-size': 13, 'font-weight': 700, fill: '#111827'}, g);
    title.textContent = `${node.id} · ${node.skill}`;
    const sub = svg('text', {x: 10, y: 36, 'font-size': 12, fill: '#1f2937'}, g);
    sub.textContent = argsText(node.args);
    const st = svg('text', {x: 10, y: 49, 'font-size': 10, fill: '#374151'}, g);
    st.textContent = node.state === 'awaiting' ? 'awaiting approval' : node.state;
  }
}

function drawLegend() {
  const legend = $('legend');
  for (const [state, colour] of Object.entries(STATE_COLOURS)) {
    const span = document.createElement('span');
    span.textContent = state === 'awaiting' ? 'awaiting approval' : state;
    span.style.setProperty('--c', colour);
    legend.appendChild(span);
  }
}

// --- cameras: the frame, then each perceived object's box, label and track id ----------------------
function colourFor(trackId) { return PALETTE[Math.abs(trackId) % PALETTE.length]; }

function drawCameras(view) {
  for (const [name, cam] of Object.entries(view.cameras)) {
    const canvas = $(`cam-${name}`);
    if (!canvas) continue;
    const img = new Image();
    img.onload = () => {
      const ctx = canvas.getContext('2d');
      const sx = canvas.width / cam.width, sy = canvas.height / cam.height;
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      if ($('show-boxes').checked) drawBoxes(ctx, cam.boxes, sx, sy);
      canvas.dataset.seq = String(view.seq);
      canvas.dataset.boxes = String(cam.boxes.length);
    };
    img.src = cam.png;
    $(`cap-${name}`).textContent = `${name} · t = ${view.t_s.toFixed(1)} s · ${cam.boxes.length} object(s) in view` +
      (view.subgoal_id ? ` · ${view.subgoal_id}` : '');
  }
}

function drawBoxes(ctx, boxes, sx, sy) {
  ctx.font = '11px system-ui, sans-serif';
  for (const b of boxes) {
    const [x0, y0, x1, y1] = [b.box[0] * sx, b.box[1] * sy, b.box[2] * sx, b.box[3] * sy];
    const colour = colourFor(b.track_id);
    ctx.strokeStyle = colour; ctx.lineWidth = 2;
    ctx.setLineDash(b.category === 'region' ? [5, 4] : []);
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    ctx.setLineDash([]);
    const label = `${b.name} #${b.track_id}` + (b.score < 1 ? ` ${Math.round(b.score * 100)}%` : '');  // oracle: 1
    const w = ctx.measureText(label).width + 6;
    const ty = y0 >= 14 ? y0 - 14 : y0;
    const tx = Math.max(0, Math.min(x0, ctx.canvas.width - w));  // keep the label inside the frame
    ctx.fillStyle = colour; ctx.fillRect(tx, ty, w, 14);
    ctx.fillStyle = '#111827'; ctx.fillText(label, tx + 3, ty + 11);
  }
}

// --- plots: confidence and anomaly against simulated time ---------------------------------------------
function drawPlots(w) {
  const conf = w.series.map((s) => [s.t_s, s.confidence]);
  const anom = w.series.filter((s) => s.anomaly !== null).map((s) => [s.t_s, s.anomaly]);
  const warnings = w.events.filter((e) => e.kind === 'monitor_warning').map((e) => e.t_s);
  const starts = w.events.filter((e) => e.kind === 'subgoal_started').map((e) => e.t_s);
  plot($('plot-conf'), conf, {lo: 0, hi: 1, colour: '#2563eb', marks: starts, empty: 'no chunk yet'});
  plot($('plot-anom'), anom, {colour: '#dc2626', marks: warnings, empty: w.series.length
    ? 'no anomaly score: this skill policy has no anomaly detector (the learned one does)' : 'no step yet'});
  $('conf-now').textContent = conf.length ? `now ${fmt(conf[conf.length - 1][1])}` : '';
  $('anom-now').textContent = anom.length ? `now ${fmt(anom[anom.length - 1][1])} · ${warnings.length} warning(s)` : '';
}

function plot(canvas, points, opts) {
  const dpr = window.devicePixelRatio || 1;
  const cw = canvas.clientWidth || canvas.width, ch = canvas.clientHeight || canvas.height;
  canvas.width = cw * dpr; canvas.height = ch * dpr;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cw, ch);
  ctx.font = '11px system-ui, sans-serif';
  if (!points.length) { ctx.fillStyle = '#6b7280'; ctx.fillText(opts.empty, 8, ch / 2); return; }
  const left = 34, right = 6, top = 6, bottom = 16;
  const t0 = points[0][0], t1 = Math.max(points[points.length - 1][0], t0 + 1e-3);
  let lo = opts.lo, hi = opts.hi;
  if (lo === undefined) { lo = Math.min(...points.map((p) => p[1]), 0); hi = Math.max(...points.map((p) => p[1]), lo + 1e-6) * 1.1; }
  const X = (t) => left + (t - t0) / (t1 - t0) * (cw - left - right);
  const Y = (v) => top + (1 - (v - lo) / (hi - lo)) * (ch - top - bottom);
  ctx.strokeStyle = '#e5e7eb'; ctx.lineWidth = 1; ctx.fillStyle = '#6b7280';
  for (const v of [lo, (lo + hi) / 2, hi]) {
    ctx.beginPath(); ctx.moveTo(left, Y(v)); ctx.lineTo(cw - right, Y(v)); ctx.stroke();
    ctx.fillText(fmt(v), 2, Y(v) + 4);
  }
  ctx.fillText(`${t0.toFixed(1)} s`, left, ch - 3);
  ctx.fillText(`${t1.toFixed(1)} s`, cw - right - 36, ch - 3);
  ctx.strokeStyle = '#f59e0b';
  for (const t of opts.marks || []) { if (t >= t0) { ctx.beginPath(); ctx.moveTo(X(t), top); ctx.lineTo(X(t), ch - bottom); ctx.stroke(); } }
  ctx.strokeStyle = opts.colour; ctx.lineWidth = 1.8; ctx.beginPath();
  points.forEach(([t, v], i) => (i ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v))));
  ctx.stroke();
}

function fmt(v) {
  if (v === undefined || v === null) return 'n/a';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

// --- the event timeline ------------------------------------------------------------------------------
function appendEvents(events) {
  const body = $('events').querySelector('tbody');
  const showChunks = $('show-chunks').checked;
  const wrap = body.closest('.events-wrap');
  const atBottom = wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 4;
  for (const e of events) {
    const tr = document.createElement('tr');
    tr.dataset.kind = e.kind;
    if (e.kind === 'chunk_issued' && !showChunks) tr.hidden = true;
    const detail = typeof e.detail === 'string' ? e.detail
      : Object.entries(e.detail).map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : v}`).join('  ');
    const cells = [e.t_s.toFixed(2), null, e.subgoal_id || '', detail];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      if (i === 1) { const pill = document.createElement('span'); pill.className = `kind ${KIND_CLASS[e.kind] || ''}`; pill.textContent = e.kind; td.appendChild(pill); }
      else td.textContent = text;
      if (i === 3) td.className = 'detail';
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  if (atBottom) wrap.scrollTop = wrap.scrollHeight;
}

function toggleChunks() {
  const show = $('show-chunks').checked;
  for (const tr of $('events').querySelectorAll('tr[data-kind="chunk_issued"]')) tr.hidden = !show;
}

// --- wiring ------------------------------------------------------------------------------------------
function saveToken() {
  token = $('token-input').value.trim();
  if (token) localStorage.setItem(TOKEN_KEY, token);
  $('token-input').value = '';
  poll();
}

window.hvlaApi = api;  // the teleop panel (teleop.js) sends its requests through the same helper
$('plan-btn').addEventListener('click', plan);
$('run-btn').addEventListener('click', run);
$('estop-btn').addEventListener('click', estop);
$('reset-btn').addEventListener('click', resetEstop);
$('approve-btn').addEventListener('click', () => decide(true));
$('decline-btn').addEventListener('click', () => decide(false));
$('show-chunks').addEventListener('change', toggleChunks);
$('token-save').addEventListener('click', saveToken);
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') estop(); });
drawLegend();
drawGraph({nodes: [], edges: []});
drawPlots({series: [], events: []});
poll();
setInterval(poll, POLL_MS);
