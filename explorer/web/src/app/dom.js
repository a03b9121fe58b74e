// A tiny DOM builder. Everything the server sends is put into the page as text nodes or
// attributes, never as HTML: the server is not trusted, and neither is what it says.

/**
 * h('div', { class: 'x', onclick: fn, dataset: { step: 'a' } }, 'text', child, [more, children])
 * Props: `class`, `style` (object), `dataset` (object), `on<event>` (listener), anything else an
 * attribute (skipped when null, undefined or false; `true` sets it empty).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props)
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' && 'value' in el) el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  append(el, children);
  return el;
}

/** Appends children: nodes, strings/numbers/BigInts (as text), arrays (flattened); skips null/false. */
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** HTML-escapes text for the few places that take HTML strings (ECharts tooltips). */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** Lets the browser paint before the next step of a long check. */
export const tick = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

/** A link inside the page (hash routing). */
export function link(route, ...children) {
  return h('a', { href: `#${route}` }, ...children);
}

/** Shortens a hex string for display: 2c5bd8d7…47764 (the full value in the title). */
export function short(hex, head = 10, tail = 6) {
  const s = String(hex);
  return s.length <= head + tail + 1 ? s : `${s.slice(0, head)}…${s.slice(-tail)}`;
}

/** A hex value (shortened unless opts.full), with the full value as its title. */
export function hexSpan(hex, opts = {}) {
  const full = String(hex);
  return h('code', { class: 'hex', title: full, dataset: { full } }, opts.full ? full : short(full, opts.head, opts.tail));
}

/** Saves text as a file. */
export function download(name, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
