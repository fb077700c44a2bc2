'use strict';
// What every customer screen (a mirror's, a kiosk's) shares: its device from the URL, its strings and language
// button, pairing, the bus, and plain messages. The page's own script calls StoreHubScreen.start(...).
const StoreHubScreen = (() => {
  const [, , kind, rawDevice] = location.pathname.split('/');
  const device = decodeURIComponent(rawDevice || '');
  const TOKEN_KEY = `storehub.screen.${kind}.${device}`;
  const params = new URLSearchParams(location.search);
  const all = {};           // language -> strings
  let settings = null;      // {device, kind, languages}
  let language = null;
  const onLanguage = [];
  const messages = new Map(); // key -> vars, the plain messages showing now (newest last)

  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const token = () => localStorage.getItem(TOKEN_KEY);
  const auth = () => ({ Authorization: `Bearer ${token()}` });

  // A string of the current language, else of the default one, with {name} replaced from vars.
  function t(key, vars = {}) {
    const text = all[language]?.[key] ?? all[settings?.languages[0]]?.[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
  }

  function translate(root = document) {
    root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.documentElement.lang = language;
    document.title = t(`${kind}.title`);
    $('language')?.setAttribute('aria-label', t('common.language'));
    renderMessage();
  }

  function setLanguage(lang) {
    if (!all[lang]) return;
    language = lang;
    translate();
    onLanguage.forEach((listener) => listener(lang));
  }

  function renderLanguageMenu() {
    const button = $('language');
    const menu = $('languages');
    button.hidden = settings.languages.length < 2;
    menu.replaceChildren(...settings.languages.map((lang) => {
      const item = document.createElement('li');
      const choice = document.createElement('button');
      choice.type = 'button';
      choice.className = 'pill';
      choice.lang = lang;
      choice.dataset.lang = lang;
      choice.textContent = all[lang]['common.languageName'];
      choice.addEventListener('click', () => {
        menu.hidden = true;
        button.setAttribute('aria-expanded', 'false');
        setLanguage(lang);
      });
      item.append(choice);
      return item;
    }));
    button.addEventListener('click', () => {
      menu.hidden = !menu.hidden;
      button.setAttribute('aria-expanded', String(!menu.hidden));
    });
  }

  // Plain messages: one line at the bottom, the newest shown; each clears when its cause is gone.
  function message(key, vars = {}, { seconds } = {}) {
    messages.delete(key);
    messages.set(key, vars);
    renderMessage();
    if (seconds) setTimeout(() => clear(key), seconds * 1000);
  }
  function clear(key) {
    if (messages.delete(key)) renderMessage();
  }
  function renderMessage() {
    const box = $('message');
    if (!box) return;
    const last = [...messages.entries()].pop();
    box.hidden = !last;
    box.dataset.key = last ? last[0] : '';
    box.textContent = last ? t(last[0], last[1]) : '';
  }

  function show(view) {
    document.querySelectorAll('.view:not(.overlay)').forEach((section) => { section.hidden = section.id !== view; });
    document.body.dataset.view = view;
  }

  async function fetchJSON(url, options = {}) {
    const res = await fetch(url, { cache: 'no-store', ...options });
    let body = null;
    try { body = await res.json(); } catch { /* an error page */ }
    return { status: res.status, body, headers: res.headers };
  }

  // Retries a network call until the hub answers, with a plain message meanwhile.
  async function reach(call) {
    for (let delay = 1000; ; delay = Math.min(delay * 2, 8000)) {
      try {
        const result = await call();
        clear('common.offline');
        return result;
      } catch {
        message('common.offline');
        await sleep(delay);
      }
    }
  }

  // Shows a code until staff approve this screen on the status page, then keeps the token it was given.
  async function pair() {
    show('pairing');
    for (;;) {
      const started = await reach(() => fetchJSON('/api/v1/screens/pairings', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ device }),
      }));
      if (started.status === 429) {
        await sleep((Number(started.headers.get('Retry-After')) || 10) * 1000);
        continue;
      }
      if (started.status !== 200) { await sleep(5000); continue; }
      const { pairing, code } = started.body;
      $('pair-code').textContent = `${code.slice(0, 3)}-${code.slice(3)}`;
      for (;;) {
        await sleep(1000);
        const poll = await reach(() => fetchJSON(`/api/v1/screens/pairings/${pairing}`));
        if (poll.status !== 200) break; // expired: a new code
        if (poll.body.state === 'approved') {
          localStorage.setItem(TOKEN_KEY, poll.body.token);
          clear('common.revoked');
          if (poll.body.device !== device || poll.body.kind !== kind) {
            // Staff chose another device: this display belongs to that one's page.
            localStorage.setItem(`storehub.screen.${poll.body.kind}.${poll.body.device}`, poll.body.token);
            localStorage.removeItem(TOKEN_KEY);
            location.replace(`/screens/${poll.body.kind}/${encodeURIComponent(poll.body.device)}`);
            return new Promise(() => {});
          }
          return;
        }
        $('pair-expires').textContent = t('pairing.expires', { seconds: poll.body.expiresInSeconds });
      }
    }
  }

  // A token the hub accepts: the stored one if it still works, else a new pairing.
  async function ensurePaired() {
    while (!token() || (await reach(() => fetchJSON('/api/v1/screens/self', { headers: auth() }))).status === 401) {
      if (token()) {
        localStorage.removeItem(TOKEN_KEY);
        message('common.revoked');
      }
      await pair();
    }
  }

  // The bus: live events of `topics`, reconnecting with backoff. A revoked token (4401) pairs again.
  function bus(topics, onEvent, onOpen) {
    let socket = null;
    let backoff = 500;
    const connect = () => {
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const ws = new WebSocket(`${scheme}//${location.host}/api/v1/bus`);
      socket = ws;
      ws.onopen = () => ws.send(JSON.stringify({ op: 'auth', token: token() }));
      ws.onmessage = (m) => {
        let msg;
        try { msg = JSON.parse(m.data); } catch { return; }
        if (msg.op === 'authenticated') {
          backoff = 500;
          clear('common.offline');
          topics.forEach((topic, index) => ws.send(JSON.stringify({ op: 'subscribe', id: `s${index}`, topic })));
          onOpen?.();
        } else if (msg.op === 'event') {
          onEvent(msg.event);
        }
      };
      ws.onclose = async (e) => {
        if (socket !== ws) return;
        socket = null;
        if (e.code === 4401) {
          localStorage.removeItem(TOKEN_KEY);
          message('common.revoked');
          await ensurePaired();
          backoff = 500;
        } else {
          message('common.offline');
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 8000);
        }
        connect();
      };
    };
    connect();
    let published = 0;
    return {
      publish(topic, data) {
        if (socket?.readyState !== WebSocket.OPEN) return false;
        socket.send(JSON.stringify({ op: 'publish', topic, type: `storehub.${kind}.command`, data, ref: `p${++published}` }));
        return true;
      },
    };
  }

  // Loads the screen's settings and every language's strings, applies the language of ?lang= or the default,
  // pairs if needed, then hands over to the page.
  async function start(page) {
    const loaded = await reach(() => fetchJSON(`/screens/${kind}/${encodeURIComponent(device)}/settings.json`));
    settings = loaded.body;
    await Promise.all(settings.languages.map(async (lang) => {
      all[lang] = (await reach(() => fetchJSON(`/assets/screens/i18n/${encodeURIComponent(lang)}.json`))).body;
    }));
    const asked = params.get('lang');
    language = settings.languages[0];
    translate();
    renderLanguageMenu();
    if (asked && !all[asked]) message('common.unknownLanguage', {}, { seconds: 8 });
    else if (asked) setLanguage(asked);
    await ensurePaired();
    page();
  }

  return {
    device, kind, params, t, translate, message, clear, show, auth, fetchJSON, reach, bus, start, sleep,
    ensurePaired,
    get language() { return language; },
    onLanguage: (listener) => onLanguage.push(listener),
  };
})();
