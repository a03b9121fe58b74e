// The explorer API (GET /api/openapi.json documents it). Errors are { code, message }.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = message;
  }
}

/** GET /api/v1<path> as JSON; throws ApiError (network failures: code `network`). */
export async function api(path, { text = false } = {}) {
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new ApiError(0, 'network', err.message);
  }
  const body = await res.text();
  if (!res.ok) {
    let code = `http.${res.status}`;
    let message = res.statusText;
    try {
      const e = JSON.parse(body);
      if (e && typeof e.code === 'string') ({ code, message } = e);
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, code, message);
  }
  if (text) return body;
  try {
    return JSON.parse(body);
  } catch {
    throw new ApiError(res.status, 'response.not_json', 'the server did not answer JSON');
  }
}

/** api() that answers null for a 404. */
export async function apiOrNull(path) {
  try {
    return await api(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** Server-sent events: one `block` event per committed block. */
const listeners = new Set();
let source = null;
export function onBlock(fn) {
  listeners.add(fn);
  if (source === null && typeof EventSource !== 'undefined') {
    source = new EventSource('/api/v1/events');
    source.addEventListener('block', (ev) => {
      let b;
      try {
        b = JSON.parse(ev.data);
      } catch {
        return;
      }
      for (const l of listeners) l(b);
    });
  }
  return () => listeners.delete(fn);
}
