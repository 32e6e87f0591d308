#!/usr/bin/env node
// A Kubernetes API stand-in for the operator's tests (Node; the CRDs' schemas are
// checked with ajv and js-yaml from tests/operator/node_modules when they are there).
//
// It is not a kube-apiserver: it keeps objects in memory and implements what
// the operator relies on, the way the real server does it:
//   - namespaced collections: /api/v1/namespaces/NS/{secrets,services,pods,events},
//     /apis/apps/v1/namespaces/NS/statefulsets,
//     /apis/coordination.k8s.io/v1/namespaces/NS/leases,
//     /apis/kbackup.io/v1alpha1/namespaces/NS/{backupdefinitions,backupstoragelocations,
//     backupruns,backuprestores};
//     cluster-wide lists of every plural (/apis/kbackup.io/v1alpha1/backupdefinitions)
//   - GET (labelSelector and fieldSelector with k=v[,k=v], limit/continue), POST (409 AlreadyExists),
//     PUT (409 Conflict on a stale metadata.resourceVersion), PATCH (merge patch),
//     DELETE (with finalizers: sets deletionTimestamp; the object goes once the
//     finalizers are emptied), 404 NotFound as Status objects
//   - one global resourceVersion counter; metadata.generation bumped on spec changes
//   - the status subresource of the CRDs: PUT .../status changes only status,
//     PUT on the object ignores status
//   - Leases (coordination.k8s.io/v1) as leader election uses them: no status, no
//     generation; a create or update is validated as the real API validates it
//     (spec.leaseDurationSeconds > 0, spec.leaseTransitions >= 0, acquireTime and
//     renewTime metav1.MicroTime: RFC 3339 with microseconds); updates need the
//     resourceVersion read, like any PUT here: 409 Conflict when it is stale
//   - watch=1&resourceVersion=RV: events after RV as JSON lines, BOOKMARKs when
//     allowWatchBookmarks=true, an ERROR event with a 410 Status when RV is older
//     than the compacted history; timeoutSeconds ends the stream
//   - Events: core/v1 as the API validates them (involvedObject.namespace must be the
//     Event's namespace); no generation, like every built-in kind without a spec
//   - Services get a clusterIP, StatefulSets and Services default fields, as a
//     real server would add them (so that a naive comparison would differ)
//   - custom resources (kbackup.io) are checked against the openAPIV3Schema of their
//     CRD in k8s/crds/ on every create and update, status included, as the real
//     server does: fields the schema does not name are pruned, then what breaks the
//     schema is refused with 422 Invalid, except where an update leaves a value as it
//     was (validation ratcheting, on by default since Kubernetes 1.30) (with ajv, when
//     tests/operator/node_modules has it; CEL rules are not run, defaults not applied)
// Test endpoints (not Kubernetes):
//   GET  /_test/requests          {"counts": {"GET": n, ...}, "log": [...],
//                                  "writers": {USER-AGENT: writes}} since reset
//   POST /_test/reset             zero the counters and the log
//   POST /_test/fail?count=N&status=S[&method=M][&path=SUBSTRING]   the next N matching requests fail
//   POST /_test/fail?clear=1      no more injected failures
//   POST /_test/compact           forget the event history (watches from before get 410)
//   POST /_test/close-watches     end every open watch stream
//   GET  /_test/objects?plural=P  every stored object of that plural
//   POST /_test/schemas?check=0|1 stop (or go back to) checking custom resources against
//                                 their CRDs: objects an older CRD let in, for the
//                                 operator's own checks
// Usage: node apiserver.js PORTFILE [TOKEN]   (listens on 127.0.0.1, port 0)
'use strict';
const http = require('http');
const url = require('url');
const fs = require('fs');
const crypto = require('crypto');

const portFile = process.argv[2];
const token = process.argv[3] || null;

let rv = 1000;
const store = new Map();	// key "plural/ns/name" -> object
let history = [];		// {rv, plural, ns, type, object}
let oldest = rv;
const watchers = new Set();
let counts = {};
let log = [];
let writers = {};		// User-Agent -> POST/PUT/PATCH/DELETE count
let failures = [];		// {count, status, method}

