// The independent OTLP/HTTP receiver for the integration tests: decodes every export request with the
// OpenTelemetry JS project's generated protobuf code (@opentelemetry/otlp-transformer), never with
// ours, so that a bug in our .proto files or encoders cannot cancel itself out. Records what it saw,
// answers from a behaviour script (errors, Retry-After, hangs, partial success) and is driven over
// /control/*. Contract: tests/integration (conftest.py) and the test plan in issue 2.
// With OTLP_TLS_CERT and OTLP_TLS_KEY (PEM files) it serves HTTPS instead; with OTLP_TLS_CLIENT_CA too,
// it demands a client certificate that chains to it and records its subject CN in each request.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const zlib = require('zlib');

const root = require(path.join(process.env.OTLP_NODE_MODULES,
    '@opentelemetry/otlp-transformer/build/src/generated/root'));
const { Writer } = require(path.join(process.env.OTLP_NODE_MODULES, 'protobufjs/minimal'));

const pb = root.opentelemetry.proto.collector;

// Export endpoints: request message, response message.
const SIGNALS = {
  '/v1/traces': { request: pb.trace.v1.ExportTraceServiceRequest, response: pb.trace.v1.ExportTraceServiceResponse },
  '/v1/metrics': { request: pb.metrics.v1.ExportMetricsServiceRequest, response: pb.metrics.v1.ExportMetricsServiceResponse },
  '/v1/logs': { request: pb.logs.v1.ExportLogsServiceRequest, response: pb.logs.v1.ExportLogsServiceResponse },
};

const CT_PROTOBUF = 'application/x-protobuf';
const CT_JSON = 'application/json';
// Large enough for any batch the SDK builds (its own cap is 64 MiB) without letting a bug eat RAM.
const MAX_BODY_BYTES = 128 * 1024 * 1024;
// google.rpc.Code INVALID_ARGUMENT, what OTLP says a receiver returns with 400.
const RPC_INVALID_ARGUMENT = 3;
// OTLP/JSON fields that carry bytes as hex instead of protobuf JSON's base64.
const HEX_ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
const TO_OBJECT_OPTS = { longs: String, enums: Number, defaults: false };

let requests = [];
let script = [];

function hexToBytes(s, field) {
  if (!/^([0-9a-fA-F]{2})*$/.test(s))
    throw new Error(`${field}: not an even-length hex string: ${JSON.stringify(s)}`);
  return Buffer.from(s, 'hex');
}

// OTLP/JSON → the plain object shape that fromObject expects (hex ids become bytes).
function hexIdsToBytes(v) {
  if (Array.isArray(v))
    return v.map(hexIdsToBytes);
  if (v === null || typeof v !== 'object')
    return v;
  const out = {};
  for (const [k, x] of Object.entries(v))
    out[k] = HEX_ID_FIELDS.has(k) && typeof x === 'string' ? hexToBytes(x, k) : hexIdsToBytes(x);
  return out;
}

// toObject output → JSON-safe: bytes as lowercase hex, non-finite doubles as protobuf JSON names.
function renderForJson(v) {
  if (v instanceof Uint8Array)
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (typeof v === 'number' && !Number.isFinite(v))
    return Number.isNaN(v) ? 'NaN' : (v > 0 ? 'Infinity' : '-Infinity');
  if (Array.isArray(v))
    return v.map(renderForJson);
  if (v === null || typeof v !== 'object')
    return v;
  const out = {};
  for (const [k, x] of Object.entries(v))
    out[k] = renderForJson(x);
  return out;
}

function mediaType(contentType) {
  return (contentType || '').split(';')[0].trim().toLowerCase();
}

function decodeBody(type, raw, contentType, contentEncoding) {
  let body = raw;
  const enc = (contentEncoding || 'identity').trim().toLowerCase();
  if (enc === 'gzip')
    body = zlib.gunzipSync(raw);
  else if (enc !== 'identity')
    throw new Error(`unsupported Content-Encoding: ${contentEncoding}`);

  const media = mediaType(contentType);
  let msg;
  if (media === CT_PROTOBUF) {
    msg = type.decode(body);
  } else if (media === CT_JSON) {
    const obj = JSON.parse(body.toString('utf8'));
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
      throw new Error('JSON body is not an object');
    msg = type.fromObject(hexIdsToBytes(obj));
  } else {
    throw new Error(`unsupported Content-Type: ${contentType}`);
  }
  return renderForJson(type.toObject(msg, TO_OBJECT_OPTS));
}

function sendJson(res, status, obj) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'Content-Type': CT_JSON, 'Content-Length': body.length });
  res.end(body);
}

