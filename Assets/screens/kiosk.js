'use strict';
// The kiosk's customer screen: what to do while idle; on a scan at once "checking" and a short tone; then the
// order service's answer on display.<device> (matched by `answers`), or after the kiosk's answer timeout the
// screen's own fallback: the hub's verdict on a signed pickup code, else "please ask at the counter". A camera
// that is not online shows "resting". Texts from services are only ever set as textContent.
(() => {
  const S = StoreHubScreen;
  const $ = (id) => document.getElementById(id);
  const REMEMBERED_SCANS = 200;
  const DEFAULT_TTL = 8;

  let timeoutMs = 4000;
  let cameraOnline = true;
  let current = null;           // what is on screen: {kind: 'idle'|'checking'|'answer'|'fallback'|'resting', ...}
  let backToIdle = null;        // timer
  let audio = null;
  const scans = new Map();      // scan sequence -> {data, timer, answered}
  const answersSeen = new Set(); // display event sequences already handled
  const scansAnswered = new Set(); // scan sequences whose answer was shown (also for scans this page never saw)

  // For tests and the latency measurement: when each scan arrived, when each state was put on screen (epoch
  // milliseconds, at the animation frame that paints it), and every answer shown, in order.
  const record = {
    view: null, scanned: {}, feedback: {}, answered: {}, fallback: {}, shown: [], tones: 0,
    clock: () => performance.timeOrigin + performance.now(),
  };
  window.storehubKiosk = record;

  // A service's text: plain, or per language (this screen's, its base language, the screen's default, English,
  // else any).
  function pick(text) {
    if (typeof text === 'string') return text;
    if (!text || typeof text !== 'object') return '';
    const base = S.language.split('-')[0];
    return text[S.language] ?? text[base] ?? text[record.defaultLanguage] ?? text.en ?? Object.values(text)[0] ?? '';
  }

  // Marks the time the frame showing this state is painted: requestAnimationFrame runs just before that paint.
  function painted(into, sequence) {
    requestAnimationFrame(() => {
      if (into[sequence] === undefined) into[sequence] = record.clock();
    });
  }

  function display(view, state) {
    clearTimeout(backToIdle);
    backToIdle = null;
    record.view = view;
    document.body.dataset.kiosk = view;
    S.show(view);
    if (state) $('answer').dataset.state = state;
  }

  function idle() {
    current = { kind: cameraOnline ? 'idle' : 'resting' };
    display(current.kind);
  }

  function later(seconds) {
    const shown = current;
    backToIdle = setTimeout(() => { if (current === shown) idle(); }, seconds * 1000);
  }

  // A short, soft two-note tone made on the spot (no audio file): the customer hears the code was read.
  function tone() {
    try {
      audio = audio || new AudioContext();
      if (audio.state === 'suspended') audio.resume();
      const now = audio.currentTime;
      const gain = audio.createGain();
      gain.connect(audio.destination);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.25, now + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.18);
      [880, 1320].forEach((frequency, index) => {
        const oscillator = audio.createOscillator();
        oscillator.type = 'sine';
        oscillator.frequency.value = frequency;
        oscillator.connect(gain);
        oscillator.start(now + index * 0.07);
        oscillator.stop(now + 0.07 + index * 0.07);
      });
      record.tones += 1;
    } catch {
      // No audio device: the screen alone must do.
    }
  }

  function renderAnswer() {
    const message = current.message;
    $('answer-title').textContent = current.title ? S.t(current.title) : pick(message.title);
    const body = current.body ? S.t(current.body) : pick(message.body);
    $('answer-body').textContent = body;
    $('answer-body').hidden = !body;
    const items = Array.isArray(message.items) ? message.items : [];
    $('answer-items').replaceChildren(...items.map((item) => {
      const line = document.createElement('li');
      line.textContent = pick(item);
      return line;
    }));
    $('answer-items').hidden = items.length === 0;
    $('answer-qr').replaceChildren();
    $('answer-qr').hidden = true;
    if (typeof message.qr === 'string' && message.qr) drawQR(message.qr, current);
  }

  // The hub draws the QR code as SVG; shown as an image, so nothing in it can run.
  async function drawQR(text, shown) {
    let drawn;
    try {
      drawn = await S.fetchJSON('/api/v1/screens/self/qr', {
        method: 'POST', headers: { ...S.auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ text }),
      });
    } catch {
      return; // the hub is unreachable: the answer stands without its code
    }
    if (current !== shown || drawn.status !== 200 || typeof drawn.body?.svg !== 'string') return;
    const image = document.createElement('img');
    image.alt = '';
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(drawn.body.svg)}`;
    image.dataset.text = text;
    $('answer-qr').replaceChildren(image);
    $('answer-qr').hidden = false;
  }

  function onScan(event) {
    const sequence = event.sequence;
    if (scans.has(sequence)) return;
    const scan = { data: event.data || {}, answered: false };
    scans.set(sequence, scan);
    if (scans.size > REMEMBERED_SCANS) {
      const [oldest] = scans.keys();
      clearTimeout(scans.get(oldest).timer);
      scans.delete(oldest);
      ['scanned', 'feedback', 'answered', 'fallback'].forEach((name) => { delete record[name][oldest]; });
    }
    record.scanned[sequence] = record.clock();
    tone();
    current = { kind: 'checking', sequence };
    display('checking');
    painted(record.feedback, sequence);
    scan.timer = setTimeout(() => unanswered(sequence), timeoutMs);
  }

  // Keeps a set of sequences bounded: a kiosk runs for weeks.
  function remember(set, value) {
    set.add(value);
    if (set.size > REMEMBERED_SCANS) set.delete(set.values().next().value);
  }

  function onAnswer(event) {
    if (answersSeen.has(event.sequence)) return;
    remember(answersSeen, event.sequence);
    const message = event.data || {};
    const sequence = Number.isInteger(message.answers) ? message.answers : null;
    if (sequence !== null) {
      if (scansAnswered.has(sequence)) return; // one answer per scan on screen
      remember(scansAnswered, sequence);
      const scan = scans.get(sequence);
      if (scan) {
        scan.answered = true;
        clearTimeout(scan.timer);
      }
    }
    current = { kind: 'answer', sequence, message };
    display('answer', ['ok', 'warning', 'error', 'info'].includes(message.state) ? message.state : 'info');
    renderAnswer();
    record.shown.push({ answers: sequence, event: event.sequence, state: message.state });
    if (record.shown.length > REMEMBERED_SCANS) record.shown.shift();
    if (sequence !== null) painted(record.answered, sequence);
    later(Number.isFinite(message.ttlSeconds) ? message.ttlSeconds : DEFAULT_TTL);
  }

  // No answer in time: the hub's own verdict on a signed pickup code, else the counter. Staff see the unanswered
  // scan on the status page.
  function unanswered(sequence) {
    const scan = scans.get(sequence);
    if (!scan || scan.answered || current?.sequence !== sequence || current.kind !== 'checking') return;
    const verdict = scan.data.pickup;
    let state = 'info';
    let title = 'kiosk.fallback.title';
    let body = 'kiosk.fallback.body';
    if (verdict && typeof verdict === 'object') {
      const reason = verdict.valid === true ? 'valid' : String(verdict.reason || 'malformed');
      const known = ['valid', 'forged', 'expired', 'alreadyCollected', 'unknownKey', 'malformed'];
      const key = known.includes(reason) ? reason : 'malformed';
      state = key === 'valid' ? 'ok' : key === 'alreadyCollected' ? 'warning' : 'error';
      title = `kiosk.pickup.${key}.title`;
      body = `kiosk.pickup.${key}.body`;
    }
    current = { kind: 'fallback', sequence, title, body, message: {}, reason: verdict ? title : null };
    display('answer', state);
    renderAnswer();
    painted(record.fallback, sequence);
    later(DEFAULT_TTL);
  }

  function onStatus(event) {
    const online = event.data?.state === 'online';
    record.status = event.data?.state;
    if (online === cameraOnline && record.view !== null) return;
    cameraOnline = online;
    if (!online) {
      current = { kind: 'resting' };
      display('resting');
    } else if (current?.kind === 'resting' || current === null) {
      idle();
    }
  }

  function onEvent(event) {
    const subject = String(event.subject || '');
    if (subject === `scan.${S.device}`) onScan(event);
    else if (subject === `display.${S.device}`) onAnswer(event);
    else if (subject === `device.status.${S.device}`) onStatus(event);
  }

  S.start(async () => {
    const settings = await S.reach(() => S.fetchJSON(`/screens/kiosk/${encodeURIComponent(S.device)}/settings.json`));
    const seconds = Number(settings.body?.answerTimeoutSeconds);
    if (Number.isFinite(seconds) && seconds > 0) timeoutMs = seconds * 1000;
    record.defaultLanguage = settings.body?.languages?.[0];
    record.answerTimeoutSeconds = timeoutMs / 1000;
    idle();
    S.onLanguage(() => { if (current?.kind === 'answer' || current?.kind === 'fallback') renderAnswer(); });
    S.bus([`scan.${S.device}`, `display.${S.device}`, `device.status.${S.device}`], onEvent, () => {
      record.connected = (record.connected || 0) + 1;
    });
  });
})();