const kinds = {
	secrets: { group: '', version: 'v1', kind: 'Secret' },
	services: { group: '', version: 'v1', kind: 'Service' },
	pods: { group: '', version: 'v1', kind: 'Pod' },
	events: { group: '', version: 'v1', kind: 'Event', noGeneration: true },
	statefulsets: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
	leases: { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', noGeneration: true },
	backupdefinitions: { group: 'kbackup.io', version: 'v1alpha1', kind: 'BackupDefinition', status: true },
	backupstoragelocations: { group: 'kbackup.io', version: 'v1alpha1', kind: 'BackupStorageLocation', status: true },
	backupruns: { group: 'kbackup.io', version: 'v1alpha1', kind: 'BackupRun', status: true },
	backuprestores: { group: 'kbackup.io', version: 'v1alpha1', kind: 'BackupRestore', status: true },
};

function apiVersion(k) { return k.group ? k.group + '/' + k.version : k.version; }

// The CRDs' schemas: plural -> {schema, validate}.
const crdSchemas = {};
try {
	const path = require('path');
	const yaml = require('js-yaml');
	const Ajv = require('ajv');
	const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
	const dir = path.join(__dirname, '..', '..', 'k8s', 'crds');
	for (const f of fs.readdirSync(dir)) {
		for (const crd of yaml.loadAll(fs.readFileSync(path.join(dir, f), 'utf8'))) {
			const schema = crd.spec.versions[0].schema.openAPIV3Schema;
			crdSchemas[crd.spec.names.plural] = { schema, validate: ajv.compile(schema) };
		}
	}
} catch (e) {
	console.error('apiserver.js: custom resources not validated: ' + e.message);
}

// Structural pruning: what the schema does not name goes, as in the real server.
function prune(v, schema) {
	if (!schema || v === null || typeof v !== 'object' || schema['x-kubernetes-preserve-unknown-fields']) return;
	if (Array.isArray(v)) {
		for (const x of v) prune(x, schema.items);
		return;
	}
	if (schema.properties) {
		for (const k of Object.keys(v)) {
			if (schema.properties[k]) prune(v[k], schema.properties[k]);
			else if (!schema.additionalProperties) delete v[k];
		}
	} else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
		for (const k of Object.keys(v)) prune(v[k], schema.additionalProperties);
	}
}

let checkSchemas = true;

function at(v, pointer) {
	for (const p of pointer.split('/').slice(1)) v = v == null ? undefined : v[p.replace(/~1/g, '/').replace(/~0/g, '~')];
	return v;
}

// null, or the message of a 422 for a custom resource that breaks its CRD's schema
// in a value that old (the stored object, for an update) does not have already.
function schemaError(plural, obj, old) {
	const c = crdSchemas[plural];
	if (!c || !checkSchemas) return null;
	const md = JSON.stringify(obj.metadata);
	prune(obj, c.schema);
	obj.metadata = JSON.parse(md);	// metadata is the server's: never pruned
	if (c.validate(obj)) return null;
	const errs = c.validate.errors.filter((e) => !old ||
		JSON.stringify(at(obj, e.instancePath)) !== JSON.stringify(at(old, e.instancePath)));
	return errs.length ? errs.map((e) => (e.instancePath || '/') + ': ' + e.message).join('; ') : null;
}

function status(res, code, reason, message, extra) {
	const body = Object.assign({ kind: 'Status', apiVersion: 'v1', metadata: {},
		status: 'Failure', message, reason, code }, extra || {});
	send(res, code, body);
}

function send(res, code, body) {
	const text = JSON.stringify(body);
	res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
	res.end(text);
}

function parsePath(pathname) {
	// returns {plural, ns, name, sub} or null
	const p = pathname.split('/').filter(Boolean);
	let i;
	if (p[0] === 'api' && p[1] === 'v1') i = 2;
	else if (p[0] === 'apis' && p.length >= 3) i = 3;
	else return null;
	let ns = null;
	if (p[i] === 'namespaces' && p.length > i + 2) { ns = p[i + 1]; i += 2; }
	const plural = p[i];
	if (!kinds[plural]) return null;
	const k = kinds[plural];
	const group = p[0] === 'api' ? '' : p[1];
	if (group !== k.group || (p[0] === 'apis' && p[2] !== k.version)) return null;
	return { plural, ns, name: p[i + 1] || null, sub: p[i + 2] || null, extra: p.length > i + 3 };
}

function key(plural, ns, name) { return plural + '/' + ns + '/' + name; }

function matches(obj, selector) {
	if (!selector) return true;
	const labels = (obj.metadata && obj.metadata.labels) || {};
	return selector.split(',').every((term) => {
		const [k, v] = term.split('=');
		return labels[k] === v;
	});
}

// fieldSelector: k=v or k==v terms on dotted paths (metadata.name, involvedObject.uid, ...)
function fieldsMatch(obj, selector) {
	if (!selector) return true;
	return selector.split(',').every((term) => {
		const [k, v] = term.split(/==?/);
		const have = k.split('.').reduce((o, p) => (o == null ? undefined : o[p]), obj);
		return String(have ?? '') === v;
	});
}

const microTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

// What the real API refuses, for the kinds where the operator could get it wrong.
function invalid(plural, ns, obj) {
	if (plural === 'leases') {
		const sp = obj.spec || {};
		if (sp.leaseDurationSeconds !== undefined && !(Number.isInteger(sp.leaseDurationSeconds) && sp.leaseDurationSeconds > 0))
			return 'spec.leaseDurationSeconds: Invalid value: must be greater than 0';
		if (sp.leaseTransitions !== undefined && !(Number.isInteger(sp.leaseTransitions) && sp.leaseTransitions >= 0))
			return 'spec.leaseTransitions: Invalid value: must be greater than or equal to 0';
		for (const f of ['acquireTime', 'renewTime'])
			if (sp[f] !== undefined && !microTime.test(sp[f])) return 'spec.' + f + ': Invalid value: not a MicroTime';
		if (sp.holderIdentity !== undefined && typeof sp.holderIdentity !== 'string') return 'spec.holderIdentity: Invalid value';
		return null;
	}
	if (plural !== 'events') return null;
	const io = obj.involvedObject || {};
	if (io.namespace && io.namespace !== ns) return 'involvedObject.namespace: Invalid value: "' + io.namespace + '": does not match event.namespace';
	if (!io.kind || !io.name) return 'involvedObject: Required value';
	return null;
}

function record(type, plural, obj) {
	history.push({ rv: Number(obj.metadata.resourceVersion), plural, ns: obj.metadata.namespace, type, object: obj });
	for (const w of watchers) w.notify();
}

function defaults(plural, obj) {
	if (plural === 'services') {
		obj.spec = obj.spec || {};
		if (!obj.spec.clusterIP) {
			const n = crypto.randomInt(1, 65000);
			obj.spec.clusterIP = '10.96.' + (n >> 8) + '.' + (n & 255);
			obj.spec.clusterIPs = [obj.spec.clusterIP];
		}
		obj.spec.sessionAffinity = obj.spec.sessionAffinity || 'None';
		obj.spec.ipFamilies = obj.spec.ipFamilies || ['IPv4'];
		for (const p of obj.spec.ports || []) p.protocol = p.protocol || 'TCP';
	}
	if (plural === 'statefulsets') {
		obj.spec.revisionHistoryLimit = obj.spec.revisionHistoryLimit ?? 10;
		obj.spec.updateStrategy = obj.spec.updateStrategy || { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
		const ps = obj.spec.template.spec;
		ps.dnsPolicy = ps.dnsPolicy || 'ClusterFirst';
		ps.restartPolicy = ps.restartPolicy || 'Always';
		for (const c of ps.containers || []) {
			c.terminationMessagePath = c.terminationMessagePath || '/dev/termination-log';
			c.terminationMessagePolicy = c.terminationMessagePolicy || 'File';
		}
	}
	if (plural === 'secrets' && obj.stringData) {
		obj.data = obj.data || {};
		for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(v).toString('base64');
		delete obj.stringData;
	}
}

function sameSpec(a, b) { return JSON.stringify(a.spec ?? null) === JSON.stringify(b.spec ?? null); }

function readBody(req) {
	return new Promise((resolve) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks).toString()));
	});
}

function mergePatch(target, patch) {
	if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
	if (target === null || typeof target !== 'object' || Array.isArray(target)) target = {};
	for (const [k, v] of Object.entries(patch)) {
		if (v === null) delete target[k];
		else target[k] = mergePatch(target[k], v);
	}
	return target;
}

function list(res, pr, q) {
	let items = [];
	for (const [k, obj] of store) {
		const [plural, ns] = k.split('/');
		if (plural !== pr.plural || (pr.ns && ns !== pr.ns)) continue;
		if (!matches(obj, q.labelSelector) || !fieldsMatch(obj, q.fieldSelector)) continue;
		items.push(obj);
	}
	items.sort((a, b) => (a.metadata.namespace + '/' + a.metadata.name).localeCompare(b.metadata.namespace + '/' + b.metadata.name));
	const start = q.continue ? Number(Buffer.from(q.continue, 'base64').toString()) : 0;
	const limit = q.limit ? Number(q.limit) : 0;
	const meta = { resourceVersion: String(rv) };
	if (limit > 0 && start + limit < items.length) meta.continue = Buffer.from(String(start + limit)).toString('base64');
	items = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
	const k = kinds[pr.plural];
	send(res, 200, { kind: k.kind + 'List', apiVersion: apiVersion(k), metadata: meta, items });
}

