// herald.js — the browser client of Herald. A small ES module with no build
// step and no dependencies:
//
//   import * as herald from '/herald.js';
//   const h = herald.connect('', { channels: ['chat.lobby', 'ticker'] });
//   h.on('*', (ev) => console.log(ev.id, ev.channel, ev.type, ev.data));
//   h.on('state', (s) => console.log('state', s));
//   await h.setChannels(['chat.dev', 'ticker']);     // same EventSource, no reconnect
//   await h.publish('chat.dev', { text: 'hi' }, { type: 'chat' });
//
// One EventSource per handle. Channel changes go through the connection
// control API, so the page keeps its single HTTP connection. The browser's own
// reconnect reuses the URL the EventSource was created with; once the channels
// have changed that URL is stale, so herald.js then reconnects by itself with
// the current channels and last_event_id (also when the EventSource has given
// up for good after a non-200). Events are de-duplicated by id, so a resume
// never shows an event twice.

/** Names that `on()` treats as lifecycle notifications rather than event types. */
const LIFECYCLE = new Set(['state', 'connected', 'subscribed', 'gap', 'resumed', 'error']);

/** Frames the stream service sends that are not publisher events. */
const SYS_CONNECTED = 'herald.connected';
const SYS_SUBSCRIBED = 'herald.subscribed';
const SYS_GAP = 'herald.gap';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
// A resume's replay arrives as a burst; it is over once the stream has been
// quiet this long (or after RESUME_MAX_MS if it never goes quiet).
const RESUME_QUIET_MS = 300;
const RESUME_MAX_MS = 3000;
const PUBLISH_ATTEMPTS = 3;

/**
 * An event as handed to listeners.
 * @typedef {Object} HeraldEvent
 * @property {string} id       JetStream sequence, numeric string (global, monotonic)
 * @property {string} channel  concrete channel the event was published to
 * @property {string} type     event type ("message" when the publisher gave none)
 * @property {*}      data     the published JSON value
 * @property {string} time     RFC 3339 time the api accepted it
 */

/**
 * Options of connect().
 * @typedef {Object} ConnectOptions
 * @property {string[]} channels        channels or patterns (`chat.*`, `sports.>`) to listen to
 * @property {string} [lastEventId]     resume after this id (replays what was missed)
 * @property {string[]} [types]         extra event types to receive on '*' without an own listener
 * @property {boolean} [withCredentials] send cookies cross-origin (EventSource and fetch)
 */

/**
 * Opens a Herald stream and returns its handle.
 * @param {string} baseUrl  origin of the Herald front door, '' for the page's own origin
 * @param {ConnectOptions} opts
 * @returns {Herald}
 */
export function connect(baseUrl, opts) {
  return new Herald(baseUrl, opts);
}

/**
 * A live subscription: one EventSource, reconnected and resumed as needed.
 *
 * Listeners (`on(name, fn)`):
 * - `'*'` every event; `'message'` events published without a type; any other
 *   name: events of that type (`'event:<type>'` also works, and is the way to
 *   reach a type that collides with a lifecycle name below). fn(HeraldEvent).
 *   An EventSource only reports named types it listens to, so '*' sees
 *   "message" events plus every type that has a listener or is in opts.types.
 * - `'state'` fn(state, detail): 'connecting' | 'open' | 'closed'. 'open' once
 *   the server confirmed the connection (herald.connected); 'closed' only
 *   after close(). detail: {attempt, connectionId}.
 * - `'connected'` fn({connectionId, channels, reconnect}) on every (re)connect.
 * - `'subscribed'` fn({connectionId, channels}) after a channel change took effect.
 * - `'gap'` fn({after, firstAvailable}): the resume point was older than what
 *   the server retains; events between them are lost.
 * - `'resumed'` fn({missed, after}) after a reconnect (or a first connect
 *   given opts.lastEventId): `missed` is how many
 *   events arrived in the burst right after reconnecting (until the stream was
 *   quiet for 300 ms, at most 3 s) — the replay of what was missed; a live
 *   event that happens to land in that burst is counted too.
 * - `'error'` fn(Error) for a failed background channel sync.
 */
export class Herald {
  /**
   * @param {string} baseUrl
   * @param {ConnectOptions} opts
   */
  constructor(baseUrl, opts = {}) {
    this._base = String(baseUrl || '').replace(/\/+$/, '');
    this._channels = uniq(opts.channels || []);
    this._lastId = opts.lastEventId != null && opts.lastEventId !== '' ? String(opts.lastEventId) : null;
    this._cred = !!opts.withCredentials;
    this._life = new Map(); // lifecycle name → Set(fn)
    this._byType = new Map(); // event type → Set(fn)
    this._all = new Set(); // '*'
    this._esTypes = new Set(['message', SYS_CONNECTED, SYS_SUBSCRIBED, SYS_GAP]);
    for (const t of opts.types || []) this._esTypes.add(t);
    this._es = null;
    this._urlChannels = [];
    this._connId = null;
    this._state = 'connecting';
    this._attempt = 0;
    this._timer = null;
    this._connects = 0;
    this._resume = null;
    this._ctl = Promise.resolve();
    this._ctlPending = 0;
    this._closed = false;
    this._open();
  }

