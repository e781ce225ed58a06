// app.js — the demo at /: a multi-room chat and a ticker on ONE EventSource
// for the whole browser (herald.js shares it between tabs). Switching rooms
// replaces the channels through herald.js (the connection control API); the
// EventSource stays open. Each message adds one list item (nothing is
// re-rendered), and what the page keeps is bounded, so it stays live at
// hundreds of messages a second.
import * as herald from '/herald.js';

const ROOMS = ['lobby', 'dev', 'random'];
const TICKER = 'ticker';
const MAX_MESSAGES = 200; // per room, in memory and on screen
const MAX_RECEIVED = 1000; // heraldDemo.received keeps the newest this many
const MAX_TICKS = 8;
const TICKER_LIMIT = 120; // a started ticker stops by itself after this many ticks
const HISTORY_PAGES = 10;
const MAX_HISTORY = 50;

const $ = (id) => document.getElementById(id);
const roomChannel = (room) => `chat.${room}`;

let room = ROOMS.includes(location.hash.slice(1)) ? location.hash.slice(1) : ROOMS[0];
/** room → Map(id → event), so switching back shows what was already seen. */
const messages = new Map(ROOMS.map((r) => [r, new Map()]));
/** The newest events herald.js delivered, in order (read by the browser tests). */
const received = [];
let lastPrice = null;
/** The room whose channels the server has confirmed (tests wait on it). */
let applied = null;

const h = herald.connect('', { channels: [roomChannel(room), TICKER] });
window.heraldDemo = { herald: h, received, switchRoom, get room() { return room; }, get applied() { return applied; } };

// ---- stream ----

let everOpen = false;
h.on('state', (state) => {
  const badge = $('state');
  badge.dataset.state = state;
  if (state === 'open') everOpen = true;
  const connecting = everOpen ? 'reconnecting…' : 'connecting…';
  badge.textContent = { connecting, open: 'live', closed: 'closed' }[state] || state;
  renderMeta();
});
h.on('connected', ({ channels }) => {
  if (channels.includes(roomChannel(room))) applied = room;
  renderMeta();
});
h.on('subscribed', renderMeta);
h.on('resumed', ({ missed }) => {
  notice(`Reconnected — resumed ${missed} missed event${missed === 1 ? '' : 's'}.`, 'ok');
});
h.on('gap', ({ after, firstAvailable }) => {
  notice(`Some events after #${after} were too old to replay; continuing from #${firstAvailable}.`, 'warn');
});
h.on('error', (err) => notice(`Could not change channels: ${err.message}`, 'warn'));

h.on('*', (ev) => {
  received.push({ id: ev.id, channel: ev.channel, type: ev.type, data: ev.data });
  if (received.length > MAX_RECEIVED + 100) received.splice(0, received.length - MAX_RECEIVED);
  soon(renderMeta);
});
h.on('chat', (ev) => addMessage(ev));
h.on('tick', (ev) => addTick(ev));

// ---- rooms ----

async function switchRoom(next) {
  if (next === room || !ROOMS.includes(next)) return;
  room = next;
  history.replaceState(null, '', `#${room}`);
  renderRoom();
  try {
    await h.setChannels([roomChannel(room), TICKER]);
    if (room === next) applied = next;
  } catch (err) {
    notice(`Could not switch room: ${err.message}`, 'warn');
  }
  loadHistory(room);
}

// loadHistory fills in what was said in a room before we joined it.
async function loadHistory(r) {
  // History pages run oldest first; walk a bounded number of pages and keep
  // the newest messages.
  try {
    let list = [];
    let after = '';
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const q = new URLSearchParams({ limit: '100' });
      if (after) q.set('after', after);
      const res = await fetch(`/api/v1/channels/${roomChannel(r)}/events?${q}`);
      if (!res.ok) return;
      const body = await res.json();
      list = list.concat(body.events || []).slice(-MAX_HISTORY);
      if (!body.next) break;
      after = body.next;
    }
    for (const ev of list) if (ev.type === 'chat') addMessage(ev);
  } catch {
    // history is a nicety; the live stream is what matters
  }
}

$('rooms').addEventListener('click', (e) => {
  const btn = e.target.closest('button[data-room]');
  if (btn) switchRoom(btn.dataset.room);
});

// ---- chat ----

const nameInput = $('name');
nameInput.value = localStorage.getItem('herald.name') || '';
nameInput.addEventListener('change', () => localStorage.setItem('herald.name', nameInput.value.trim()));

$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('text');
  const text = input.value.trim();
  if (!text) return;
  const name = nameInput.value.trim() || 'anonymous';
  input.value = '';
  try {
    await h.publish(roomChannel(room), { name, text }, { type: 'chat' });
  } catch (err) {
    input.value = text;
    notice(`Message not sent: ${err.message}`, 'warn');
  }
});

