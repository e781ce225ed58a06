// herald-base.js — what herald.js and its tab sharing (herald-shared.js)
// both need: credentials (a token, renewed through getToken, or the cookie),
// the publish call with its safe retries, errors from problem+json replies,
// and the small list and id helpers.

/** Names that `on()` treats as lifecycle notifications rather than event types. */
export const LIFECYCLE = new Set(['state', 'connected', 'subscribed', 'gap', 'resumed', 'expired', 'error']);

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const PUBLISH_ATTEMPTS = 3;

/**
 * The credentials of one handle. With a token (given, or from getToken) it is
 * sent as `access_token=` on the stream URL (an EventSource cannot set
 * headers) and as `Authorization: Bearer` on every fetch; without one the
 * browser's cookie does the work (`herald_token`, HttpOnly, set by the app's
 * backend). getToken may resolve to null: the cookie then stays in charge and
 * the callback is the place to have the backend renew it.
 */
export class Auth {
  /** @param {{token?: string, getToken?: () => (string|null|Promise<string|null>), withCredentials?: boolean}} opts */
  constructor(opts = {}) {
    this.token = opts.token ? String(opts.token) : null;
    this.getToken = typeof opts.getToken === 'function' ? opts.getToken : null;
    this.credentials = opts.withCredentials ? 'include' : 'same-origin';
    // Only getToken given: ask it before the first request.
    this.stale = !this.token && !!this.getToken;
    this._pending = null;
  }

  /** @returns {Promise<string|null>} the token to use now, asking getToken first when it is stale */
  async current() {
    if (this.stale) await this.renew();
    return this.token;
  }

  /** Marks the token as used up (expired, refused); the next current() renews it. */
  invalidate() {
    if (this.getToken) this.stale = true;
  }

  /**
   * Asks getToken for a fresh token; concurrent callers share one call. A
   * getToken that throws leaves the token stale and rethrows.
   * @returns {Promise<string|null>}
   */
  renew() {
    if (!this.getToken) return Promise.resolve(this.token);
    if (!this._pending) {
      this._pending = Promise.resolve()
        .then(() => this.getToken())
        .then((t) => {
          this.token = t ? String(t) : null;
          this.stale = false;
          return this.token;
        })
        .finally(() => { this._pending = null; });
    }
    return this._pending;
  }

  /**
   * fetch with these credentials: Authorization when there is a token, and
   * one renewal + retry when the server answers 401 and getToken can help.
   */
  async fetch(url, init = {}) {
    const token = await this.current();
    let res = await fetch(url, this._init(init, token));
    if (res.status === 401 && this.getToken) {
      await this.renew();
      res = await fetch(url, this._init(init, this.token));
    }
    return res;
  }

  _init(init, token) {
    const headers = { ...(init.headers || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    return { ...init, headers, credentials: this.credentials };
  }
}

/**
 * Publishes an event over the REST API. One Idempotency-Key per call (unless
 * given), so the call's own retries after a network error or 5xx can never
 * store the event twice.
 * @param {string} base front door origin ('' = this page's)
 * @param {Auth} auth
 * @param {string} channel concrete channel (no wildcards)
 * @param {*} data any JSON value
 * @param {{type?: string, idempotencyKey?: string}} [opts]
 */
export async function publish(base, auth, channel, data, opts = {}) {
  const key = opts.idempotencyKey || randomKey();
  const body = JSON.stringify(opts.type ? { type: opts.type, data } : { data });
  const url = `${base}/api/v1/channels/${encodeURIComponent(channel)}/events`;
  let lastErr;
  for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(backoff(attempt));
    let res;
    try {
      res = await auth.fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body,
      });
    } catch (err) {
      lastErr = err;
      continue;
    }
    if (res.ok) return res.json();
    lastErr = await httpError(res);
    if (res.status < 500) break;
  }
  throw lastErr;
}

// backoff is "equal jitter": half fixed, half random, doubling to a cap, so a
// replica's clients do not all come back at the same instant.
export function backoff(attempt) {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, attempt - 1));
  return exp / 2 + Math.random() * (exp / 2);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// randomKey works outside secure contexts too (crypto.randomUUID does not).
export function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function httpError(res) {
  let problem = null;
  try {
    problem = await res.json();
  } catch {
    // not problem+json (e.g. an nginx error page)
  }
  const err = new Error((problem && (problem.detail || problem.title)) || `HTTP ${res.status}`);
  err.status = res.status;
  err.problem = problem;
  return err;
}

export function addTo(map, key, fn) {
  if (!map.has(key)) map.set(key, new Set());
  map.get(key).add(fn);
  return () => map.get(key).delete(fn);
}

// emit calls every listener in set; a listener's bug must not stop delivery
// to the others, so it is rethrown outside.
export function emit(set, ...args) {
  if (!set) return;
  for (const fn of [...set]) {
    try {
      fn(...args);
    } catch (err) {
      setTimeout(() => { throw err; });
    }
  }
}

export function uniq(list) {
  return [...new Set(list.map(String))];
}

export function sameSet(a, b) {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

// cmpId compares two numeric ids exactly (they are 64-bit sequences).
export function cmpId(a, b) {
  try {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}
