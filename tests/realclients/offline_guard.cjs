// Preloaded into Node-based client CLIs by tests/realclients/cli_programs.py
// (NODE_OPTIONS=--require=<this file>): refuses every network connection that is not to the
// loopback interface, the way a firewall would (EPERM), and notes the refused host in
// $DOT_OFFLINE_GUARD_LOG.
//
// Why: some programs send traffic that honours no proxy variable and has no switch. Qoder CLI
// 1.1.52 exports OpenTelemetry logs to its vendor's host over node:https on every command;
// Auggie 0.36.0 downloads ripgrep from a code host on start. The dead proxy of clients.py
// does not stop either, so without this a test run on a connected machine would reach out.
// EPERM (not ENOTFOUND or ECONNREFUSED) because those exporters retry network errors with
// back-off for seconds before the program exits; a refused-by-policy error is not retried.
//
// Only the transport is touched: name lookups of anything but localhost fail, and sockets to
// a non-loopback IP literal are destroyed before they connect. Everything else, including
// the MCP traffic to the test server on 127.0.0.1, is left to the program.
'use strict';

const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');

const LOG = process.env.DOT_OFFLINE_GUARD_LOG;

function isLoopback(host) {
  const h = String(host).replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '::1' ||
    /^::ffff:127\./.test(h);
}

function note(host) {
  if (!LOG) return;
  try {
    fs.appendFileSync(LOG, `${process.pid} ${host}\n`);
  } catch {
    // best effort: the refusal matters, not the note
  }
}

function refused(host) {
  const err = new Error(`EPERM ${host}: the network is off in this test (offline_guard.cjs)`);
  err.code = 'EPERM';
  err.hostname = String(host);
  return err;
}

const lookup = dns.lookup;
dns.lookup = function guardedLookup(host, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  if (host && !isLoopback(host)) {
    note(host);
    process.nextTick(cb, refused(host));
    return {};
  }
  return lookup.apply(this, arguments);
};

const promisesLookup = dns.promises.lookup;
dns.promises.lookup = function guardedPromisesLookup(host, ...rest) {
  if (host && !isLoopback(host)) {
    note(host);
    return Promise.reject(refused(host));
  }
  return promisesLookup.call(this, host, ...rest);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  // net.connect() passes [options, callback] as one normalized array; direct calls pass
  // (options[, cb]) or (port[, host][, cb]).
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  let host;
  if (first && typeof first === 'object') host = first.host;
  else if (typeof args[1] === 'string') host = args[1];
  if (typeof host === 'string' && net.isIP(host) && !isLoopback(host)) {
    note(host);
    process.nextTick(() => this.destroy(refused(host)));
    return this;
  }
  return connect.apply(this, args);
};