function watch(req, res, pr, q) {
	const from = Number(q.resourceVersion || 0);
	res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
	if (from && from < oldest) {
		res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure',
			message: 'too old resource version: ' + from + ' (' + oldest + ')', reason: 'Expired', code: 410 } }) + '\n');
		return;
	}
	let last = from || rv;
	const w = {
		notify() {
			for (const e of history) {
				if (e.rv <= last || e.plural !== pr.plural || (pr.ns && e.ns !== pr.ns)) continue;
				res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
				last = e.rv;
			}
		},
		close() { watchers.delete(w); clearInterval(timer); clearTimeout(end); res.end(); },
	};
	watchers.add(w);
	w.notify();
	const timer = setInterval(() => {
		if (q.allowWatchBookmarks === 'true') {
			const k = kinds[pr.plural];
			res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: k.kind, apiVersion: apiVersion(k),
				metadata: { resourceVersion: String(Math.max(last, rv)) } } }) + '\n');
		}
	}, 1000);
	const end = setTimeout(() => w.close(), (Number(q.timeoutSeconds) || 1800) * 1000);
	req.on('close', () => { watchers.delete(w); clearInterval(timer); clearTimeout(end); });
}

async function handle(req, res) {
	const u = url.parse(req.url, true);
	const q = u.query;
	if (u.pathname.startsWith('/_test/')) return testEndpoint(req, res, u.pathname.slice(7), q);
	counts[req.method] = (counts[req.method] || 0) + 1;
	log.push(req.method + ' ' + req.url);
	if (req.method !== 'GET') {
		const ua = req.headers['user-agent'] || '';
		writers[ua] = (writers[ua] || 0) + 1;
	}
	if (token && req.headers.authorization !== 'Bearer ' + token)
		return status(res, 401, 'Unauthorized', 'Unauthorized');
	const f = failures.find((x) => x.count > 0 && (!x.method || x.method === req.method) &&
		(!x.path || req.url.includes(x.path)));
	if (f) {
		f.count--;
		const reasons = { 409: 'Conflict', 429: 'TooManyRequests', 503: 'ServiceUnavailable' };
		return status(res, f.status, reasons[f.status] || 'InternalError', 'injected failure');
	}
	const pr = parsePath(u.pathname);
	if (!pr || pr.extra) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
	const k = kinds[pr.plural];
	const body = await readBody(req);
	let obj = null;
	if (body) {
		try { obj = JSON.parse(body); } catch (e) { return status(res, 400, 'BadRequest', 'invalid JSON'); }
	}
	if (!pr.name) {
		if (req.method === 'GET') return q.watch === '1' || q.watch === 'true' ? watch(req, res, pr, q) : list(res, pr, q);
		if (req.method !== 'POST' || !pr.ns) return status(res, 405, 'MethodNotAllowed', 'method not allowed');
		if (!obj || !obj.metadata || !obj.metadata.name) return status(res, 422, 'Invalid', 'metadata.name: Required value');
		if (obj.metadata.namespace && obj.metadata.namespace !== pr.ns)
			return status(res, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
		const bad = invalid(pr.plural, pr.ns, obj) || schemaError(pr.plural, obj);
		if (bad) return status(res, 422, 'Invalid', k.kind + ' "' + obj.metadata.name + '" is invalid: ' + bad);
		const kk = key(pr.plural, pr.ns, obj.metadata.name);
		if (store.has(kk)) return status(res, 409, 'AlreadyExists', pr.plural + ' "' + obj.metadata.name + '" already exists');
		obj.kind = k.kind;
		obj.apiVersion = apiVersion(k);
		obj.metadata.namespace = pr.ns;
		obj.metadata.uid = crypto.randomUUID();
		obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
		obj.metadata.resourceVersion = String(++rv);
		if (!k.noGeneration) obj.metadata.generation = 1;
		if (k.status) delete obj.status;
		defaults(pr.plural, obj);
		store.set(kk, obj);
		record('ADDED', pr.plural, obj);
		return send(res, 201, obj);
	}
	const kk = key(pr.plural, pr.ns, pr.name);
	const cur = store.get(kk);
	if (pr.sub && !(pr.sub === 'status' && k.status)) return status(res, 404, 'NotFound', 'no such subresource');
	if (!cur) return status(res, 404, 'NotFound', pr.plural + ' "' + pr.name + '" not found', { details: { name: pr.name, kind: pr.plural } });
	if (req.method === 'GET') return send(res, 200, cur);
	if (req.method === 'DELETE') {
		if ((cur.metadata.finalizers || []).length > 0) {
			if (!cur.metadata.deletionTimestamp) {
				cur.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
				cur.metadata.resourceVersion = String(++rv);
				record('MODIFIED', pr.plural, cur);
			}
			return send(res, 202, cur);
		}
		store.delete(kk);
		const gone = JSON.parse(JSON.stringify(cur));
		gone.metadata.resourceVersion = String(++rv);
		record('DELETED', pr.plural, gone);
		return send(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name: pr.name } });
	}
	if (req.method === 'PUT' || req.method === 'PATCH') {
		let next;
		if (req.method === 'PATCH') {
			next = mergePatch(JSON.parse(JSON.stringify(cur)), obj);
		} else {
			if (!obj || !obj.metadata) return status(res, 400, 'BadRequest', 'no object');
			if (obj.metadata.resourceVersion === undefined || obj.metadata.resourceVersion === '')
				return status(res, 422, 'Invalid', 'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update');
			if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion)
				return status(res, 409, 'Conflict', 'Operation cannot be fulfilled on ' + pr.plural + ' "' + pr.name +
					'": the object has been modified; please apply your changes to the latest version and try again');
			next = obj;
		}
		if (next.metadata.name !== pr.name) return status(res, 400, 'BadRequest', 'name mismatch');
		const bad = (pr.sub ? null : invalid(pr.plural, pr.ns, next)) || schemaError(pr.plural, next, cur);
		if (bad) return status(res, 422, 'Invalid', k.kind + ' "' + pr.name + '" is invalid: ' + bad);
		next.kind = k.kind;
		next.apiVersion = apiVersion(k);
		next.metadata.namespace = pr.ns;
		next.metadata.uid = cur.metadata.uid;
		next.metadata.creationTimestamp = cur.metadata.creationTimestamp;
		if (cur.metadata.deletionTimestamp) next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
		if (k.status) {
			if (pr.sub === 'status') {
				const s = next.status;
				next = JSON.parse(JSON.stringify(cur));
				next.status = s;
			} else {
				next.status = cur.status;
			}
		}
		if (!k.noGeneration) next.metadata.generation = cur.metadata.generation + (sameSpec(cur, next) ? 0 : 1);
		if (pr.plural === 'services' && cur.spec.clusterIP && next.spec && next.spec.clusterIP && next.spec.clusterIP !== cur.spec.clusterIP)
			return status(res, 422, 'Invalid', 'spec.clusterIP: Invalid value: field is immutable');
		defaults(pr.plural, next);
		if (JSON.stringify(next) === JSON.stringify(cur)) return send(res, 200, cur);	// no-op: no new version
		next.metadata.resourceVersion = String(++rv);
		if (next.metadata.deletionTimestamp && (next.metadata.finalizers || []).length === 0) {
			store.delete(kk);
			record('DELETED', pr.plural, next);
			return send(res, 200, next);
		}
		store.set(kk, next);
		record('MODIFIED', pr.plural, next);
		return send(res, 200, next);
	}
	return status(res, 405, 'MethodNotAllowed', 'method not allowed');
}

