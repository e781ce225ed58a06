// The front-door browser tests drive this page through window.probe. It uses
// only what a browser gives (fetch, EventSource) so that what it sees is what
// nginx and the services really send, and it records every step with
// performance.now() so the Go test can check order without wall clocks.
'use strict';

window.probe = {
  base: '',
  es: null,
  opens: 0,
  errors: 0,
  connected: [],
  events: [], // {id, data, at}

  // open subscribes to channel on the stream at base (a URL origin).
  open(base, channel, withCredentials) {
    this.base = base;
    const url = base + '/stream?channel=' + encodeURIComponent(channel);
    const es = new EventSource(url, { withCredentials: !!withCredentials });
    es.onopen = () => { this.opens++; };
    es.onerror = () => { this.errors++; };
    es.addEventListener('herald.connected', (e) => { this.connected.push(JSON.parse(e.data)); });
    es.onmessage = (e) => {
      this.events.push({ id: e.lastEventId, data: JSON.parse(e.data).data, at: performance.now() });
    };
    this.es = es;
  },

  // publish POSTs data to channel; a failed fetch (CORS) resolves to {error}.
  async publish(channel, data) {
    const at = performance.now();
    try {
      const r = await fetch(this.base + '/api/v1/channels/' + encodeURIComponent(channel) + '/events', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ data }),
        credentials: 'include',
      });
      const body = await r.json();
      return { status: r.status, id: body.id || '', at };
    } catch (err) {
      return { status: 0, id: '', at, error: String(err) };
    }
  },

  // until resolves when cond() holds, checking every 10 ms, or rejects after ms.
  until(cond, ms) {
    return new Promise((resolve, reject) => {
      const deadline = performance.now() + ms;
      const check = () => {
        if (cond()) return resolve();
        if (performance.now() > deadline) return reject(new Error('timed out: ' + this.state()));
        setTimeout(check, 10);
      };
      check();
    });
  },

  // paced publishes n events, each only after the previous one has arrived
  // and gap ms have passed, and returns what it published.
  async paced(channel, n, gap) {
    const published = [];
    for (let k = 0; k < n; k++) {
      published.push(await this.publish(channel, { k }));
      await this.until(() => this.events.length > k, 5000);
      if (k < n - 1) await new Promise((r) => setTimeout(r, gap));
    }
    return published;
  },

  state() {
    return JSON.stringify({
      opens: this.opens, errors: this.errors,
      readyState: this.es ? this.es.readyState : null,
      connected: this.connected, events: this.events,
    });
  },
};
