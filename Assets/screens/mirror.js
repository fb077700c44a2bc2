'use strict';
// The mirror's screen: the attract screen between visits, the live stream during one, the shade carousel,
// before/after, lighting, and pictures with their share panel. Everything it changes goes to the hub as a mirror
// command; the stream shows the result.
(() => {
  const S = StoreHubScreen;
  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;
  const commands = `mirror.command.${S.device}`;
  let bus = null;
  let shades = [];
  let selected = null;
  let lighting = 'neutral';
  let split = null;            // share of the shown image's width from its left edge, or null
  let waitingForPicture = null; // timer while a picture is being taken
  let shared = null;           // the share panel's {id, sku, blob}
  let opening = false;

  const shadeName = (shade) => shade.names?.[S.language] ?? shade.name;

  function command(data) {
    if (!bus?.publish(commands, data)) S.message('common.offline', {}, { seconds: 4 });
  }

  function renderCarousel() {
    $('carousel').replaceChildren(...shades.map((shade) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'shade';
      button.dataset.sku = shade.sku;
      button.setAttribute('aria-pressed', String(shade.sku === selected));
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = shade.color;
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = shadeName(shade);
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = `${shade.brand} · ${S.t(`mirror.finish.${shade.finish}`)}`;
      button.append(swatch, name, meta);
      if (shade.price) {
        const price = document.createElement('span');
        price.className = 'price';
        price.textContent = shade.price;
        button.append(price);
      }
      button.addEventListener('click', () => select(shade.sku));
      item.append(button);
      return item;
    }));
  }

  function select(sku) {
    if (!shades.some((shade) => shade.sku === sku)) {
      S.message('mirror.unknownShade', {}, { seconds: 8 });
      return;
    }
    selected = sku;
    S.clear('mirror.unknownShade');
    document.querySelectorAll('#carousel .shade').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.sku === sku)));
    command({ select: sku });
  }

  function setLighting(preset) {
    lighting = preset;
    document.querySelectorAll('.light').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.light === preset)));
    command({ lighting: preset });
  }

  // The split line is drawn over the shown (mirrored) image; the hub wants it in the camera frame's terms.
  function placeSplit() {
    const line = $('split');
    line.hidden = split === null;
    $('compare').setAttribute('aria-pressed', String(split !== null));
    if (split === null) return;
    const stage = $('stage').getBoundingClientRect();
    const image = $('stream').getBoundingClientRect();
    line.style.left = `${image.left - stage.left + split * image.width}px`;
  }

  let splitSent = 0;
  function setSplit(value, { force = false } = {}) {
    split = value === null ? null : Math.min(1, Math.max(0, value));
    placeSplit();
    const now = performance.now();
    if (!force && now - splitSent < 60) return;
    splitSent = now;
    // Shown mirrored: the "after" side (right of the line on screen) is the frame's left of 1 - split.
    command({ split: split === null ? null : Number((1 - split).toFixed(4)) });
  }

  function dragSplit(event) {
    const image = $('stream').getBoundingClientRect();
    setSplit((event.clientX - image.left) / image.width);
  }

  async function openStream() {
    if (opening) return;
    opening = true;
    try {
      for (;;) {
        const ticket = await S.reach(() => S.fetchJSON(`/api/v1/mirrors/${enc(S.device)}/ticket`, {
          method: 'POST', headers: S.auth(),
        }));
        if (ticket.status === 401) { await S.ensurePaired(); continue; }
        if (ticket.status !== 200) { S.message('mirror.streamLost'); await S.sleep(3000); continue; }
        showVisit(ticket.body.visit);
        $('stream').src = ticket.body.url;
        return;
      }
    } finally {
      opening = false;
    }
  }

  function showVisit(session) {
    if (session) {
      S.show('live');
      requestAnimationFrame(placeSplit);
    } else {
      endVisitOnScreen();
      S.show('attract');
    }
  }

  // What a visit leaves on the screen goes when it ends: the choice, the picture, the light and the line.
  function endVisitOnScreen() {
    closeShare();
    selected = null;
    document.querySelectorAll('#carousel .shade').forEach((b) => b.setAttribute('aria-pressed', 'false'));
    if (split !== null) setSplit(null, { force: true });
    if (lighting !== 'neutral') setLighting('neutral');
  }

  function onEvent(event) {
    const data = event.data || {};
    if (event.subject.startsWith('device.status.')) {
      if (data.state === 'offline' || data.state === 'failed') S.message('mirror.resting');
      else if (data.state === 'online') S.clear('mirror.resting');
      return;
    }
    if (data.kind === 'visit') showVisit(data.visit === 'started' ? data.session : null);
    if (data.kind === 'member') S.message('mirror.memberLinked', {}, { seconds: 6 });
    if (data.kind === 'snapshot' && waitingForPicture) {
      clearTimeout(waitingForPicture);
      waitingForPicture = null;
      openShare(data.snapshotId, data.sku);
    }
  }

  async function takePicture() {
    if (waitingForPicture) return;
    const countdown = $('countdown');
    countdown.hidden = false;
    for (let n = 3; n > 0; n--) {
      countdown.textContent = String(n);
      await S.sleep(1000);
    }
    countdown.hidden = true;
    waitingForPicture = setTimeout(() => {
      waitingForPicture = null;
      S.message('mirror.pictureFailed', {}, { seconds: 6 });
    }, 10000);
    command({ snapshot: true });
  }

  async function openShare(id, sku) {
    closeShare();
    const [picture, share] = await Promise.all([
      fetch(`/api/v1/snapshots/${enc(id)}.jpg`, { headers: S.auth(), cache: 'no-store' }),
      S.fetchJSON(`/api/v1/snapshots/${enc(id)}/share`, { headers: S.auth() }),
    ]);
    if (!picture.ok || share.status !== 200) {
      S.message('mirror.pictureFailed', {}, { seconds: 6 });
      return;
    }
    shared = { id, sku, blob: URL.createObjectURL(await picture.blob()), url: share.body.url };
    $('share-picture').src = shared.blob;
    // The hub draws the QR code itself (libqrencode); its SVG holds nothing but rectangles.
    $('share-qr').innerHTML = share.body.qrSvg;
    $('share-qr').dataset.url = share.body.url;
    renderShareShade();
    $('share').hidden = false;
  }

  function renderShareShade() {
    if (!shared) return;
    const shade = shades.find((s) => s.sku === shared.sku);
    const line = $('share-shade');
    line.replaceChildren();
    if (!shade) return;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.cssText = `display:inline-block;width:1.2em;height:1.2em;border-radius:50%;vertical-align:middle;background:${shade.color}`;
    const name = document.createElement('strong');
    name.textContent = ` ${shadeName(shade)} `;
    line.append(swatch, name, document.createTextNode(shade.brand));
  }

  function closeShare() {
    if (shared?.blob) URL.revokeObjectURL(shared.blob);
    shared = null;
    $('share').hidden = true;
    $('share-picture').removeAttribute('src');
    $('share-qr').replaceChildren();
  }

  async function deletePicture() {
    if (!shared) return;
    const res = await S.reach(() => fetch(`/api/v1/snapshots/${enc(shared.id)}`, { method: 'DELETE', headers: S.auth() }));
    closeShare();
    if (res.ok || res.status === 404) S.message('mirror.share.deleted', {}, { seconds: 5 });
  }

  async function loadShades() {
    const res = await S.reach(() => S.fetchJSON('/api/v1/shades', { headers: S.auth() }));
    shades = res.body?.shades ?? [];
    renderCarousel();
  }

  S.start(async () => {
    S.show('attract');
    S.onLanguage(() => { renderCarousel(); renderShareShade(); });
    await loadShades();
    const asked = S.params.get('shade');
    document.querySelectorAll('.light').forEach((b) => b.addEventListener('click', () => setLighting(b.dataset.light)));
    $('compare').addEventListener('click', () => setSplit(split === null ? 0.5 : null, { force: true }));
    $('picture').addEventListener('click', takePicture);
    $('done').addEventListener('click', () => { endVisitOnScreen(); command({ end: true }); });
    $('bag').addEventListener('click', () => {
      if (!shared) return;
      command({ wishlist: shared.sku });
      S.message('mirror.share.added', {}, { seconds: 5 });
    });
    $('delete').addEventListener('click', deletePicture);
    $('share-close').addEventListener('click', closeShare);
    const line = $('split');
    line.addEventListener('pointerdown', (e) => { line.setPointerCapture(e.pointerId); dragSplit(e); });
    line.addEventListener('pointermove', (e) => { if (line.hasPointerCapture(e.pointerId)) dragSplit(e); });
    line.addEventListener('pointerup', (e) => { dragSplit(e); setSplit(split, { force: true }); });
    window.addEventListener('resize', placeSplit);
    $('stream').addEventListener('load', () => { S.clear('mirror.streamLost'); placeSplit(); });
    $('stream').addEventListener('error', async () => {
      S.message('mirror.streamLost');
      await S.sleep(2000);
      openStream();
    });
    let first = true;
    bus = S.bus([`tryon.result.${S.device}`, `device.status.${S.device}`], onEvent, () => {
      // After a reconnect (the hub restarted, or the network came back) the mirror forgot this screen's choices.
      if (!first) {
        if (selected) command({ select: selected });
        if (lighting !== 'neutral') command({ lighting });
        if (split !== null) setSplit(split, { force: true });
      }
      if (first && asked) select(asked);
      first = false;
      openStream();
    });
  });
})();
