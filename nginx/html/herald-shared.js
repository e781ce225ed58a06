// herald-shared.js — one EventSource per browser instead of one per tab.
//
// HTTP/1.1 allows six connections per host; an EventSource per tab uses one
// each, so six tabs of an app stall every fetch. Here the tabs of an origin
// (per front door, credentials mode and auth mode) elect one leader tab
// (herald-hub.js). The leader holds the only EventSource, subscribed to the
// union of every tab's channels, and re-broadcasts each event — id included —
// over a BroadcastChannel; each tab's handle (a SharedHerald) keeps its own
// channels, listeners and last id, and drops what is not for it. When the
// leader tab closes or crashes, another tab takes over and resumes from the
// last id any tab saw, so nothing is lost, and ids at or below a handle's
// last one are dropped, so nothing is seen twice.

import { Auth, LIFECYCLE, addTo, cmpId, emit, publish, uniq } from './herald-base.js';
import { hubFor } from './herald-hub.js';

/**
 * A handle on the browser's shared stream. Same methods, getters and
 * listeners as Herald (see herald.js); `leader` tells whether this tab is the
 * one holding the EventSource.
 */
export class SharedHerald {
  /**
   * @param {string} baseUrl
   * @param {import('./herald.js').ConnectOptions} opts
   * @param {(opts: object) => import('./herald.js').Herald} direct makes the leader's own connection
   */
  constructor(baseUrl, opts, direct) {
    this._base = String(baseUrl || '').replace(/\/+$/, '');
    this._channels = uniq(opts.channels || []);
    this._types = new Set(opts.types || []);
    this._lastId = opts.lastEventId != null && opts.lastEventId !== '' ? String(opts.lastEventId) : null;
    this._auth = new Auth(opts);
    this._life = new Map();
    this._byType = new Map();
    this._all = new Set();
    this._state = 'connecting';
    this._connId = null;
    this._welcomed = false; // the leader applied this handle's channels
    this._connects = 0;
    this._reqs = new Map(); // request number → {resolve, reject, channels, prev}
    this._seq = 0;
    this._closed = false;
    this.id = randomId();
    const key = JSON.stringify([new URL(this._base || '/', location.href).href, !!opts.withCredentials,
      opts.token || opts.getToken ? 'token' : 'cookie']);
    this._hub = hubFor(key, (stream) => direct({ ...stream, auth: this._auth, withCredentials: opts.withCredentials }));
    this._hub.add(this);
  }

  get connectionId() { return this._connId; }
  get channels() { return this._channels.slice(); }
  get lastEventId() { return this._lastId; }
  get state() { return this._state; }
  /** @returns {boolean} this tab holds the browser's EventSource */
  get leader() { return this._hub.isLeader; }

  on(name, fn) {
    if (name === '*') {
      this._all.add(fn);
      return () => this._all.delete(fn);
    }
    if (LIFECYCLE.has(name)) return addTo(this._life, name, fn);
    const type = name.startsWith('event:') ? name.slice(6) : name;
    if (!this._types.has(type)) {
      this._types.add(type);
      this._hub.toLeader({ k: 'types', client: this.id, types: [...this._types] });
    }
    return addTo(this._byType, type, fn);
  }

  subscribe(channel) {
    return this.setChannels([...this._channels, channel]);
  }

  unsubscribe(channel) {
    return this.setChannels(this._channels.filter((c) => c !== channel));
  }

  /**
   * Replaces this tab's channels; the leader moves its stream to the new
   * union through the control API. Resolves with this tab's set once the
   * server applied it; rejects (and restores the previous set) when the
   * server refuses it.
   */
  setChannels(channels) {
    if (this._closed) return Promise.reject(new Error('closed'));
    const prev = this._channels;
    this._channels = uniq(channels);
    const req = ++this._seq;
    return new Promise((resolve, reject) => {
      this._reqs.set(req, { resolve, reject, channels: this._channels, prev });
      this._hub.toLeader({ k: 'want', client: this.id, req, channels: this._channels });
    });
  }

  /** Publishes with this tab's own credentials (a fetch; the leader is not involved). */
  publish(channel, data, opts = {}) {
    return publish(this._base, this._auth, channel, data, opts);
  }

