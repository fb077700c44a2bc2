'use strict';
// The status page's "Customer screens" panel: approve a screen that shows a pairing code for a kiosk or mirror,
// list the paired screens and revoke them. It uses the staff token app.js keeps for this browser tab.
(() => {
  const $ = (id) => document.getElementById(id);
  const token = () => sessionStorage.getItem('storehub.staffToken');
  const auth = () => ({ Authorization: `Bearer ${token()}` });
  const form = $('add-screen');
  const result = $('screen-result');

  function item(text, buttonText, onClick) {
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.textContent = text;
    li.append(label);
    if (buttonText) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = buttonText;
      button.addEventListener('click', onClick);
      li.append(' ', button);
    }
    return li;
  }

  async function loadDevices() {
    const res = await fetch('/api/v1/devices', { headers: auth(), cache: 'no-store' });
    if (!res.ok) return;
    const { devices } = await res.json();
    const select = $('screen-device');
    const chosen = select.value;
    select.replaceChildren(...devices.filter((d) => d.kind === 'kiosk' || d.kind === 'mirror').map((d) => {
      const option = document.createElement('option');
      option.value = d.id;
      option.textContent = `${d.name} (${d.id}, ${d.kind})`;
      return option;
    }));
    if (chosen) select.value = chosen;
  }

  async function loadScreens() {
    if (!token() || $('dashboard').hidden) return;
    const res = await fetch('/api/v1/screens', { headers: auth(), cache: 'no-store' });
    if (!res.ok) return;
    const { screens, waiting } = await res.json();
    $('no-screens').hidden = screens.length > 0;
    $('screens').replaceChildren(...screens.map((s) => item(
      `${s.device} (${s.kind}) · screen ${s.id} · paired ${new Date(s.created).toLocaleString()}`, 'Revoke',
      () => revoke(s.id))));
    $('screens-waiting').replaceChildren(...waiting.map((w) => item(
      `Code ${w.code.slice(0, 3)}-${w.code.slice(3)} waiting${w.device ? ` (shown on ${w.device}'s page)` : ''}, ` +
      `${w.expiresInSeconds} s left`, 'Use', () => {
        $('screen-code').value = w.code;
        if (w.device) $('screen-device').value = w.device;
      })));
  }

  async function revoke(id) {
    const res = await fetch(`/api/v1/screens/${encodeURIComponent(id)}`, { method: 'DELETE', headers: auth() });
    result.textContent = res.ok ? `Screen ${id} revoked.` : `Could not revoke: ${await res.text()}`;
    loadScreens();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const res = await fetch('/api/v1/screens', {
      method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: $('screen-code').value, device: $('screen-device').value }),
    });
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    result.textContent = res.ok ? `Screen paired with ${body.device}.` : `Not paired: ${body?.error?.message ?? body?.message ?? res.status}`;
    if (res.ok) $('screen-code').value = '';
    loadScreens();
  });

  let devicesLoaded = false;
  setInterval(async () => {
    if (!token() || $('dashboard').hidden) { devicesLoaded = false; return; }
    if (!devicesLoaded) { devicesLoaded = true; await loadDevices(); }
    loadScreens();
  }, 2000);
})();