// addMessage keeps ev in its room (the newest MAX_MESSAGES by id) and, when
// that room is on screen, inserts one list item in id order (live messages
// go at the end, history before them) and drops the oldest past the cap.
function addMessage(ev) {
  const r = ROOMS.find((x) => roomChannel(x) === ev.channel);
  if (!r || !ev.data || typeof ev.data.text !== 'string') return;
  const map = messages.get(r);
  if (map.has(ev.id)) return;
  let evicted = null;
  if (map.size >= MAX_MESSAGES) {
    evicted = oldest(map);
    if (cmp(ev.id, evicted) < 0) return; // older than everything kept
    map.delete(evicted);
  }
  map.set(ev.id, ev);
  if (r !== room) return;
  const ol = $('messages');
  if (evicted !== null) ol.querySelector(`li[data-id="${evicted}"]`)?.remove();
  let before = null;
  for (let li = ol.lastElementChild; li && cmp(li.dataset.id, ev.id) > 0; li = li.previousElementSibling) before = li;
  ol.insertBefore(messageItem(ev), before);
  soon(renderCount);
  soon(scrollDown);
}

function oldest(map) {
  let min = null;
  for (const id of map.keys()) if (min === null || cmp(id, min) < 0) min = id;
  return min;
}

function renderRoom() {
  for (const btn of $('rooms').querySelectorAll('button')) {
    btn.setAttribute('aria-current', btn.dataset.room === room ? 'true' : 'false');
  }
  $('room-title').textContent = `# ${room}`;
  $('text').placeholder = `Message #${room}`;
  const list = [...messages.get(room).values()].sort((a, b) => cmp(a.id, b.id));
  $('messages').replaceChildren(...list.map(messageItem));
  renderCount();
  scrollDown();
}

function renderCount() {
  const n = messages.get(room).size;
  $('room-count').textContent = n ? `${n} message${n === 1 ? '' : 's'}` : 'no messages yet';
  $('empty').hidden = n > 0;
}

function scrollDown() {
  const ol = $('messages');
  ol.scrollTop = ol.scrollHeight;
}

// soon runs fn once before the next frame however often it is asked: the
// count, the scroll position and the meta panel follow a burst of messages
// without a layout per message.
const pending = new Set();
function soon(fn) {
  if (pending.size === 0) requestAnimationFrame(flush);
  pending.add(fn);
}
function flush() {
  const fns = [...pending];
  pending.clear();
  for (const fn of fns) fn();
}

function messageItem(ev) {
  const name = String(ev.data.name || 'anonymous').slice(0, 32);
  const li = el('li', 'msg');
  li.dataset.id = ev.id;
  const avatar = el('span', 'avatar', name.slice(0, 1).toUpperCase());
  avatar.style.setProperty('--hue', String(hue(name)));
  const body = el('div', 'msg-body');
  const head = el('div', 'msg-head');
  head.append(el('strong', '', name), el('time', '', clock(ev.time)));
  body.append(head, el('p', 'msg-text', ev.data.text));
  li.append(avatar, body);
  return li;
}

// ---- ticker ----

function addTick(ev) {
  if (ev.channel !== TICKER || !ev.data || typeof ev.data.price !== 'number') return;
  const { price } = ev.data;
  $('symbol').textContent = String(ev.data.symbol || 'HRLD');
  $('price').textContent = price.toFixed(2);
  const change = $('change');
  if (lastPrice !== null) {
    const d = price - lastPrice;
    change.textContent = `${d >= 0 ? '▲' : '▼'} ${Math.abs(d).toFixed(2)}`;
    change.dataset.dir = d >= 0 ? 'up' : 'down';
  }
  lastPrice = price;
  const li = el('li', '');
  li.append(el('span', 'muted', clock(ev.time)), el('span', '', price.toFixed(2)));
  const ol = $('ticks');
  ol.prepend(li);
  while (ol.children.length > MAX_TICKS) ol.lastChild.remove();
}

let tickTimer = null;
$('ticker-toggle').addEventListener('click', () => {
  const btn = $('ticker-toggle');
  if (tickTimer) {
    stopTicker();
    return;
  }
  let n = 0;
  let price = lastPrice ?? 100;
  btn.textContent = 'Stop ticker';
  tickTimer = setInterval(() => {
    price = Math.max(1, price + (Math.random() - 0.5) * 2);
    h.publish(TICKER, { symbol: 'HRLD', price: Math.round(price * 100) / 100 }, { type: 'tick' }).catch(() => {});
    if (++n >= TICKER_LIMIT) stopTicker();
  }, 1000);
});

function stopTicker() {
  clearInterval(tickTimer);
  tickTimer = null;
  $('ticker-toggle').textContent = 'Start ticker';
}

// ---- bits ----

function renderMeta() {
  $('conn-id').textContent = h.connectionId || '—';
  $('channels').textContent = h.channels.join(', ');
  $('last-id').textContent = h.lastEventId ? `#${h.lastEventId}` : '—';
}

let noticeTimer = null;
function notice(text, kind) {
  const n = $('notice');
  n.textContent = text;
  n.dataset.kind = kind;
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, 8000);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function clock(time) {
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function hue(s) {
  // FNV-1a: similar names still get far-apart colours.
  let x = 2166136261;
  for (const c of s) x = Math.imul(x ^ c.codePointAt(0), 16777619) >>> 0;
  return x % 360;
}

function cmp(a, b) {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// Keep the newest message in view when the layout changes (e.g. rotation).
window.addEventListener('resize', scrollDown);

renderRoom();
renderMeta();
loadHistory(room);
