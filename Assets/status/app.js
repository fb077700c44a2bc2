'use strict';
// StoreHub staff status page: device cards from GET /api/v1/devices, kept current over the bus
// (docs/protocol.md). Everything that comes from the hub is inserted as text, never as HTML.
(() => {
  const TOKEN_KEY = 'storehub.staffToken';
  const FEED_MAX = 20;
  const BACKOFF_MIN = 1000;
  const BACKOFF_MAX = 30000;
  const KNOWN_STATES = ['starting', 'online', 'degraded', 'offline', 'failed'];
  const REJECTED = 'That token was not accepted';

  const $ = (id) => document.getElementById(id);
  const ui = {
    login: $('login'), form: $('login-form'), input: $('token'), loginError: $('login-error'),
    dashboard: $('dashboard'), notice: $('notice'), devices: $('devices'), empty: $('no-devices'),
    feed: $('feed'), conn: $('connection'), logout: $('logout'),
    feedDevice: $('feed-device'), consumers: $('consumers'), noConsumers: $('no-consumers'),
  };
  const FEED_KINDS = ['scan', 'tryon', 'status', 'answer', 'note', 'unanswered'];

  const cards = new Map(); // device id -> { root, f: field elements, name, kind }
  // Bumped on every sign-in and sign-out so that replies and timers of an old session do nothing.
  let session = 0;
  let socket = null;
  let retryTimer = null;
  let backoff = BACKOFF_MIN;
  let devicesFresh = false; // the REST snapshot was just loaded, no need to load it again on connect

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  function duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h`;
    return `${Math.floor(h / 24)} d`;
  }

  function relative(iso, style) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return '';
    const ms = Date.now() - t;
    if (style === 'for') return `for ${duration(ms)}`;
    return ms < 5000 ? 'just now' : `${duration(ms)} ago`;
  }

  // A <time> whose text is kept relative by refreshTimes(); the exact time is in the tooltip.
  function setTime(node, iso, style) {
    const t = Date.parse(iso);
    const ok = !Number.isNaN(t);
    if (ok) node.dateTime = iso;
    else node.removeAttribute('datetime');
    node.dataset.rel = style;
    node.title = ok ? new Date(t).toLocaleString() : '';
    node.textContent = ok ? relative(iso, style) : '';
  }

  function refreshTimes() {
    for (const node of document.querySelectorAll('time[data-rel][datetime]')) {
      node.textContent = relative(node.dateTime, node.dataset.rel);
    }
  }

  // Payloads can be pickup codes or other shopper data: staff see enough to recognise one, not all of it.
  // The number of dots is fixed so the length is not shown either.
  function mask(text) {
    const chars = Array.from(String(text ?? ''));
    if (chars.length <= 8) return chars.join('');
    return `${chars.slice(0, 4).join('')}••••${chars.slice(-2).join('')}`;
  }

  // What a shop assistant can do about the hub's technical reasons; the hub's own words stay one click away.
  const PLAIN = [
    [/does not exist|not plugged in/i, 'Not plugged in. Check the USB cable, or plug the device back in.'],
    [/hung up|went away|unplugged|no such device/i, 'The device was unplugged. Plug it back in; StoreHub picks it up again.'],
    [/permission denied|cannot be read|cannot be opened/i, 'StoreHub is not allowed to use this device. Ask IT to fix its permissions.'],
    [/is busy|another program/i, 'Another program is using this device. Close it, or ask IT.'],
    [/no frame|stalled/i, 'The camera stopped sending pictures. StoreHub restarted it; if this repeats, replug the camera.'],
    [/control '/i, 'A camera setting could not be applied. Scanning still works; tell IT.'],
    [/restarting at staff/i, 'Restarting, as requested.'],
    [/hub stopping/i, 'The hub is stopping.'],
  ];

  function plainWords(reason) {
    const hit = PLAIN.find(([pattern]) => pattern.test(reason || ''));
    return hit ? hit[1] : null;
  }

  const count = (n) => (typeof n === 'number' ? n.toLocaleString() : '–');

  const stat = (label, dd) => el('div', {}, el('dt', { text: label }), dd);

  function card(id) {
    let c = cards.get(id);
    if (c) return c;
    const f = {
      name: el('h3', { class: 'name', text: id }),
      meta: el('p', { class: 'meta', text: id }),
      state: el('span', { class: 'state', text: 'unknown' }),
      since: el('time', { class: 'since' }),
      reason: el('p', { class: 'reason', hidden: '' }),
      framesDelivered: el('dd', { text: '–' }),
      framesProcessed: el('dd', { text: '–' }),
      framesDropped: el('dd', { text: '–' }),
      restarts: el('dd', { text: '–' }),
      rates: el('p', { class: 'rates muted', text: '' }),
      budget: el('p', { class: 'budget muted', hidden: '' }),
      lastError: el('p', { class: 'last-error', hidden: '' }),
      scan: el('p', { class: 'scan' }, 'No scans yet'),
      unanswered: el('p', { class: 'unanswered', hidden: '' }),
      preview: el('img', { class: 'preview', alt: `Live picture from ${id}`, hidden: '' }),
      stream: el('img', { class: 'preview stream', alt: `Live mirror stream from ${id}`, hidden: '' }),
      restart: el('button', { type: 'button', class: 'action', text: 'Restart' }),
      snapshot: el('button', { type: 'button', class: 'action', text: 'Snapshot', hidden: '' }),
      actionNote: el('p', { class: 'action-note muted', role: 'status' }),
    };
    f.restart.addEventListener('click', () => restartDevice(id));
    f.snapshot.addEventListener('click', () => takeSnapshot(id));
    const root = el('article', { class: 'card', 'data-device': id, 'data-state': 'unknown' },
      el('header', { class: 'card-head' },
        el('div', {}, f.name, f.meta),
        el('p', { class: 'status' }, f.state, ' ', f.since)),
      f.reason,
      el('dl', { class: 'stats' },
        stat('Delivered', f.framesDelivered), stat('Processed', f.framesProcessed),
        stat('Dropped', f.framesDropped), stat('Restarts', f.restarts)),
      f.preview, f.stream, f.rates, f.budget, f.lastError, f.scan, f.unanswered,
      el('div', { class: 'actions' }, f.restart, f.snapshot), f.actionNote);
    c = { root, f, name: null, kind: null, sample: null, streaming: false };
    f.stream.addEventListener('error', () => { c.streaming = false; f.stream.hidden = true; });
    cards.set(id, c);
    ui.devices.append(root);
    ui.feedDevice.append(el('option', { value: id, text: id }));
    ui.empty.hidden = true;
    return c;
  }

  // Takes a REST device object or the data of a storehub.device.status event; absent fields are left as they are.
  function applyStatus(id, d) {
    const c = card(id);
    const { f } = c;
    if (d.name) c.name = d.name;
    if (d.kind) c.kind = d.kind;
    f.name.textContent = c.name || id;
    f.meta.textContent = [c.name && c.name !== id ? id : null, c.kind].filter(Boolean).join(' · ');
    if (d.state) {
      f.state.textContent = d.state;
      c.root.dataset.state = KNOWN_STATES.includes(d.state) ? d.state : 'unknown';
    }
    if ('since' in d) setTime(f.since, d.since, 'for');
    if ('reason' in d) {
      const plain = d.state === 'online' ? null : plainWords(d.reason);
      if (plain) {
        f.reason.replaceChildren(el('span', { class: 'plain', text: plain }),
          el('details', {}, el('summary', { text: 'Details' }), el('span', { class: 'detail', text: d.reason })));
      } else {
        f.reason.textContent = d.reason || '';
      }
      f.reason.dataset.raw = d.reason || '';
      f.reason.hidden = !d.reason;
    }
    for (const key of ['framesDelivered', 'framesProcessed', 'framesDropped', 'restarts']) {
      if (key in d) f[key].textContent = count(d[key]);
    }
    if ('lastError' in d || 'lastProblem' in d) {
      const problem = d.lastError || d.lastProblem || '';
      f.lastError.replaceChildren(el('span', { class: 'label', text: 'Last problem' }), ' ', problem);
      // While the problem is the current reason it is already shown above.
      f.lastError.hidden = !problem || problem === f.reason.dataset.raw;
    }
    if (d.frameBudget && typeof d.frameBudget === 'object') showBudget(f.budget, d.frameBudget);
    // Rates come from two readings of the counters, at least five seconds apart.
    if (typeof d.framesDelivered === 'number' && typeof d.framesProcessed === 'number') {
      const now = Date.now();
      const prev = c.sample;
      if (!prev || now - prev.at >= 5000) {
        if (prev && d.framesDelivered >= prev.delivered) {
          const s = (now - prev.at) / 1000;
          const what = c.kind === 'scanner' ? 'scans/min' : 'fps';
          const scale = c.kind === 'scanner' ? 60 : 1;
          const rate = (n) => ((n * scale) / s).toFixed(1);
          f.rates.textContent = `${rate(d.framesDelivered - prev.delivered)} ${what} delivered, `
            + `${rate(d.framesProcessed - prev.processed)} processed`;
        }
        c.sample = { at: now, delivered: d.framesDelivered, processed: d.framesProcessed };
      }
    }
  }

  // A mirror's frame budget: where its frames went, and milliseconds per stage in the last second.
  function showBudget(p, b) {
    const ms = (v) => (typeof v === 'number' ? `${v.toFixed(1)} ms` : '–');
    const s = b.stageMs || {};
    p.replaceChildren(
      el('span', { class: 'budget-frames',
        text: `Frames in ${count(b.framesIn)}, rendered ${count(b.framesRendered)}, dropped ${count(b.framesDropped)}.` }),
      ' ',
      el('span', { class: 'budget-stages',
        text: `Per frame: capture ${ms(s.capture)}, landmarks ${ms(s.landmarks)}, render ${ms(s.render)}, `
          + `encode ${ms(s.encode)}.` }),
      ' ',
      el('span', { class: 'budget-latency',
        text: `Capture to stream: p50 ${ms(b.captureToStreamMsP50)}, p99 ${ms(b.captureToStreamMsP99)}.` }));
    p.hidden = false;
  }

  const auth = () => ({ Authorization: `Bearer ${token()}` });

  async function restartDevice(id) {
    const { f } = card(id);
    f.actionNote.textContent = 'Restarting…';
    try {
      const res = await fetch(`/api/v1/devices/${encodeURIComponent(id)}/restart`, { method: 'POST', headers: auth() });
      f.actionNote.textContent = res.ok ? 'Restart requested; the card shows when it is back.'
        : `Restart refused (HTTP ${res.status}).`;
    } catch (err) {
      f.actionNote.textContent = `Restart failed: ${err.message}`;
    }
  }

  async function takeSnapshot(id) {
    const { f } = card(id);
    f.actionNote.textContent = 'Taking a snapshot…';
    try {
      const res = await fetch(`/api/v1/devices/${encodeURIComponent(id)}/snapshot`, { method: 'POST', headers: auth() });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const link = el('a', { href: url, download: `${id}-${new Date().toISOString().replace(/[:.]/g, '-')}.jpg`,
        class: 'snapshot-link', text: 'Download the snapshot' });
      f.actionNote.replaceChildren(link);
    } catch (err) {
      f.actionNote.textContent = `No snapshot: ${err.message}`;
    }
  }

  // A mirror's live stream: an <img> on the MJPEG URL. The token stays in a header: the page asks for a
  // single-use ticket with it and puts only the ticket in the URL.
  async function openStream(id, c, s) {
    c.streaming = true;
    try {
      const res = await fetch(`/api/v1/mirrors/${encodeURIComponent(id)}/ticket`, { method: 'POST', headers: auth() });
      if (s !== session || !res.ok) throw new Error(`HTTP ${res.status}`);
      const { url } = await res.json();
      c.f.stream.src = url;
      c.f.stream.hidden = false;
      c.f.snapshot.hidden = false;
    } catch {
      c.streaming = false; // The next round tries again.
    }
  }

  function closeStreams() {
    for (const c of cards.values()) {
      c.streaming = false;
      c.f.stream.removeAttribute('src');
      c.f.stream.hidden = true;
    }
  }

  // Camera thumbnails: fetched with the token (an <img src> cannot carry it) and shown from a blob URL.
  async function refreshPreviews(s) {
    for (const [id, c] of cards) {
      if (c.kind === 'scanner' || c.root.dataset.state !== 'online' && c.root.dataset.state !== 'degraded') continue;
      if (c.kind === 'mirror') {
        if (!c.streaming) openStream(id, c, s);
        continue;
      }
      try {
        const res = await fetch(`/api/v1/devices/${encodeURIComponent(id)}/preview.jpg`, { headers: auth(), cache: 'no-store' });
        if (s !== session || !res.ok) continue;
        const url = URL.createObjectURL(await res.blob());
        const old = c.f.preview.src;
        c.f.preview.src = url;
        c.f.preview.hidden = false;
        c.f.snapshot.hidden = false;
        if (old.startsWith('blob:')) URL.revokeObjectURL(old);
      } catch {
        // The next round tries again.
      }
    }
  }

  function setScan(id, scan) {
    const { f } = card(id);
    if (!scan) {
      f.scan.replaceChildren('No scans yet');
      return;
    }
    const when = el('time');
    setTime(when, scan.time, 'ago');
    f.scan.replaceChildren(
      el('span', { class: 'label', text: 'Last scan' }), ' ',
      el('span', { class: 'symbology', text: scan.symbology || '?' }), ' ',
      el('code', { text: mask(scan.text) }), ' ', when);
  }

  function feedVisible(li) {
    const device = ui.feedDevice.value;
    return $(`show-${li.dataset.kind}`).checked && (!device || !li.dataset.device || li.dataset.device === device);
  }

  function applyFilters() {
    for (const li of ui.feed.children) li.hidden = !feedVisible(li);
  }

  function addFeed(iso, kind, text, device) {
    const t = Date.parse(iso);
    const at = Number.isNaN(t) ? new Date() : new Date(t);
    const when = el('time', { datetime: at.toISOString(), text: at.toLocaleTimeString() });
    const li = el('li', { class: `feed-${kind}`, 'data-kind': kind }, when, ' ', el('span', { text }));
    if (device) li.dataset.device = device;
    li.hidden = !feedVisible(li);
    ui.feed.prepend(li);
    while (ui.feed.children.length > FEED_MAX) ui.feed.lastElementChild.remove();
  }

  function bytes(n) {
    if (typeof n !== 'number') return '–';
    const units = ['B', 'KB', 'MB', 'GB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
  }

  async function loadHub(s) {
    let hub;
    try {
      const res = await fetch('/api/v1/hub', { headers: { Authorization: `Bearer ${token()}` }, cache: 'no-store' });
      if (s !== session || !res.ok) return;
      hub = await res.json();
    } catch {
      return;
    }
    if (s !== session) return;
    $('hub-version').textContent = hub.version || '–';
    $('hub-uptime').textContent = duration((hub.uptimeSeconds || 0) * 1000);
    $('hub-events').textContent = count(hub.retainedEvents);
    $('hub-size').textContent = bytes(hub.logBytes);
    $('hub-connections').textContent = count(hub.connections);
    const uplink = hub.uplink && typeof hub.uplink === 'object' ? hub.uplink : null;
    $('hub-uplink-row').hidden = !uplink;
    if (uplink) {
      const dead = uplink.deadLetterCount || 0;
      const latest = Array.isArray(uplink.deadLetters) && uplink.deadLetters[0];
      $('hub-uplink').textContent = [uplink.connected ? 'connected' : 'not connected',
        `${count(uplink.backlog)} waiting`,
        dead ? `${count(dead)} set aside (last: event ${latest ? latest.sequence : '?'})` : null,
      ].filter(Boolean).join(' · ');
      $('hub-uplink').dataset.deadLetters = String(dead);
    }
    const consumers = Array.isArray(hub.consumers) ? hub.consumers : [];
    ui.consumers.replaceChildren(...consumers.map((c) => el('li', { 'data-consumer': c.name },
      el('span', { class: 'name', text: c.name }), ' ',
      el('span', { class: c.behind > 1000 ? 'behind late' : 'behind', text: `${count(c.behind)} events behind` }))));
    ui.noConsumers.hidden = consumers.length > 0;
  }

  // The device an event is about is its subject's last segment: the hub lets a device token publish only on its
  // own device's topics, while `data` says whatever the publisher wrote.
  function subjectDevice(ev) {
    const subject = typeof ev.subject === 'string' ? ev.subject : '';
    const segments = subject.split('.');
    return segments.length >= 2 ? segments[segments.length - 1] : '';
  }

  // A text of a screen answer: plain, or per language (English first, else any).
  function plainText(t) {
    if (typeof t === 'string') return t;
    if (t && typeof t === 'object') return String(t.en ?? Object.values(t)[0] ?? '');
    return '';
  }

  // Kiosk scans that no service answered within the kiosk's answer timeout: the kiosk's screen then sends the
  // customer to the counter, and staff see it here. The timeout is the screen's own (its settings.json); a kiosk
  // without a screen is not watched.
  const kioskTimeouts = new Map(); // device -> seconds, or null when it has no kiosk screen
  const waitingScans = new Map();  // scan sequence -> timer
  const answeredScans = new Set(); // answers seen (one may come before the timeout above is known)
  async function kioskTimeout(device) {
    if (!kioskTimeouts.has(device)) {
      kioskTimeouts.set(device, null);
      try {
        const res = await fetch(`/screens/kiosk/${encodeURIComponent(device)}/settings.json`, { cache: 'no-store' });
        const settings = res.ok ? await res.json() : null;
        const seconds = Number(settings && settings.answerTimeoutSeconds);
        kioskTimeouts.set(device, Number.isFinite(seconds) && seconds > 0 ? seconds : null);
      } catch {
        kioskTimeouts.delete(device);
      }
    }
    return kioskTimeouts.get(device);
  }
  async function watchScan(ev, device) {
    const seconds = await kioskTimeout(device);
    if (!seconds || !Number.isInteger(ev.sequence) || waitingScans.has(ev.sequence)) return;
    if (answeredScans.has(ev.sequence)) return;
    const pickup = ev.data.pickup && typeof ev.data.pickup === 'object'
      ? (ev.data.pickup.valid ? ' (signed code: valid)' : ` (signed code: ${ev.data.pickup.reason})`) : '';
    waitingScans.set(ev.sequence, setTimeout(() => {
      waitingScans.delete(ev.sequence);
      addFeed(null, 'unanswered', `${device}: scan ${ev.sequence} got no answer within ${seconds} s${pickup}; ` +
        'the customer was asked to come to the counter. Is the order service running?', device);
      // The card keeps it until the device's scans are answered again (the feed scrolls on).
      const c = card(device);
      c.unansweredSequence = ev.sequence;
      c.f.unanswered.replaceChildren(el('span', { class: 'label', text: 'Customer sent to the counter:' }), ' ',
        `scan ${ev.sequence} at ${new Date().toLocaleTimeString()} got no answer${pickup}`);
      c.f.unanswered.dataset.sequence = String(ev.sequence);
      c.f.unanswered.hidden = false;
    }, seconds * 1000));
    while (waitingScans.size > 500) {
      const [oldest, timer] = waitingScans.entries().next().value;
      clearTimeout(timer);
      waitingScans.delete(oldest);
    }
  }

  function onEvent(ev) {
    const raw = ev && ev.data;
    const device = ev ? subjectDevice(ev) : '';
    if (!raw || typeof raw !== 'object' || !device) return;
    if (String(ev.subject).startsWith('display.')) {
      if (Number.isInteger(raw.answers)) {
        answeredScans.add(raw.answers);
        if (answeredScans.size > 500) answeredScans.delete(answeredScans.values().next().value);
      }
      const c = cards.get(device);
      if (c && Number.isInteger(raw.answers) && raw.answers > (c.unansweredSequence ?? Infinity)) {
        c.unansweredSequence = undefined;
        c.f.unanswered.hidden = true;
      }
      if (Number.isInteger(raw.answers) && waitingScans.has(raw.answers)) {
        clearTimeout(waitingScans.get(raw.answers));
        waitingScans.delete(raw.answers);
      }
      // A service's answer on a kiosk's screen: staff see what the customer was told.
      const scan = Number.isInteger(raw.answers) ? ` to scan ${raw.answers}` : '';
      addFeed(ev.time, 'answer', `${device} answer${scan}: ${raw.state} – ${plainText(raw.title)}`, device);
      return;
    }
    const d = { ...raw, device };
    if (ev.type === 'storehub.device.status') {
      const before = cards.get(d.device)?.root.dataset.state;
      applyStatus(d.device, d);
      // Status events also carry counter updates; only changes of state are worth a feed line.
      if (d.state && d.state !== before) {
        addFeed(ev.time, 'status', `${d.device} is ${d.state}${d.reason ? ` (${d.reason})` : ''}`, d.device);
      }
    } else if (ev.type === 'storehub.tryon.result') {
      const what = d.kind === 'snapshot' ? 'snapshot of' : `tried for ${Math.round(d.dwellSeconds || 0)} s:`;
      addFeed(ev.time, 'tryon', `${d.device} ${what} ${d.shadeName || ''} (${d.sku})`, d.device);
    } else if (ev.type === 'storehub.scan') {
      setScan(d.device, { symbology: d.symbology, text: d.text, time: ev.time });
      watchScan(ev, d.device);
      addFeed(ev.time, 'scan', `${d.device} scanned ${d.symbology || '?'} ${mask(d.text)}`, d.device);
    }
  }

  function notice(text) {
    ui.notice.textContent = text;
    ui.notice.hidden = !text;
  }

  function setConn(state) {
    ui.conn.dataset.state = ui.conn.textContent = state;
  }

  async function loadDevices(s) {
    let body;
    try {
      const res = await fetch('/api/v1/devices', {
        headers: { Authorization: `Bearer ${token()}` }, cache: 'no-store',
      });
      if (s !== session) return false;
      if (res.status === 401) {
        signOut(REJECTED);
        return false;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch (err) {
      if (s === session) notice(`Could not load the device list (${err.message}); showing live updates only.`);
      return false;
    }
    if (s !== session) return false;
    notice('');
    const devices = Array.isArray(body.devices) ? body.devices : [];
    const seen = new Set(devices.map((d) => d.id));
    for (const [id, c] of cards) {
      if (!seen.has(id)) {
        c.root.remove();
        cards.delete(id);
      }
    }
    for (const d of devices) {
      applyStatus(d.id, d);
      setScan(d.id, d.lastScan);
    }
    ui.empty.hidden = cards.size > 0;
    return true;
  }

  function send(ws, msg) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function connect(s) {
    if (s !== session) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/bus`);
    socket = ws;
    // Browsers cannot set headers on a WebSocket, so the token goes in the first message.
    ws.onopen = () => send(ws, { op: 'auth', token: token() });
    ws.onmessage = (m) => onMessage(ws, s, m.data);
    ws.onclose = (e) => {
      if (s !== session || socket !== ws) return;
      socket = null;
      if (e.code === 4401) {
        signOut(REJECTED);
        return;
      }
      setConn('reconnecting');
      devicesFresh = false;
      const delay = Math.min(BACKOFF_MAX, backoff * (1 + Math.random() * 0.2));
      backoff = Math.min(BACKOFF_MAX, backoff * 2);
      retryTimer = setTimeout(() => connect(s), delay);
    };
  }

  async function onMessage(ws, s, raw) {
    let msg;
    try { msg = JSON.parse(raw); } catch { return; }
    if (s !== session) return;
    switch (msg.op) {
      case 'authenticated':
        backoff = BACKOFF_MIN;
        // After a reconnect, catch up on what the live subscriptions missed before subscribing again.
        if (!devicesFresh) await loadDevices(s);
        devicesFresh = false;
        if (s !== session) return;
        send(ws, { op: 'subscribe', id: 'status', topic: 'device.status.>' });
        send(ws, { op: 'subscribe', id: 'scans', topic: 'scan.>' });
        send(ws, { op: 'subscribe', id: 'tryon', topic: 'tryon.result.>' });
        send(ws, { op: 'subscribe', id: 'answers', topic: 'display.>' });
        break;
      case 'subscribed':
        setConn('live');
        break;
      case 'event':
        onEvent(msg.event);
        break;
      case 'dropped':
        addFeed(null, 'note', `${msg.count} event(s) skipped, the page fell behind`);
        break;
      case 'error':
        console.warn('StoreHub bus error:', msg.code);
        break;
    }
  }

  async function start() {
    const s = ++session;
    notice('');
    ui.login.hidden = true;
    ui.dashboard.hidden = false;
    ui.logout.hidden = false;
    ui.conn.hidden = false;
    setConn('connecting');
    backoff = BACKOFF_MIN;
    devicesFresh = await loadDevices(s);
    loadHub(s);
    if (s === session) connect(s);
  }

  function signOut(message) {
    session++;
    closeStreams();
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(retryTimer);
    if (socket) {
      const ws = socket;
      socket = null;
      ws.close(1000);
    }
    cards.clear();
    ui.devices.replaceChildren();
    ui.feedDevice.replaceChildren(el('option', { value: '', text: 'all devices' }));
    ui.feed.replaceChildren();
    notice('');
    ui.dashboard.hidden = true;
    ui.logout.hidden = true;
    ui.conn.hidden = true;
    ui.login.hidden = false;
    ui.loginError.textContent = message || '';
    ui.loginError.hidden = !message;
    ui.input.value = '';
    ui.input.focus();
  }

  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = ui.input.value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    ui.input.value = '';
    ui.loginError.hidden = true;
    start();
  });
  ui.logout.addEventListener('click', () => signOut(''));
  for (const kind of FEED_KINDS) $(`show-${kind}`).addEventListener('change', applyFilters);
  ui.feedDevice.addEventListener('change', applyFilters);
  setInterval(() => { if (token()) loadHub(session); }, 10000);
  setInterval(() => { if (token()) refreshPreviews(session); }, 2000);
  setInterval(refreshTimes, 5000);
  // Status events come on changes of state, so the frame counters are refreshed from the API now and then.
  setInterval(() => { if (socket && token()) loadDevices(session); }, 10000);

  if (token()) start();
  else signOut('');
})();