  close() {
    if (this._closed) return;
    this._closed = true;
    for (const r of this._reqs.values()) r.reject(new Error('closed'));
    this._reqs.clear();
    this._hub.remove(this);
    this._connId = null;
    this._setState('closed');
  }

  // ---- from the hub ----

  /** What the leader needs to know of this handle. */
  hello() {
    return { k: 'hello', client: this.id, hub: this._hub.id, channels: this._channels, types: [...this._types], lastId: this._lastId };
  }

  /** A new leader was elected: tell it who we are and repeat unanswered requests. */
  newLeader() {
    this._welcomed = false;
    this._setState('connecting');
    this._hub.toLeader(this.hello());
    for (const [req, r] of this._reqs) this._hub.toLeader({ k: 'want', client: this.id, req, channels: r.channels });
  }

  /** The leader applied this handle's channels (hello answered), or refused them (error). */
  welcome({ state, connectionId, error }) {
    if (error) emit(this._life.get('error'), toError(error));
    if (this._welcomed || state !== 'open') return;
    this._welcomed = true;
    this._connected(connectionId);
  }

  ack({ req, ok, error }) {
    const r = this._reqs.get(req);
    if (!r) return;
    this._reqs.delete(req);
    if (ok) {
      r.resolve(r.channels.slice());
      return;
    }
    const err = toError(error);
    if (err.status >= 400 && err.status < 500 && err.status !== 404 && this._channels === r.channels) {
      this._channels = r.prev;
      this._hub.toLeader(this.hello());
    }
    r.reject(err);
  }

  /** An event from the leader's stream: keep it if it is on our channels and new. */
  deliver(ev) {
    if (this._closed || !this._channels.some((p) => matches(p, ev.channel))) return;
    if (ev.id) {
      if (this._lastId !== null && cmpId(ev.id, this._lastId) <= 0) return;
      this._lastId = ev.id;
    }
    if (ev.type !== 'message' && !this._types.has(ev.type) && !this._byType.has(ev.type)) return;
    emit(this._byType.get(ev.type), ev);
    emit(this._all, ev);
  }

  /** A lifecycle notification of the leader's connection. */
  life(name, args) {
    if (this._closed) return;
    switch (name) {
      case 'state':
        if (args[0] !== 'open') this._setState('connecting');
        else if (this._welcomed) this._setState('open');
        return;
      case 'connected':
        if (this._welcomed && args[0].connectionId !== this._connId) this._connected(args[0].connectionId);
        return;
      case 'subscribed':
        emit(this._life.get('subscribed'), { connectionId: this._connId, channels: this._mine(args[0].channels) });
        return;
      case 'error':
        emit(this._life.get('error'), toError(args[0]));
        return;
      default: // gap, resumed, expired
        emit(this._life.get(name), ...args);
    }
  }

  _connected(connectionId) {
    this._connId = connectionId;
    const reconnect = this._connects++ > 0;
    this._setState('open');
    emit(this._life.get('connected'), { connectionId, channels: this._channels.slice(), reconnect });
  }

  _mine(serverChannels) {
    const s = new Set(serverChannels || []);
    return this._channels.filter((c) => s.has(c));
  }

  _setState(s) {
    if (this._state === s) return;
    this._state = s;
    emit(this._life.get('state'), s, { connectionId: this._connId });
  }
}

/**
 * matches reports whether a channel name matches a subscription pattern,
 * with NATS's rules as the stream applies them: `*` is one token, a final
 * `>` one or more.
 */
export function matches(pattern, name) {
  const p = pattern.split('.');
  const n = String(name).split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return i === p.length - 1 && n.length > i;
    if (i >= n.length || (p[i] !== '*' && p[i] !== n[i])) return false;
  }
  return p.length === n.length;
}

/** toError turns a cloned {message, status, problem} back into an Error. */
function toError(e) {
  const err = new Error((e && e.message) || 'error');
  if (e && e.status) err.status = e.status;
  if (e && e.problem) err.problem = e.problem;
  return err;
}

function randomId() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