// A google.rpc.Status {code, message} body in the request's content type, as OTLP asks for errors.
function sendStatus(res, status, json, message) {
  let body;
  if (json) {
    body = Buffer.from(JSON.stringify({ code: RPC_INVALID_ARGUMENT, message }));
  } else {
    const w = Writer.create();
    w.uint32(8).int32(RPC_INVALID_ARGUMENT);  // field 1, varint
    w.uint32(18).string(message);             // field 2, length-delimited
    body = Buffer.from(w.finish());
  }
  res.writeHead(status, { 'Content-Type': json ? CT_JSON : CT_PROTOBUF, 'Content-Length': body.length });
  res.end(body);
}

function sendExportResponse(res, signal, json, entry) {
  const status = entry.status === undefined ? 200 : entry.status;
  const headers = {};
  if (entry.retryAfter !== undefined && entry.retryAfter !== null)
    headers['Retry-After'] = String(entry.retryAfter);

  let body;
  if (entry.body !== undefined && entry.body !== null) {
    body = Buffer.from(String(entry.body));
    headers['Content-Type'] = 'text/plain';
  } else if (status === 200) {
    const resp = signal.response.fromObject(entry.partialSuccess ? { partialSuccess: entry.partialSuccess } : {});
    body = json ? Buffer.from(JSON.stringify(signal.response.toObject(resp, { longs: String, defaults: false })))
                : Buffer.from(signal.response.encode(resp).finish());
    headers['Content-Type'] = json ? CT_JSON : CT_PROTOBUF;
  } else {
    body = Buffer.alloc(0);
  }
  headers['Content-Length'] = body.length;
  res.writeHead(status, headers);
  res.end(body);
}

function handleExport(req, res, raw) {
  const signal = SIGNALS[req.url];
  const rec = {
    path: req.url,
    method: req.method,
    headers: req.headers,  // node lowercases header names
    contentType: req.headers['content-type'] || null,
    contentEncoding: req.headers['content-encoding'] || null,
    bodyBytes: raw.length,
    decoded: null,
    decodeError: null,
    receivedAtMs: Date.now(),
    clientCertCN: clientCertCN(req),
  };
  requests.push(rec);
  const json = mediaType(rec.contentType) === CT_JSON;

  if (!signal || req.method !== 'POST') {
    rec.decodeError = `no export endpoint ${req.method} ${req.url}`;
    sendStatus(res, 404, json, rec.decodeError);
    return;
  }
  try {
    rec.decoded = decodeBody(signal.request, raw, rec.contentType, rec.contentEncoding);
  } catch (e) {
    // A request we cannot decode is the sender's bug: 400, and the script entry is kept for the next.
    rec.decodeError = String(e && e.message ? e.message : e);
    sendStatus(res, 400, json, rec.decodeError);
    return;
  }

  const entry = script.length ? script.shift() : {};
  if (entry.hang)
    return;  // never answer: the socket stays open until the client gives up
  sendExportResponse(res, signal, json, entry);
}

function handleControl(req, res, raw) {
  if (req.method === 'GET' && req.url === '/control/requests')
    return sendJson(res, 200, requests);
  if (req.method === 'POST' && req.url === '/control/reset') {
    requests = [];
    script = [];
    return sendJson(res, 200, { ok: true });
  }
  if (req.method === 'POST' && req.url === '/control/script') {
    let entries;
    try {
      entries = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      return sendJson(res, 400, { error: `script is not JSON: ${e.message}` });
    }
    if (!Array.isArray(entries) || entries.some((x) => x === null || typeof x !== 'object'))
      return sendJson(res, 400, { error: 'script must be an array of objects' });
    script = entries;
    return sendJson(res, 200, { ok: true });
  }
  return sendJson(res, 404, { error: `no control endpoint ${req.method} ${req.url}` });
}

// The subject CN of the TLS client certificate the request came with, or null.
function clientCertCN(req) {
  if (!req.socket.getPeerCertificate)
    return null;
  const cert = req.socket.getPeerCertificate();
  return cert && cert.subject ? cert.subject.CN : null;
}

function tlsOptions() {
  if (!process.env.OTLP_TLS_CERT)
    return null;
  const opts = { cert: fs.readFileSync(process.env.OTLP_TLS_CERT), key: fs.readFileSync(process.env.OTLP_TLS_KEY) };
  if (process.env.OTLP_TLS_CLIENT_CA)
    Object.assign(opts, { ca: fs.readFileSync(process.env.OTLP_TLS_CLIENT_CA), requestCert: true, rejectUnauthorized: true });
  return opts;
}

const tls = tlsOptions();
const onRequest = (req, res) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY_BYTES) {
      sendJson(res, 413, { error: 'body too large' });
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_BODY_BYTES)
      return;
    const raw = Buffer.concat(chunks);
    if (req.url.startsWith('/control/'))
      handleControl(req, res, raw);
    else
      handleExport(req, res, raw);
  });
};
const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);

// Hanging requests must not keep the process alive past SIGTERM.
const sockets = new Set();
server.on(tls ? 'secureConnection' : 'connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
function shutdown() {
  for (const s of sockets)
    s.destroy();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
