// playground.js — exposes herald.js as window.herald for the console (and for
// the browser tests, which drive the client directly from this page).
import * as herald from '/herald.js';

window.herald = herald;
document.getElementById('ready').textContent = 'herald.js is loaded as window.herald.';