  /** @returns {string|null} id the server gave this connection (null until open) */
  get connectionId() { return this._connId; }
  /** @returns {string[]} the channels this handle wants (applied or about to be) */
  get channels() { return this._channels.slice(); }
  /** @returns {string|null} id of the last event delivered; the resume point */
  get lastEventId() { return this._lastId; }
  /** @returns {'connecting'|'open'|'closed'} */
  get state() { return this._state; }

  /**
   * Adds a listener (see the class doc for names). Returns a function that removes it.
   * @param {string} name
   * @param {Function} fn
   * @returns {() => void}
   */
  on(name, fn) {
    if (name === '*') {
      this._all.add(fn);
      return () => this._all.delete(fn);
    }
    if (LIFECYCLE.has(name)) return addTo(this._life, name, fn);
    const type = name.startsWith('event:') ? name.slice(6) : name;
    if (!this._esTypes.has(type)) {
      this._esTypes.add(type);
      if (this._es) this._listen(this._es, type);
    }
    return addTo(this._byType, type, fn);
  }

  /**
   * Adds a channel without reconnecting.
   * @param {string} channel
   * @returns {Promise<string[]>} the channel set the server applied
   */
  subscribe(channel) {
    return this.setChannels([...this._channels, channel]);
  }

  /**
   * Removes a channel without reconnecting.
   * @param {string} channel
   * @returns {Promise<string[]>}
   */
  unsubscribe(channel) {
    return this.setChannels(this._channels.filter((c) => c !== channel));
  }

  /**
   * Replaces the channel set. While open this uses the connection control API
   * (PUT /api/v1/connections/{id}/channels) on the same EventSource; otherwise
   * it only updates the set the next connect uses. Rejects (and restores the
   * previous set) if the server refuses the set, e.g. a bad name.
   * @param {string[]} channels
   * @returns {Promise<string[]>}
   */
  setChannels(channels) {
    const prev = this._channels;
    this._channels = uniq(channels);
    return this._sync().catch((err) => {
      if (err.status >= 400 && err.status < 500 && err.status !== 404) {
        this._channels = prev;
      }
      throw err;
    });
  }

