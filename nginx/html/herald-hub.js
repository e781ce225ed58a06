// herald-hub.js — the per-tab side of herald.js's tab sharing: one Hub per
// tab and sharing key, which elects the leader tab and, in the leader, runs
// the one real connection for every tab.
//
// Election: the Web Locks API when the browser has it (secure contexts:
// https, localhost): every tab queues for one exclusive lock, the holder is
// the leader, and the browser hands the lock to the next tab the moment the
// holder's tab closes or crashes. Without it, over the BroadcastChannel: a
// tab that hears no leader claims the role, followers ping it and claim when
// it stops answering, and of two leaders the newer epoch (then the larger id)
// wins.
//
// Messages on the BroadcastChannel (`k` is the kind):
//   to the leader:  hello {client, channels, types, lastId} · want {client, req, channels}
//                   types {client, types} · bye {client} · who · ping
//   from it:        leader {hub, epoch} · ev {ev} · life {name, args} · roster {roster, lastId}
//                   welcome {to, state, connectionId, error} · ack {to, req, ok, error} · pong
//   fallback only:  resign {hub, lastId, successor}

import { cmpId, sameSet, uniq } from './herald-base.js';

// After a takeover, handles that did not say hello to the new leader within
// this long are gone (their tab crashed with the old leader).
const PRUNE_MS = 3000;
// How often a leader checks (through their locks) whether handles of other
// tabs still exist.
const SWEEP_MS = 10000;
// Fallback election timings.
const CLAIM_WAIT_MS = 400;
const PING_MS = 2000;
const PONG_WAIT_MS = 3000;

const hubs = new Map();

/**
 * The tab's hub for key, made on first use.
 * @param {string} key
 * @param {(opts: {channels: string[], types: string[], lastEventId: string|null}) => import('./herald.js').Herald} makeEngine
 *        makes the leader's own connection when this tab leads
 */
export function hubFor(key, makeEngine) {
  let hub = hubs.get(key);
  if (!hub) {
    hub = new Hub(key, makeEngine);
    hubs.set(key, hub);
  }
  return hub;
}

const locks = typeof navigator !== 'undefined' && navigator.locks && typeof navigator.locks.request === 'function'
  ? navigator.locks : null;