async function testEndpoint(req, res, what, q) {
	await readBody(req);
	switch (what) {
	case 'requests':
		return send(res, 200, { counts, log, writers });
	case 'reset':
		counts = {};
		log = [];
		writers = {};
		return send(res, 200, {});
	case 'fail':
		if (q.clear) {
			failures = [];
			return send(res, 200, {});
		}
		failures.push({ count: Number(q.count || 1), status: Number(q.status || 500), method: q.method || null,
			path: q.path || null });
		return send(res, 200, {});
	case 'compact':
		oldest = rv + 1;
		history = [];
		return send(res, 200, { oldest });
	case 'close-watches':
		for (const w of [...watchers]) w.close();
		return send(res, 200, {});
	case 'schemas':
		checkSchemas = q.check !== '0';
		return send(res, 200, {});
	case 'objects': {
		const items = [];
		for (const [k, obj] of store) if (k.startsWith(q.plural + '/')) items.push(obj);
		return send(res, 200, { items });
	}
	default:
		return send(res, 404, {});
	}
}

const server = http.createServer((req, res) => {
	handle(req, res).catch((e) => {
		console.error(e);
		try { status(res, 500, 'InternalError', String(e)); } catch (e2) { /* already sent */ }
	});
});
server.keepAliveTimeout = 1000;
server.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(portFile + '.tmp', String(server.address().port));
	fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => process.exit(0));
