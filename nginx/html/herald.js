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
// One EventSource per browser: by default the tabs of an origin elect a
// leader (herald-shared.js) whose handle holds the only EventSource, and
// every other tab's handle is fed over a BroadcastChannel; `{shared: false}`
// gives a handle its own EventSource (the Herald class below). Channel changes
// go through the connection control API, so the page keeps its single HTTP
// connection. The browser's own
// reconnect reuses the URL the EventSource was created with; once the channels
// have changed that URL is stale, so herald.js then reconnects by itself with
// the current channels and last_event_id (also when the EventSource has given
// up for good after a non-200). Events are de-duplicated by id, so a resume
// never shows an event twice.
//
// Auth: cookie by default; `token` or `getToken` → `access_token=` on the
// stream URL and `Authorization: Bearer` on publish and channel changes. When
// the server ends a stream with `herald.expired` (the token's exp), or a
// connect fails before it opened, herald.js asks getToken() again and
// reconnects with last_event_id.

import { Auth, LIFECYCLE, addTo, backoff, cmpId, emit, httpError, publish, sameSet, uniq } from './herald-base.js';
import { SharedHerald } from './herald-shared.js';

/** Frames the stream service sends that are not publisher events. */
const SYS_CONNECTED = 'herald.connected';
const SYS_SUBSCRIBED = 'herald.subscribed';
const SYS_GAP = 'herald.gap';
const SYS_EXPIRED = 'herald.expired';

// A resume's replay arrives as a burst; it is over once the stream has been
// quiet this long (or after RESUME_MAX_MS if it never goes quiet).
const RESUME_QUIET_MS = 300;
const RESUME_MAX_MS = 3000;

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
 * @property {string} [token]           a JWT: access_token= on the stream, Authorization: Bearer on fetches
 * @property {() => (string|null|Promise<string|null>)} [getToken] a fresh token (asked first, after
 *           herald.expired, after a refused connect and after a 401); null → use the cookie
 * @property {boolean} [shared]         one EventSource for all tabs of this origin (default true)
 */

/**
 * Opens a Herald stream and returns its handle: shared with the other tabs
 * of this origin (a SharedHerald, same methods and listeners as Herald)
 * unless opts.shared is false or the browser has no BroadcastChannel.
 * @param {string} baseUrl  origin of the Herald front door, '' for the page's own origin
 * @param {ConnectOptions} opts
 * @returns {Herald|SharedHerald}
 */
export function connect(baseUrl, opts = {}) {
  if (opts.shared !== false && typeof BroadcastChannel === 'function') {
    return new SharedHerald(baseUrl, opts, (o) => new Herald(baseUrl, { ...o, shared: false }));
  }
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
 * - `'expired'` fn({reason}) the server ended the stream because the token
 *   expired; herald.js renews it (getToken) and resumes by itself.
 * - `'error'` fn(Error) for a failed background channel sync or getToken.
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
    // A shared handle lends its Auth to the leader's connection it makes, so
    // the tab's publishes and its stream renew one token, not two.
    this._auth = opts.auth instanceof Auth ? opts.auth : new Auth(opts);
    this._life = new Map(); // lifecycle name → Set(fn)
    this._byType = new Map(); // event type → Set(fn)
    this._all = new Set(); // '*'
    this._esTypes = new Set(['message', SYS_CONNECTED, SYS_SUBSCRIBED, SYS_GAP, SYS_EXPIRED]);
    for (const t of opts.types || []) this._esTypes.add(t);
    this._es = null;
    this._esOpen = false; // herald.connected seen on this._es
    this._opening = false; // waiting for getToken before the next EventSource
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
  publish(channel, data, opts = {}) {
    return publish(this._base, this._auth, channel, data, opts);
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
    if (this._auth.token) q.set('access_token', this._auth.token);
    return `${this._base}/stream?${q}`;
  }

  _open() {
    if (this._closed || this._opening) return;
    this._setState('connecting');
    if (this._auth.stale) {
      // Ask getToken first; the EventSource is made once it answered.
      this._opening = true;
      this._auth.renew().then(
        () => { this._opening = false; this._open(); },
        (err) => {
          this._opening = false;
          this._emit(this._life.get('error'), err);
          if (!this._closed) this._schedule();
        });
      return;
    }
    this._urlChannels = this._channels.slice();
    const es = new EventSource(this._streamUrl(), { withCredentials: this._cred });
    this._es = es;
    this._esOpen = false;
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
    // Until the next herald.connected this EventSource is not open; a
    // refusal of the browser's own retry counts as refused before open.
    const wasOpen = this._esOpen;
    this._esOpen = false;
    if (es.readyState === EventSource.CLOSED || stale) {
      // Refused before it opened (401 for an expired or bad token looks
      // like any other non-200 to an EventSource): renew before retrying.
      if (!wasOpen) this._auth.invalidate();
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
      case SYS_EXPIRED: return this._onExpired(es, payload);
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

  // The server ends a stream at its token's exp. Its retry: would bring the
  // browser back with the same URL, whose access_token is the expired one, so
  // herald.js closes it, renews the token and resumes from the last id now.
  _onExpired(es, payload) {
    es.close();
    this._es = null;
    this._connId = null;
    this._endResume();
    this._auth.invalidate();
    this._emit(this._life.get('expired'), { reason: payload.reason || 'expired' });
    this._setState('connecting');
    if (this._auth.getToken) {
      this._open();
    } else {
      // A cookie the app renews by itself: come back after a short pause.
      this._schedule();
    }
  }

  _onConnected(p) {
    this._esOpen = true;
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
      // the new channels' missed events are replayed too. A first connect
      // with nothing to resume is left to open: a replay would bring nothing,
      // and _onConnected moves it to the new set in place (so tabs that join
      // a leader while its stream opens don't cost a second stream).
      const firstFresh = this._connects === 0 && this._attempt === 0 && this._lastId === null;
      if (this._es && !this._closed && !firstFresh && !sameSet(this._urlChannels, want)) {
        this._es.close();
        this._open();
      }
      return want;
    }
    const res = await this._auth.fetch(`${this._base}/api/v1/connections/${encodeURIComponent(id)}/channels`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ channels: want }),
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
    emit(set, ...args);
  }
}
