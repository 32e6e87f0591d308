#!/usr/bin/env node
// A tiny kubectl for the reconcile tests, talking to apiserver.js (Node stdlib only).
//   kctl.js SERVER create FILE|-            POST each object (JSON object, array or List)
//   kctl.js SERVER get PATH [EXPR]          print the object, or the JS expression of o
//   kctl.js SERVER edit PATH 'JS on o'      GET, run the statement, PUT back
//   kctl.js SERVER delete PATH              DELETE; prints the status code
//   kctl.js SERVER count PLURAL             number of stored objects of a plural
//   kctl.js SERVER events NS NAME           "TYPE REASON MESSAGE" per Event about that object,
//                                           oldest first (what `kubectl describe` lists)
//   kctl.js SERVER bulk N NS                create N BackupDefinitions def-0..N-1 in NS
//   kctl.js SERVER bulk-delete N NS         delete them again
//   kctl.js SERVER writes                   POST+PUT+PATCH+DELETE since the last reset
//   kctl.js SERVER counts                   request counts by method since the last reset
//   kctl.js SERVER writers                  writes by User-Agent since the last reset (JSON),
//                                           but kctl's own (User-Agent: kctl)
//   kctl.js SERVER wait PATH EXPR VALUE [S] until EXPR on the object prints VALUE (S seconds,
//                                           default 60); exit 1 with the last value if not
//   kctl.js SERVER test WHAT [QUERY]        POST /_test/WHAT?QUERY
'use strict';
const http = require('http');
const fs = require('fs');

const [server, cmd, ...args] = process.argv.slice(2);

function request(method, path, body) {
	return new Promise((resolve, reject) => {
		const u = new URL(server + path);
		const data = body === undefined ? null : JSON.stringify(body);
		const req = http.request({ method, hostname: u.hostname, port: u.port, path: u.pathname + u.search,
			headers: Object.assign({ 'User-Agent': 'kctl' },
				data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}) },
		(res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString();
				let json = null;
				try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
				resolve({ status: res.statusCode, body: json });
			});
		});
		req.on('error', reject);
		if (data) req.write(data);
		req.end();
	});
}

const plurals = {
	Secret: '/api/v1/namespaces/NS/secrets',
	Service: '/api/v1/namespaces/NS/services',
	StatefulSet: '/apis/apps/v1/namespaces/NS/statefulsets',
	BackupDefinition: '/apis/kbackup.io/v1alpha1/namespaces/NS/backupdefinitions',
	BackupStorageLocation: '/apis/kbackup.io/v1alpha1/namespaces/NS/backupstoragelocations',
	BackupRun: '/apis/kbackup.io/v1alpha1/namespaces/NS/backupruns',
	BackupRestore: '/apis/kbackup.io/v1alpha1/namespaces/NS/backuprestores',
	Lease: '/apis/coordination.k8s.io/v1/namespaces/NS/leases',
};

function objects(v) {
	if (Array.isArray(v)) return v.flatMap(objects);
	if (v && v.kind && v.kind.endsWith('List')) return v.items.flatMap(objects);
	return [v];
}

async function create(o) {
	const path = plurals[o.kind].replace('NS', o.metadata.namespace || 'default');
	const r = await request('POST', path, o);
	if (r.status !== 201) throw new Error('create ' + o.kind + ' ' + o.metadata.name + ': ' + r.status + ' ' + JSON.stringify(r.body));
}

async function main() {
	switch (cmd) {
	case 'create': {
		const text = fs.readFileSync(args[0] === '-' ? 0 : args[0], 'utf8');
		for (const o of objects(JSON.parse(text))) await create(o);
		return;
	}
	case 'get': {
		const r = await request('GET', args[0]);
		if (r.status !== 200) { console.log('NOTFOUND'); process.exitCode = 1; return; }
		const o = r.body; // eslint-disable-line no-unused-vars
		const v = args[1] ? eval(args[1]) : o;
		console.log(typeof v === 'string' ? v : JSON.stringify(v));
		return;
	}
	case 'edit': {
		for (let i = 0; i < 5; i++) {
			const r = await request('GET', args[0]);
			const o = r.body;
			eval(args[1]);
			const p = await request('PUT', args[0], o);
			if (p.status === 200) return;
			if (p.status !== 409) throw new Error('edit: ' + p.status + ' ' + JSON.stringify(p.body));
		}
		throw new Error('edit: conflicts');
	}
	case 'delete': {
		const r = await request('DELETE', args[0]);
		console.log(r.status);
		return;
	}
	case 'count': {
		const r = await request('GET', '/_test/objects?plural=' + args[0]);
		console.log(r.body.items.length);
		return;
	}
	case 'events': {
		const sel = encodeURIComponent('involvedObject.namespace=' + args[0] + ',involvedObject.name=' + args[1]);
		const r = await request('GET', '/api/v1/namespaces/' + args[0] + '/events?fieldSelector=' + sel);
		if (r.status !== 200) throw new Error('events: ' + r.status + ' ' + JSON.stringify(r.body));
		const items = r.body.items.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
		for (const e of items) console.log(e.type + ' ' + e.reason + ' ' + e.message);
		return;
	}
	case 'bulk': {
		const n = Number(args[0]);
		for (let i = 0; i < n; i++) {
			await create({ apiVersion: 'kbackup.io/v1alpha1', kind: 'BackupDefinition',
				metadata: { name: 'def-' + i, namespace: args[1] },
				spec: { engine: 'postgres', settings: { host: 'db-' + i, port: 5432, user: 'backup', database: 'db' + i },
					passwordSecretRef: { name: 'db-password', key: 'password' },
					storageLocation: 's3-main', schedule: '@daily' } });
		}
		return;
	}
	case 'bulk-delete': {
		for (let i = 0; i < Number(args[0]); i++)
			await request('DELETE', '/apis/kbackup.io/v1alpha1/namespaces/' + args[1] + '/backupdefinitions/def-' + i);
		return;
	}
	case 'counts':
	case 'writes': {
		const r = await request('GET', '/_test/requests');
		const c = r.body.counts;
		if (cmd === 'writes') console.log((c.POST || 0) + (c.PUT || 0) + (c.PATCH || 0) + (c.DELETE || 0));
		else console.log(Object.keys(c).sort().map((k) => k + '=' + c[k]).join(' '));
		return;
	}
	case 'writers': {
		const r = await request('GET', '/_test/requests');
		delete r.body.writers.kctl;
		console.log(JSON.stringify(r.body.writers));
		return;
	}
	case 'wait': {
		const until = Date.now() + 1000 * Number(args[3] || 60);
		let v;
		for (;;) {
			const r = await request('GET', args[0]);
			const o = r.body; // eslint-disable-line no-unused-vars
			try { v = r.status === 200 ? eval(args[1]) : 'NOTFOUND'; } catch (e) { v = 'ERROR ' + e.message; }
			if (typeof v !== 'string') v = JSON.stringify(v);
			if (v === args[2]) return;
			if (Date.now() > until) { console.log(v); process.exitCode = 1; return; }
			await new Promise((res) => setTimeout(res, 200));
		}
	}
	case 'test': {
		await request('POST', '/_test/' + args[0] + (args[1] ? '?' + args[1] : ''));
		return;
	}
	default:
		throw new Error('unknown command ' + cmd);
	}
}

main().catch((e) => { console.error('kctl: ' + e.message); process.exit(1); });
