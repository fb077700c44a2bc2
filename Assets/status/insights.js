'use strict';
// The Insights panel of the staff status page: GET /api/v1/insights for the last 24 hours, drawn as inline SVG
// bar charts (no chart library). Numbers come from the hub; everything is inserted as text or SVG attributes.
(() => {
  const TOKEN_KEY = 'storehub.staffToken';
  const SVG = 'http://www.w3.org/2000/svg';
  const REFRESH_MS = 60000;
  const $ = (id) => document.getElementById(id);

  function svg(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Stacked bars, one per hour: `series` is [{ name, className, values: [number per hour] }].
  function barChart(figure, hours, series, label) {
    const width = 720;
    const height = 160;
    const left = 36;
    const bottom = 20;
    const totals = hours.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
    const max = Math.max(1, ...totals);
    const step = (width - left) / Math.max(1, hours.length);
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label });
    chart.append(svg('text', { x: 0, y: 12, class: 'axis' }, String(max)));
    chart.append(svg('line', { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: 'axis' }));
    hours.forEach((hour, i) => {
      let y = height - bottom;
      for (const s of series) {
        const value = s.values[i] || 0;
        if (!value) continue;
        const h = (value / max) * (height - bottom - 16);
        y -= h;
        const bar = svg('rect', {
          x: left + i * step + 1, y, width: Math.max(1, step - 2), height: h, class: s.className,
          'data-hour': hour, 'data-series': s.name, 'data-value': value,
        });
        bar.append(svg('title', {}, `${new Date(hour).toLocaleString()}: ${value} ${s.name}`));
        chart.append(bar);
      }
      if (i % 6 === 0) {
        chart.append(svg('text', { x: left + i * step, y: height - 4, class: 'axis' },
          new Date(hour).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
      }
    });
    figure.replaceChildren(chart);
  }

  // Every hour of the range, so quiet hours show as gaps.
  function hourSlots(from, to) {
    const slots = [];
    const start = Math.floor(Date.parse(from) / 3600000) * 3600000;
    for (let t = start; t < Date.parse(to); t += 3600000) slots.push(t);
    return slots;
  }

  function draw(body) {
    const slots = hourSlots(body.from, body.to);
    const byHour = new Map(body.hours.map((h) => [Date.parse(h.hour), h]));
    const devices = [...new Set(body.hours.flatMap((h) => Object.keys(h.scans)))].sort();
    barChart($('insights-scans'), slots, devices.map((device, index) => ({
      name: `scans on ${device}`, className: `series-${index % 6}`,
      values: slots.map((t) => Object.values(byHour.get(t)?.scans[device] || {}).reduce((a, b) => a + b, 0)),
    })), 'Scans per hour and device');
    barChart($('insights-pickups'), slots, [
      { name: 'answered ok', className: 'ok', values: slots.map((t) => byHour.get(t)?.pickups.ok || 0) },
      { name: 'refused', className: 'refused', values: slots.map((t) => byHour.get(t)?.pickups.refused || 0) },
      { name: 'unanswered', className: 'unanswered', values: slots.map((t) => byHour.get(t)?.pickups.unanswered || 0) },
    ], 'Pickups per hour');
    const rows = body.shades.map((shade) => {
      const row = document.createElement('tr');
      const dwell = shade.medianDwellSeconds == null ? '–' : `${shade.medianDwellSeconds} s`;
      for (const text of [shade.sku, shade.tried, dwell, shade.pictures]) {
        const cell = document.createElement('td');
        cell.textContent = String(text);
        row.append(cell);
      }
      return row;
    });
    $('insights-shades').tBodies[0].replaceChildren(...rows);
  }

  async function load() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token || $('dashboard').hidden) return;
    try {
      const res = await fetch('/api/v1/insights', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      draw(await res.json());
      $('insights-error').hidden = true;
    } catch (error) {
      $('insights-error').textContent = `Insights could not be loaded (${error.message}).`;
      $('insights-error').hidden = false;
    }
  }

  // The dashboard appears after sign-in (app.js); load then, and every minute while it is shown.
  new MutationObserver(load).observe($('dashboard'), { attributes: true, attributeFilter: ['hidden'] });
  setInterval(load, REFRESH_MS);
  load();
})();