  /**
   * Publishes an event over the REST API. One Idempotency-Key per call (unless
   * given), so the call's own retries after a network error or 5xx can never
   * store the event twice.
   * @param {string} channel concrete channel (no wildcards)
   * @param {*} data any JSON value
   * @param {{type?: string, idempotencyKey?: string}} [opts]
   * @returns {Promise<{id: string, channel: string, type: string, time: string}>}
   */
  async publish(channel, data, opts = {}) {
    const key = opts.idempotencyKey || randomKey();
    const body = JSON.stringify(opts.type ? { type: opts.type, data } : { data });
    const url = `${this._base}/api/v1/channels/${encodeURIComponent(channel)}/events`;
    let lastErr;
    for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(backoff(attempt));
      let res;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
          body,
          credentials: this._cred ? 'include' : 'same-origin',
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

  /** Closes the stream for good; no more reconnects or events. */
  close() {
    this._closed = true;
    clearTimeout(this._timer);
    this._endResume();
    if (this._es) this._es.close();
    this._es = null;
    this._connId = null;
    this._setState('closed');
  }

  // ---- connection lifecycle ----

  _streamUrl() {
    const q = new URLSearchParams();
    for (const c of this._channels) q.append('channel', c);
    if (this._lastId !== null) q.set('last_event_id', this._lastId);
    return `${this._base}/stream?${q}`;
  }

  _open() {
    if (this._closed) return;
    this._setState('connecting');
    this._urlChannels = this._channels.slice();
    const es = new EventSource(this._streamUrl(), { withCredentials: this._cred });
    this._es = es;
    for (const t of this._esTypes) this._listen(es, t);
    es.onerror = () => this._onError(es);
  }

  _listen(es, type) {
    es.addEventListener(type, (e) => this._onFrame(es, type, e));
  }

  _onError(es) {
    if (es !== this._es || this._closed) return;
    this._connId = null;
    this._endResume();
    // The browser retries by itself with the same URL and a Last-Event-ID
    // header. That is right unless the URL is stale or it has given up.
    const stale = !sameSet(this._urlChannels, this._channels);
    if (es.readyState === EventSource.CLOSED || stale) {
      es.close();
      this._es = null;
      this._schedule();
    }
    this._setState('connecting');
  }

  _schedule() {
    clearTimeout(this._timer);
    this._attempt++;
    this._timer = setTimeout(() => this._open(), backoff(this._attempt));
  }

  _onFrame(es, type, e) {
    if (es !== this._es || this._closed) return;
    let payload;
    try {
      payload = JSON.parse(e.data);
    } catch {
      return; // not ours: ignore rather than break the stream
    }
    switch (type) {
      case SYS_CONNECTED: return this._onConnected(payload);
      case SYS_SUBSCRIBED:
        this._emit(this._life.get('subscribed'), { connectionId: this._connId, channels: payload.channels || [] });
        return;
      case SYS_GAP:
        this._emit(this._life.get('gap'), { after: String(payload.after), firstAvailable: String(payload.first_available) });
        return;
    }
    const id = e.lastEventId;
    if (id) {
      if (this._lastId !== null && cmpId(id, this._lastId) <= 0) return; // duplicate
      this._lastId = id;
    }
    const ev = {
      id,
      channel: payload.channel,
      type: payload.type || type,
      data: payload.data,
      time: payload.time,
    };
    if (this._resume) this._countResume();
    this._emit(this._byType.get(ev.type), ev);
    this._emit(this._all, ev);
  }

  _onConnected(p) {
    this._connId = p.connection_id;
    this._attempt = 0;
    const reconnect = this._connects++ > 0;
    // After the browser's own reconnect the URL (and so the server's set) may
    // predate a local change made while disconnected; bring it up to date.
    const serverSet = p.channels || this._urlChannels;
    this._setState('open');
    this._emit(this._life.get('connected'), { connectionId: this._connId, channels: serverSet.slice(), reconnect });
    // A first connect given a lastEventId is a resume too (e.g. after a reload).
    if (reconnect || this._lastId !== null) this._startResume();
    if (!sameSet(serverSet, this._channels) && this._ctlPending === 0) {
      this._sync().catch((err) => this._emit(this._life.get('error'), err));
    }
  }

  _startResume() {
    this._endResume();
    const r = { after: this._lastId, missed: 0, quiet: null, max: null };
    const done = () => {
      if (this._resume !== r) return;
      this._endResume();
      this._emit(this._life.get('resumed'), { missed: r.missed, after: r.after });
    };
    r.done = done;
    r.quiet = setTimeout(done, RESUME_QUIET_MS);
    r.max = setTimeout(done, RESUME_MAX_MS);
    this._resume = r;
  }

  _countResume() {
    const r = this._resume;
    r.missed++;
    clearTimeout(r.quiet);
    r.quiet = setTimeout(r.done, RESUME_QUIET_MS);
  }

  _endResume() {
    if (!this._resume) return;
    clearTimeout(this._resume.quiet);
    clearTimeout(this._resume.max);
    this._resume = null;
  }

  // ---- channel control ----

  // _sync queues one PUT of the current wanted set; calls are serialised so
  // the last set wins and a response never overtakes a later request.
  _sync() {
    this._ctlPending++;
    const run = this._ctl.then(() => this._put());
    this._ctl = run.catch(() => {}).finally(() => { this._ctlPending--; });
    return run;
  }

  async _put() {
    const want = this._channels.slice();
    const id = this._connId;
    if (!id || this._state !== 'open') {
      // Not open: the next connect applies the set. If the browser is busy
      // reconnecting with the old URL, restart it with the new one now, so
      // the new channels' missed events are replayed too.
      if (this._es && !this._closed && !sameSet(this._urlChannels, want)) {
        this._es.close();
        this._open();
      }
      return want;
    }
    const res = await fetch(`${this._base}/api/v1/connections/${encodeURIComponent(id)}/channels`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ channels: want }),
      credentials: this._cred ? 'include' : 'same-origin',
    });
    if (res.status === 404) {
      // The connection is gone (its replica died): reconnect with the new set.
      if (this._connId === id && this._es) {
        this._es.close();
        this._es = null;
        this._connId = null;
        this._setState('connecting');
        this._schedule();
      }
      return want;
    }
    if (!res.ok) throw await httpError(res);
    const body = await res.json();
    return Array.isArray(body.channels) ? body.channels : want;
  }

  // ---- plumbing ----

  _setState(s) {
    if (this._state === s) return;
    this._state = s;
    this._emit(this._life.get('state'), s, { attempt: this._attempt, connectionId: this._connId });
  }

  _emit(set, ...args) {
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        // A listener's bug must not stop delivery to the others.
        setTimeout(() => { throw err; });
      }
    }
  }
}

function addTo(map, key, fn) {
  if (!map.has(key)) map.set(key, new Set());
  map.get(key).add(fn);
  return () => map.get(key).delete(fn);
}

function uniq(list) {
  return [...new Set(list.map(String))];
}

function sameSet(a, b) {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

// cmpId compares two numeric ids exactly (they are 64-bit sequences).
function cmpId(a, b) {
  try {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}

// backoff is "equal jitter": half fixed, half random, doubling to a cap, so a
// replica's clients do not all come back at the same instant.
function backoff(attempt) {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, attempt - 1));
  return exp / 2 + Math.random() * (exp / 2);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// randomKey works outside secure contexts too (crypto.randomUUID does not).
function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

async function httpError(res) {
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
