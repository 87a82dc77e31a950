// Teleoperation panel: drive the hand from the keyboard to record a demonstration (console_teleop.py).
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const api = window.hvlaApi;
  let tid = null;

  function status(text) { $('tstatus').textContent = text; }

  async function start() {
    const r = await api('POST', '/api/teleop', {
      skill: $('tskill').value, object: $('tobj').value, target: $('ttgt').value, seed: Number($('tseed').value),
    });
    if (!r.ok) { status(`teleop refused: ${r.message}`); return; }
    tid = r.data.id;
    poll();
  }

  async function end() {
    if (tid === null) return;
    const r = await api('POST', `/api/teleop/${tid}/end`);
    if (!r.ok) status(`end refused: ${r.message}`);
  }

  async function poll() {
    if (tid === null) return;
    const r = await api('GET', `/api/teleop/${tid}`);
    if (!r.ok) { status(`teleop ${tid}: ${r.message}`); tid = null; return; }
    const j = r.data;
    status(`${j.state}: ${j.status}` + (j.result ? ` ${JSON.stringify(j.result)}` : ''));
    $('tframe').src = `/api/teleop/${tid}/frame.png?${Date.now()}`;
    $('tframe').hidden = false;
    if (j.state === 'starting' || j.state === 'driving') setTimeout(poll, 300); else tid = null;
  }

  document.addEventListener('keydown', async (e) => {
    if (tid === null || ['INPUT', 'SELECT'].includes(e.target.tagName)) return;
    if (!'wsadrfqeg.'.includes(e.key.toLowerCase()) || e.key.length !== 1) return;
    const r = await api('POST', `/api/teleop/${tid}/keys`, {keys: e.key});
    if (!r.ok) status(`key refused: ${r.message}`);
  });
  $('tstart').addEventListener('click', start);
  $('tend').addEventListener('click', end);
})();