class Hub {
  constructor(key, makeEngine) {
    this.key = key;
    this.name = `herald:${key}`;
    this.id = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`;
    this.makeEngine = makeEngine;
    this.clients = new Map(); // this tab's handles
    this.isLeader = false;
    this.epoch = 0;
    this.lastId = null; // highest id any leader broadcast that this tab saw
    this.roster = new Map(); // client id → {channels, types, lastId, at}; every tab keeps a copy
    this.engine = null;
    this.serverChannels = [];
    this.waiting = new Set(); // clients to welcome once the engine is open
    this.queue = Promise.resolve(); // leader work on the union, one step at a time
    this.bc = new BroadcastChannel(this.name);
    this.bc.onmessage = (e) => this._onMessage(e.data);
    this.abort = null;
    this.release = null;
    this.timers = [];
    addEventListener('pagehide', () => this._leaving());
  }

  add(client) {
    if (this.clients.size === 0) this._start();
    this.clients.set(client.id, client);
    // A handle given a lastEventId (a reload) resumes from there if this tab
    // starts the stream.
    if (client.lastEventId !== null && this.lastId === null) this.lastId = client.lastEventId;
    if (locks) {
      // Held for the handle's life, so a leader can tell a crashed tab's
      // handles from live ones (the lock is free once the tab is gone).
      locks.request(`${this.name}:c:${client.id}`, () => new Promise((r) => { client._unlock = r; }));
    }
    this.toLeader(client.hello());
  }

  remove(client) {
    if (!this.clients.delete(client.id)) return;
    if (client._unlock) client._unlock();
    // Over the channel in any case, so every tab's copy of the roster drops it.
    this.bc.postMessage({ k: 'bye', client: client.id });
    if (this.isLeader) {
      this.roster.delete(client.id);
      this.waiting.delete(client.id);
      if (this.clients.size > 0) this._enqueue(() => this._apply().catch(() => {}));
    }
    if (this.clients.size === 0) this._stop();
  }

  /** Sends a handle's message to the leader (directly when that is this tab). */
  toLeader(msg) {
    if (this.isLeader) queueMicrotask(() => this._fromClient(msg));
    else this.bc.postMessage(msg);
  }

  // ---- election ----

  _start() {
    if (locks) {
      this.abort = new AbortController();
      locks.request(this.name, { signal: this.abort.signal }, () => new Promise((release) => {
        this.release = release;
        this._lead(this.epoch + 1);
      })).catch(() => {}); // aborted: this tab stopped wanting to lead
      this.bc.postMessage({ k: 'who' });
      return;
    }
    this.bc.postMessage({ k: 'who' });
    this._claimSoon(CLAIM_WAIT_MS);
    this.timers.push(setInterval(() => this._ping(), PING_MS));
  }

  _stop() {
    this._resign();
    if (this.abort) this.abort.abort();
    this.abort = null;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.claimTimer);
  }

  _resign() {
    if (!this.isLeader) return;
    this.isLeader = false;
    if (this.engine) this.engine.close();
    this.engine = null;
    this.waiting.clear();
    for (const t of this.leadTimers || []) clearInterval(t);
    if (this.release) this.release();
    this.release = null;
    if (!locks) this._resignMsg();
  }

  _leaving() {
    for (const c of [...this.clients.values()]) this.bc.postMessage({ k: 'bye', client: c.id });
    if (!locks && this.isLeader) this._resignMsg();
  }

  // Fallback: name the tab of another handle as the next leader, so the
  // followers do not all claim at once.
  _resignMsg() {
    let successor = null;
    for (const r of this.roster.values()) {
      if (r.hub && r.hub !== this.id) {
        successor = r.hub;
        break;
      }
    }
    this.bc.postMessage({ k: 'resign', hub: this.id, lastId: this.lastId, successor });
  }

  // Fallback: claim the lead unless a leader shows up within ms.
  _claimSoon(ms) {
    clearTimeout(this.claimTimer);
    this.claimTimer = setTimeout(() => {
      if (!this.isLeader && this.clients.size > 0 && !this._leaderAlive()) this._lead(this.epoch + 1);
    }, ms);
  }

  _leaderAlive() {
    return this.leaderHub && Date.now() - this.leaderSeen < PONG_WAIT_MS;
  }

  _ping() {
    if (this.isLeader || this.clients.size === 0) return;
    if (this.leaderHub && Date.now() - this.leaderSeen > PING_MS + PONG_WAIT_MS) {
      // Silent leader (crashed, or frozen): the tabs claim in the order of
      // their ids, half a second apart, so usually only the first does.
      const dead = this.leaderHub;
      this.leaderHub = null;
      const hubs = uniq([...this.roster.values()].map((r) => r.hub).filter((h) => h && h !== dead)).sort();
      const rank = Math.max(0, hubs.indexOf(this.id));
      this._claimSoon(rank * 500 + Math.random() * 100);
    }
    this.bc.postMessage({ k: 'ping' });
  }

  // ---- messages ----

  _onMessage(m) {
    if (!m || typeof m !== 'object') return;
    if (this.isLeader) {
      if (m.k === 'leader') return this._rival(m);
      return this._fromClient(m);
    }
    this._fromLeader(m);
  }

  _fromLeader(m) {
    if (m.k === 'hello' || m.k === 'want' || m.k === 'types' || m.k === 'bye') {
      this._rosterNote(m);
      return;
    }
    if (m.k === 'leader' || m.k === 'ev' || m.k === 'life' || m.k === 'roster' || m.k === 'pong' ||
        m.k === 'welcome' || m.k === 'ack') {
      this.leaderSeen = Date.now();
    }
    switch (m.k) {
      case 'leader':
        if (m.epoch < this.epoch) return;
        this.epoch = m.epoch;
        this.leaderHub = m.hub;
        clearTimeout(this.claimTimer);
        for (const c of this.clients.values()) c.newLeader();
        return;
      case 'resign':
        if (m.hub === this.leaderHub) {
          this.leaderHub = null;
          this._seen(m.lastId);
          if (m.successor === this.id) this._claimSoon(0);
          else this._claimSoon(m.successor ? PONG_WAIT_MS : Math.random() * 100);
        }
        return;
      case 'ev':
        this._seen(m.ev.id);
        for (const c of this.clients.values()) c.deliver(m.ev);
        return;
      case 'life':
        for (const c of this.clients.values()) c.life(m.name, m.args);
        return;
      case 'roster':
        this.roster = new Map(m.roster);
        this._seen(m.lastId);
        return;
      case 'welcome':
        if (this.clients.has(m.to)) this.clients.get(m.to).welcome(m);
        return;
      case 'ack':
        if (this.clients.has(m.to)) this.clients.get(m.to).ack(m);
        return;
    }
  }

  // Followers keep the roster current from the handles' own messages too, so
  // a new leader knows every channel even if the last roster was not sent.
  _rosterNote(m) {
    if (m.k === 'bye') this.roster.delete(m.client);
    else if (m.k === 'hello') this.roster.set(m.client, { channels: m.channels, types: m.types, hub: m.hub, at: Date.now() });
  }

  _seen(id) {
    if (id && (this.lastId === null || cmpId(id, this.lastId) > 0)) this.lastId = String(id);
  }

  _out(msg) {
    this.bc.postMessage(msg);
    this._fromLeader(msg);
  }

  // ---- the leader ----

  _lead(epoch) {
    this.isLeader = true;
    this.epoch = epoch;
    this.leaderHub = this.id;
    const since = Date.now();
    for (const c of this.clients.values()) {
      const h = c.hello();
      this.roster.set(c.id, { channels: h.channels, types: h.types, hub: this.id, at: since });
    }
    // The union of everyone's channels, from the roster this tab kept, and
    // the last id any tab saw: the new stream replays what the old leader
    // had not passed on yet.
    const engine = this.makeEngine({ channels: this._union(), types: [...this._types()], lastEventId: this.lastId });
    this.engine = engine;
    engine.on('*', (ev) => {
      this._seen(ev.id);
      this._out({ k: 'ev', ev });
    });
    for (const name of ['state', 'subscribed', 'gap', 'resumed', 'expired', 'error']) {
      engine.on(name, (...args) => this._out({ k: 'life', name, args: args.map(cloneable) }));
    }
    engine.on('connected', (c) => {
      this.serverChannels = c.channels;
      this._out({ k: 'life', name: 'connected', args: [cloneable(c)] });
      this._enqueue(() => this._welcomeWaiting());
    });
    // Every handle, this tab's too, answers with a hello and is welcomed
    // once the stream carries its channels.
    this._out({ k: 'leader', hub: this.id, epoch });
    this._broadcastRoster();
    this.leadTimers = [
      setTimeout(() => this._enqueue(() => this._prune(since)), PRUNE_MS),
      setInterval(() => this._sweep(), SWEEP_MS),
    ];
  }

  // Fallback: another tab also leads. The newer epoch (then the larger id)
  // keeps the lead; the other steps down and follows it.
  _rival(m) {
    if (m.hub === this.id) return;
    if (m.epoch > this.epoch || (m.epoch === this.epoch && m.hub > this.id)) {
      this._resign();
      this._fromLeader(m);
    } else {
      this._out({ k: 'leader', hub: this.id, epoch: this.epoch });
    }
  }

  _fromClient(m) {
    if (!this.isLeader) return;
    switch (m.k) {
      case 'who':
      case 'ping':
        this.bc.postMessage(m.k === 'who' ? { k: 'leader', hub: this.id, epoch: this.epoch } : { k: 'pong' });
        return;
      case 'hello':
        this.roster.set(m.client, { channels: m.channels, types: m.types, hub: m.hub, at: Date.now() });
        this._addTypes(m.types);
        this.waiting.add(m.client);
        this._enqueue(async () => {
          try {
            await this._apply();
          } catch (err) {
            // The server refused a set with this handle's channels (e.g. one
            // outside the rights): leave them out rather than stall every
            // tab's changes, and tell the handle.
            if (err.status >= 400 && err.status < 500 && err.status !== 404 && this.roster.has(m.client)) {
              this.roster.get(m.client).channels = [];
              this.waiting.delete(m.client);
              this._out({ k: 'welcome', to: m.client, error: cloneable(err) });
              await this._apply().catch(() => {});
            }
          }
          await this._welcomeWaiting();
        });
        return;
      case 'types':
        if (this.roster.has(m.client)) this.roster.get(m.client).types = m.types;
        this._addTypes(m.types);
        return;
      case 'want':
        this._enqueue(() => this._want(m));
        return;
      case 'bye':
        if (!this.roster.delete(m.client)) return;
        this.waiting.delete(m.client);
        this._enqueue(() => this._apply().catch(() => {}));
    }
  }

  _enqueue(fn) {
    this.queue = this.queue.then(() => (this.isLeader ? fn() : undefined)).catch(() => {});
    return this.queue;
  }

  async _want(m) {
    const entry = this.roster.get(m.client) || { types: [], at: Date.now() };
    const prev = entry.channels;
    this.roster.set(m.client, { ...entry, channels: m.channels });
    try {
      await this._apply();
      this._out({ k: 'ack', to: m.client, req: m.req, ok: true });
    } catch (err) {
      if (prev) this.roster.set(m.client, { ...entry, channels: prev });
      else this.roster.delete(m.client);
      this._out({ k: 'ack', to: m.client, req: m.req, ok: false, error: cloneable(err) });
    }
  }

  // _apply moves the stream to the roster's union (control API), unless it
  // is on it already.
  async _apply() {
    const union = this._union();
    this._broadcastRoster();
    if (!this.engine) return;
    if (this.engine.state === 'open' && sameSet(union, this.serverChannels)) return;
    const applied = await this.engine.setChannels(union);
    if (this.engine && this.engine.state === 'open') this.serverChannels = applied;
  }

  async _welcomeWaiting() {
    const e = this.engine;
    if (!e || e.state !== 'open' || this.waiting.size === 0) return;
    if (!sameSet(this._union(), this.serverChannels)) await this._apply().catch(() => {});
    if (!this.engine || this.engine.state !== 'open') return;
    for (const id of this.waiting) {
      this._out({ k: 'welcome', to: id, state: 'open', connectionId: this.engine.connectionId });
    }
    this.waiting.clear();
  }

  _prune(since) {
    let gone = false;
    for (const [id, r] of this.roster) {
      if (r.at < since && !this.clients.has(id)) {
        this.roster.delete(id);
        gone = true;
      }
    }
    return gone ? this._apply().catch(() => {}) : undefined;
  }

  // A handle's lock is free only when its tab is gone without a bye (crash).
  _sweep() {
    if (!locks) return;
    for (const id of this.roster.keys()) {
      if (this.clients.has(id)) continue;
      locks.request(`${this.name}:c:${id}`, { ifAvailable: true }, (lock) => {
        if (lock && this.roster.delete(id)) this._enqueue(() => this._apply().catch(() => {}));
      });
    }
  }

  _addTypes(types) {
    if (!this.engine) return;
    for (const t of types || []) {
      if (!this.engine._esTypes.has(t)) this.engine.on(`event:${t}`, () => {});
    }
  }

  _union() {
    const all = [];
    for (const r of this.roster.values()) all.push(...(r.channels || []));
    return uniq(all);
  }

  _types() {
    const all = new Set();
    for (const r of this.roster.values()) for (const t of r.types || []) all.add(t);
    return all;
  }

  _broadcastRoster() {
    this.bc.postMessage({ k: 'roster', roster: [...this.roster], lastId: this.lastId });
  }
}

// cloneable makes a value safe for postMessage: Errors lose their extra
// fields in a structured clone, so they travel as plain objects.
function cloneable(v) {
  if (v instanceof Error) return { message: v.message, status: v.status, problem: v.problem };
  return v;
}
