#!/usr/bin/env node
// A bounded HTTP prober for failover measurements: GET url every interval ms with a short timeout, a new connection
// each time, for at most duration ms; prints one JSON line per attempt { start, end, ok, body }.
import http from 'node:http';

const [url, intervalMs = '10', timeoutMs = '100', durationMs = '10000'] = process.argv.slice(2);
const deadline = Date.now() + Number(durationMs);

function once() {
  return new Promise((resolve) => {
    const start = Date.now();
    const req = http.get(url, { agent: false, timeout: Number(timeoutMs) }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ start, end: Date.now(), ok: res.statusCode === 200, body: body.trim() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ start, end: Date.now(), ok: false, error: err.message }));
  });
}

while (Date.now() < deadline) {
  const r = await once();
  process.stdout.write(`${JSON.stringify(r)}\n`);
  await new Promise((res) => setTimeout(res, Number(intervalMs)));
}
