#!/usr/bin/env node
/*
 * A checking proxy in front of s3rver, which checks no signature at all.
 *
 * Every request body is spooled to a temporary file while its SHA-256 is
 * computed; the AWS Signature V4 is recomputed with the AWS SDK's own signer
 * (@smithy/signature-v4) from the path and query as S3 canonicalises them.
 * Refused, as S3 refuses them:
 *   no Authorization                 403 AccessDenied
 *   unknown access key               403 InvalidAccessKeyId
 *   signature differs                403 SignatureDoesNotMatch
 *   no x-amz-content-sha256          400 InvalidRequest
 *   body hash differs from header    400 XAmzContentSHA256Mismatch
 *   aws-chunked (STREAMING-*) body   501 NotImplemented
 *   x-amz-checksum-sha256 differs        400 BadDigest (and it is echoed in
 *                                        the answer, as S3 does, when it
 *                                        matches)
 * Only a complete, verified body is forwarded, so that a broken upload never
 * leaves a truncated object behind (s3rver writes objects in place).
 *
 * Usage: proxy.js --listen PORT --upstream PORT [--port-file FILE]
 *   [--sessions DIR] [--passthrough]
 * Credentials: S3_ACCESS_KEY and S3_SECRET_KEY in the environment; with
 * --sessions, also the temporary credentials tests/s3/idp.js issued (one
 * DIR/AKID.json each): a request signed with one must carry its
 * x-amz-security-token, signed (else 403 InvalidToken), before it expires
 * (else 400 ExpiredToken, as S3 answers).
 * --passthrough (in front of a server that checks signatures itself, Ceph
 * RGW): nothing is checked here, requests go on as they came, for the
 * faults alone.
 * Counters for tests: GET /__proxy/stats answers JSON, with "log", the
 * method and URL of each request since the start or the last
 * POST /__proxy/reset (at most 100000), so that a test can count the
 * requests of one job.
 * Faults for tests (after the signature check passed):
 *   POST /__proxy/fault?kind=K&count=N[&method=M][&match=REGEXP]
 * makes the next N matching requests fail (kind=clear forgets those not
 * applied yet): kind 503 (SlowDown), cut (the
 * response body stops halfway and the connection is closed), error200 (200
 * with an InternalError body, as CompleteMultipartUpload may answer),
 * denied200 (200 with an AccessDenied body), lost (forwarded, and s3rver
 * finishes it, but the connection is closed before any of its answer is
 * sent: a CompleteMultipartUpload that took effect while the client saw
 * only a broken connection) or nosuchupload (404 NoSuchUpload, not
 * forwarded: as if the upload had been aborted by someone else), stall
 * (the request is taken and never answered), corrupt
 * (one byte of the body is changed after the signature check, as if
 * damaged on the way into the store: a body with x-amz-checksum-sha256 is
 * then refused with BadDigest, one without is stored damaged) or badsum
 * (stored as sent, but the answer's x-amz-checksum-sha256 is another one),
 * 501 (NotImplemented, as a store lacking the call answers), 404 (NoSuchKey,
 * not forwarded: a HEAD that misses an object a racing writer has just
 * made) or norange
 * (the Range header is dropped: the whole object comes back with 200, as
 * from a store that ignores Range).
 *
 * With --data DIR (s3rver's directory) the proxy makes up for what s3rver
 * 3.7.1 does otherwise than S3, from s3rver's upload directories:
 *   ListMultipartUploads and AbortMultipartUpload, which s3rver lacks, are
 *   answered here;
 *   a CompleteMultipartUpload of an upload that no longer exists (completed
 *   or aborted) gets 404 NoSuchUpload, where s3rver answers 500
 *   InternalError (it fails to read the upload's directory);
 *   an object made by CompleteMultipartUpload has S3's multipart ETag in
 *   HEAD and GET answers (the MD5 of the parts' binary MD5s, "-", the number
 *   of parts), where s3rver gives the MD5 of the whole object; computed from
 *   the MD5s s3rver keeps of the parts, and shown while s3rver's ETag of the
 *   object is still the one its Complete answered and no PUT replaced it.
 * Buckets are found in the path, or in the host name BUCKET.s3.localhost.
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { SignatureV4 } = require('@smithy/signature-v4');
const { HttpRequest } = require('@smithy/protocol-http');
const { Sha256 } = require('@aws-crypto/sha256-js');

function arg(name, def) {
	const i = process.argv.indexOf(name);
	return i >= 0 ? process.argv[i + 1] : def;
}

const listenPort = Number(arg('--listen', '0'));
const upstreamPort = Number(arg('--upstream', '4568'));
const portFile = arg('--port-file', null);
const dataDir = arg('--data', null);
const sessionsDir = arg('--sessions', null);
const passthrough = process.argv.includes('--passthrough');
const accessKey = process.env.S3_ACCESS_KEY;
const secretKey = process.env.S3_SECRET_KEY;
const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 's3proxy-'));
const stats = { requests: 0, refused: 0, forwarded: 0, byCode: {}, log: [] };

if (!passthrough && (!accessKey || !secretKey)) {
	console.error('proxy.js: S3_ACCESS_KEY and S3_SECRET_KEY must be set');
	process.exit(2);
}

function xmlEscape(s) {
	return String(s).replace(/[<>&"']/g, (c) => ({
		'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;'
	}[c]));
}

function refuse(res, status, code, message) {
	const id = crypto.randomBytes(8).toString('hex').toUpperCase();
	stats.refused++;
	stats.byCode[code] = (stats.byCode[code] || 0) + 1;
	const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code +
	    '</Code><Message>' + xmlEscape(message) + '</Message><RequestId>' + id +
	    '</RequestId></Error>';
	res.writeHead(status, { 'Content-Type': 'application/xml',
	    'Content-Length': Buffer.byteLength(body), 'x-amz-request-id': id });
	res.end(body);
}

/* RFC 3986 encoding as S3 applies it to canonical paths and queries. */
function escapeUri(s) {
	return encodeURIComponent(s).replace(/[!'()*]/g,
	    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalPath(raw) {
	return raw.split('/').map((seg) => escapeUri(decodeURIComponent(seg))).join('/');
}

function parseQuery(raw) {
	const query = {};
	if (!raw)
		return query;
	for (const part of raw.split('&')) {
		if (part === '')
			continue;
		const eq = part.indexOf('=');
		const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
		const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
		if (k in query)
			query[k] = [].concat(query[k], v);
		else
			query[k] = v;
	}
	return query;
}

function parseAuth(h) {
	const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(h);
	if (!m)
		return null;
	return { key: m[1], date: m[2], region: m[3], service: m[4],
	    signed: m[5].split(';'), signature: m[6] };
}

function amzDate(s) {
	const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
	if (!m)
		return null;
	return new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/* The secret (and session token) of an access key, or null. */
function keyInfo(key) {
	if (key === accessKey)
		return { secret: secretKey };
	if (!sessionsDir || !/^[A-Z0-9]+$/.test(key))
		return null;
	try {
		return JSON.parse(fs.readFileSync(path.join(sessionsDir, key + '.json'), 'utf8'));
	} catch (e) {
		return null;
	}
}

/*
 * Checks the signature; resolves to null when good, else [status, code,
 * message].  A session's expiry is judged when the request arrived, as S3
 * judges it before it takes the body.
 */
async function verify(req, bodyHash, arrived) {
	const auth = req.headers.authorization;
	if (!auth)
		return [403, 'AccessDenied', 'Access Denied'];
	const a = parseAuth(auth);
	if (!a)
		return [400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed'];
	const k = keyInfo(a.key);
	if (!k)
		return [403, 'InvalidAccessKeyId',
		    'The AWS Access Key Id you provided does not exist in our records.'];
	if (k.token !== undefined) {
		stats.sessionRequests = (stats.sessionRequests || 0) + 1;
		if (req.headers['x-amz-security-token'] !== k.token ||
		    !a.signed.includes('x-amz-security-token'))
			return [403, 'InvalidToken',
			    'The provided token is malformed or otherwise invalid.'];
		if (arrived > k.expiration)
			return [400, 'ExpiredToken', 'The provided token has expired.'];
	}
	const claimed = req.headers['x-amz-content-sha256'];
	if (!claimed)
		return [400, 'InvalidRequest',
		    'Missing required header for this request: x-amz-content-sha256'];
	if (claimed.startsWith('STREAMING-'))
		return [501, 'NotImplemented', 'aws-chunked bodies are not supported here'];
	const date = amzDate(req.headers['x-amz-date']);
	if (!date)
		return [403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header'];
	for (const h of ['host', 'x-amz-date', 'x-amz-content-sha256'])
		if (!a.signed.includes(h))
			return [403, 'SignatureDoesNotMatch', 'header ' + h + ' must be signed'];
	const headers = {};
	for (const h of a.signed) {
		if (req.headers[h] === undefined)
			return [403, 'SignatureDoesNotMatch',
			    'signed header ' + h + ' was not sent'];
		headers[h] = String(req.headers[h]).trim().replace(/\s+/g, ' ');
	}
	const q = req.url.indexOf('?');
	const rawPath = q < 0 ? req.url : req.url.slice(0, q);
	let cpath, query;
	try {
		cpath = canonicalPath(rawPath);
		query = parseQuery(q < 0 ? '' : req.url.slice(q + 1));
	} catch (e) {
		return [400, 'InvalidURI', 'Could not parse the specified URI.'];
	}
	const signer = new SignatureV4({
		credentials: { accessKeyId: a.key, secretAccessKey: k.secret },
		region: a.region, service: a.service, sha256: Sha256,
		uriEscapePath: false, applyChecksum: false
	});
	const request = new HttpRequest({ method: req.method, protocol: 'http:',
	    hostname: '127.0.0.1', path: cpath, query, headers });
	const signed = await signer.sign(request, { signingDate: date,
	    signableHeaders: new Set(a.signed) });
	const ours = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)[1];
	const want = /SignedHeaders=([^,]+)/.exec(signed.headers.authorization)[1];
	if (ours !== a.signature || want !== a.signed.join(';'))
		return [403, 'SignatureDoesNotMatch',
		    'The request signature we calculated does not match the signature you provided. Check your key and signing method.'];
	if (claimed !== 'UNSIGNED-PAYLOAD' && claimed !== bodyHash)
		return [400, 'XAmzContentSHA256Mismatch',
		    "The provided 'x-amz-content-sha256' header does not match what was computed."];
	return null;
}

const faults = [];

function takeFault(req) {
	for (const f of faults) {
		if (f.count > 0 && (!f.method || f.method === req.method) && f.match.test(req.url)) {
			f.count--;
			stats.byCode['fault-' + f.kind] = (stats.byCode['fault-' + f.kind] || 0) + 1;
			return f.kind;
		}
	}
	return null;
}

function addFault(req, res) {
	const q = parseQuery(req.url.slice(req.url.indexOf('?') + 1));
	if (q.kind === 'clear') {	/* forget every fault not applied yet */
		faults.length = 0;
		res.writeHead(204);
		res.end();
		return;
	}
	faults.push({ kind: q.kind, count: Number(q.count || 1), method: q.method || null,
	    match: new RegExp(q.match || '') });
	res.writeHead(204);
	res.end();
}

function answer200Error(res, code) {
	const body = '<?xml version="1.0" encoding="UTF-8"?>\n\n<Error><Code>' + code +
	    '</Code><Message>injected</Message><RequestId>FAULT</RequestId></Error>';
	res.writeHead(200, { 'Content-Type': 'application/xml',
	    'Content-Length': Buffer.byteLength(body) });
	res.end(body);
}

/* Calls fn(status, body) once the upstream answer is complete. */
function tapBody(ures, fn) {
	const chunks = [];
	ures.on('data', (c) => chunks.push(c));
	ures.on('end', () => fn(ures.statusCode, Buffer.concat(chunks).toString()));
}

/* fault: 'cut', 'lost', 'badsum' or null; tap: see tapBody, or null. */
function forward(req, res, file, size, fault, tap) {
	const headers = Object.assign({}, req.headers);
	delete headers['transfer-encoding'];
	delete headers['expect'];
	if (fault === 'norange')
		delete headers['range'];
	/* Verified here; s3rver would check the key against its own S3RVER pair. */
	if (!passthrough)
		delete headers['authorization'];
	headers['content-length'] = String(size);
	const up = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method,
	    path: req.url, headers }, (ures) => {
		stats.forwarded++;
		if (tap)
			tapBody(ures, tap);
		if (fault === 'lost') {
			ures.resume();
			ures.on('end', () => res.socket && res.socket.destroy());
			return;
		}
		res.writeHead(ures.statusCode, withChecksum(req, ures,
		    withMultipartEtag(req, ures.headers), fault));
		const total = Number(ures.headers['content-length'] || 0);
		if (fault !== 'cut' || total < 2) {
			ures.pipe(res);
			return;
		}
		const half = Math.floor(total / 2);
		let sent = 0;
		ures.on('data', (chunk) => {
			if (sent >= half)
				return;
			const part = chunk.subarray(0, half - sent);
			sent += part.length;
			res.write(part);
			if (sent >= half) {
				ures.destroy();
				setTimeout(() => res.socket && res.socket.destroy(), 50);
			}
		});
	});
	up.on('error', (e) => {
		fs.rm(file, () => {});
		refuse(res, 503, 'ServiceUnavailable', 'upstream: ' + e.message);
	});
	up.on('close', () => fs.rm(file, () => {}));
	if (size > 0)
		fs.createReadStream(file).pipe(up);
	else
		up.end();
}

/* S3 echoes the checksum of what it stored in the answer to a PUT. */
function withChecksum(req, ures, headers, fault) {
	const sum = req.headers['x-amz-checksum-sha256'];
	if ((passthrough && fault !== 'badsum') || req.method !== 'PUT' || !sum ||
	    ures.statusCode !== 200)
		return headers;
	const echo = fault === 'badsum' ? crypto.createHash('sha256').update('other')
	    .digest('base64') : sum;
	return Object.assign({}, headers, { 'x-amz-checksum-sha256': echo });
}

/* Changes one byte in the middle of a spooled body; its SHA-256 (base64) after. */
async function corrupt(file, size) {
	const fd = await fs.promises.open(file, 'r+');
	const b = Buffer.alloc(1);
	const at = Math.floor(size / 2);
	await fd.read(b, 0, 1, at);
	b[0] ^= 0x55;
	await fd.write(b, 0, 1, at);
	await fd.close();
	const h = crypto.createHash('sha256');
	for await (const chunk of fs.createReadStream(file))
		h.update(chunk);
	return h.digest('base64');
}

function uploadsDir(bucket) {
	return path.join(dataDir, bucket, '._S3rver_uploads');
}

function uploadDir(bucket, id) {
	return path.join(uploadsDir(bucket), path.basename(id));
}

/* Bucket and key (decoded; key "" for the bucket itself) as s3rver finds them. */
function target(req) {
	const q = req.url.indexOf('?');
	let p = decodeURIComponent(q < 0 ? req.url : req.url.slice(0, q));
	p = p.replace(/^\/+/, '');
	const vhost = /^(.+)\.s3\.localhost(:\d+)?$/.exec(String(req.headers.host || ''));
	if (vhost)
		p = vhost[1] + '/' + p;
	const slash = p.indexOf('/');
	return slash < 0 ? { bucket: p, key: '' } :
	    { bucket: p.slice(0, slash), key: p.slice(slash + 1) };
}

const multipartEtags = new Map();	/* bucket/key -> { whole, multipart } */

function targetId(req) {
	const t = target(req);
	return t.bucket + '/' + t.key;
}

function withMultipartEtag(req, headers) {
	if (req.method !== 'GET' && req.method !== 'HEAD')
		return headers;
	const m = multipartEtags.get(targetId(req));
	if (!m || headers.etag !== m.whole)
		return headers;
	return Object.assign({}, headers, { etag: m.multipart });
}

/*
 * Before a CompleteMultipartUpload is forwarded (s3rver then removes the
 * upload): S3's ETag of the object it makes, or null.
 */
async function multipartEtag(req, file) {
	const t = target(req);
	const id = parseQuery(req.url.slice(req.url.indexOf('?') + 1)).uploadId;
	const h = crypto.createHash('md5');
	let nums;
	try {
		const body = await fs.promises.readFile(file, 'utf8');
		nums = [...body.matchAll(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/g)]
		    .map((m) => Number(m[1])).sort((a, b) => a - b);
		for (const n of nums) {
			const md5 = path.join(uploadDir(t.bucket, id), n + '.md5');
			h.update(Buffer.from((await fs.promises.readFile(md5, 'utf8')).trim(), 'hex'));
		}
	} catch (e) {
		return null;	/* s3rver will answer with an error */
	}
	return nums.length > 0 ? '"' + h.digest('hex') + '-' + nums.length + '"' : null;
}

/* A tap for the Complete's answer: remembers the object's two ETags. */
function rememberEtag(req, multipart) {
	const id = targetId(req);
	return (status, body) => {
		const m = /<ETag>([^<]*)<\/ETag>/.exec(body);
		if (status !== 200 || !m || /<Error>/.test(body))
			return;
		multipartEtags.set(id, { whole: m[1].replace(/&quot;/g, '"'), multipart });
	};
}

function listUploads(res, bucket, query) {
	const prefix = typeof query.prefix === 'string' ? query.prefix : '';
	let names = [];
	try {
		names = fs.readdirSync(uploadsDir(bucket));
	} catch (e) {
		/* none yet */
	}
	let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult ' +
	    'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>' + xmlEscape(bucket) +
	    '</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>' +
	    '<Prefix>' + xmlEscape(prefix) + '</Prefix><MaxUploads>1000</MaxUploads>' +
	    '<IsTruncated>false</IsTruncated>';
	for (const id of names.sort()) {
		let key, st;
		try {
			key = fs.readFileSync(path.join(uploadsDir(bucket), id, 'key'), 'utf8');
			st = fs.statSync(path.join(uploadsDir(bucket), id, 'key'));
		} catch (e) {
			continue;
		}
		if (!key.startsWith(prefix))
			continue;
		xml += '<Upload><Key>' + xmlEscape(key) + '</Key><UploadId>' + xmlEscape(id) +
		    '</UploadId><StorageClass>STANDARD</StorageClass><Initiated>' +
		    st.mtime.toISOString() + '</Initiated></Upload>';
	}
	xml += '</ListMultipartUploadsResult>';
	res.writeHead(200, { 'Content-Type': 'application/xml',
	    'Content-Length': Buffer.byteLength(xml) });
	res.end(xml);
}

function noSuchUpload(res) {
	refuse(res, 404, 'NoSuchUpload', 'The specified upload does not exist. The upload ' +
	    'ID may be invalid, or the upload may have been aborted or completed.');
}

function abortUpload(res, bucket, id) {
	const dir = uploadDir(bucket, id);
	if (!fs.existsSync(dir)) {
		noSuchUpload(res);
		return;
	}
	/*
	 * A part still being written by s3rver into the directory makes a
	 * plain recursive removal fail (ENOTEMPTY): retried, as Node offers,
	 * and if it still fails the answer is a 500 (a store that failed, which
	 * the client retries), never the proxy's end.
	 */
	try {
		fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 10 });
	} catch (e) {
		refuse(res, 500, 'InternalError', 'abort: ' + e.code);
		return;
	}
	res.writeHead(204);
	res.end();
}

/* True when the proxy answered the request itself. */
function emulate(req, res) {
	if (dataDir === null)
		return false;
	const q = req.url.indexOf('?');
	if (q < 0)
		return false;
	const t = target(req);
	const query = parseQuery(req.url.slice(q + 1));
	if (t.bucket === '')
		return false;
	if (req.method === 'GET' && t.key === '' && 'uploads' in query) {
		listUploads(res, t.bucket, query);
		return true;
	}
	if (t.key === '' || typeof query.uploadId !== 'string')
		return false;
	if (req.method === 'DELETE') {
		abortUpload(res, t.bucket, query.uploadId);
		return true;
	}
	if (req.method === 'POST' && !fs.existsSync(uploadDir(t.bucket, query.uploadId))) {
		noSuchUpload(res);
		return true;
	}
	return false;
}

function isComplete(req) {
	return dataDir !== null && req.method === 'POST' && /[?&]uploadId=/.test(req.url);
}

let seq = 0;

const server = http.createServer((req, res) => {
	if (req.url.startsWith('/__proxy/fault?')) {
		addFault(req, res);
		return;
	}
	if (req.url === '/__proxy/stats') {
		res.writeHead(200, { 'Content-Type': 'application/json' });
		res.end(JSON.stringify(stats));
		return;
	}
	if (req.url === '/__proxy/reset' && req.method === 'POST') {
		stats.log = [];
		res.writeHead(204);
		res.end();
		return;
	}
	stats.requests++;
	const arrived = Date.now();
	if (stats.log.length < 100000)
		stats.log.push(req.method + ' ' + req.url);
	const file = path.join(spoolDir, 'body-' + process.pid + '-' + (++seq));
	const out = fs.createWriteStream(file);
	const hash = crypto.createHash('sha256');
	let size = 0, broken = false;
	req.on('data', (chunk) => {
		hash.update(chunk);
		size += chunk.length;
		if (!out.write(chunk)) {
			req.pause();
			out.once('drain', () => req.resume());
		}
	});
	req.on('aborted', () => { broken = true; });
	req.on('error', () => { broken = true; });
	req.on('end', () => {
		out.end(async () => {
			if (broken || (req.headers['content-length'] !== undefined &&
			    Number(req.headers['content-length']) !== size)) {
				fs.rm(file, () => {});
				if (!res.writableEnded)
					refuse(res, 400, 'IncompleteBody',
					    'You did not provide the number of bytes specified by the Content-Length HTTP header');
				return;
			}
			let bad = null;
			const bodyHash = hash.digest('hex');
			try {
				if (!passthrough)
					bad = await verify(req, bodyHash, arrived);
			} catch (e) {
				bad = [500, 'InternalError', 'proxy: ' + e.message];
			}
			if (bad) {
				fs.rm(file, () => {});
				refuse(res, bad[0], bad[1], bad[2]);
				return;
			}
			if (emulate(req, res)) {
				stats.forwarded++;
				fs.rm(file, () => {});
				return;
			}
			const fault = takeFault(req);
			let sum = Buffer.from(bodyHash, 'hex').toString('base64');
			if (fault === 'corrupt' && size > 0)
				sum = await corrupt(file, size);
			const claimed = req.headers['x-amz-checksum-sha256'];
			if (!passthrough && claimed !== undefined && claimed !== sum) {
				fs.rm(file, () => {});
				refuse(res, 400, 'BadDigest',
				    'The SHA256 you specified did not match the calculated checksum.');
				return;
			}
			if (fault === 'stall') {
				fs.rm(file, () => {});
				return;
			}
			if (fault === '503' || fault === 'error200' || fault === 'denied200' ||
			    fault === 'nosuchupload' || fault === '501' || fault === '404') {
				fs.rm(file, () => {});
				if (fault === '404')
					refuse(res, 404, 'NoSuchKey', 'The specified key does not exist.');
				else if (fault === '503')
					refuse(res, 503, 'SlowDown', 'Please reduce your request rate.');
				else if (fault === '501')
					refuse(res, 501, 'NotImplemented', 'A header you provided ' +
					    'implies functionality that is not implemented');
				else if (fault === 'nosuchupload')
					noSuchUpload(res);
				else
					answer200Error(res, fault === 'error200' ? 'InternalError' :
					    'AccessDenied');
				return;
			}
			let tap = null;
			if (isComplete(req)) {
				const etag = await multipartEtag(req, file);
				tap = etag && rememberEtag(req, etag);
			} else if (req.method === 'PUT' && !/[?&]uploadId=/.test(req.url))
				multipartEtags.delete(targetId(req));
			const cutOff = fault === 'cut' || fault === 'lost' || fault === 'badsum' ||
			    fault === 'norange' ? fault : null;
			forward(req, res, file, size, cutOff, tap);
		});
	});
	req.on('close', () => {
		if (!req.complete)
			fs.rm(file, () => {});
	});
});

server.listen(listenPort, '127.0.0.1', () => {
	const port = server.address().port;
	if (portFile)
		fs.writeFileSync(portFile, String(port));
	console.error('proxy.js: listening on 127.0.0.1:' + port + ', upstream 127.0.0.1:' +
	    upstreamPort);
});

function bye() {
	fs.rmSync(spoolDir, { recursive: true, force: true });
	process.exit(0);
}
process.on('SIGTERM', bye);
process.on('SIGINT', bye);
