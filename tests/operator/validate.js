#!/usr/bin/env node
// Validates Kubernetes objects against the API schemas of kubernetes-models
// (generated from Kubernetes' OpenAPI): every object rendered by
// `kbackup-operator render -o json`, and the YAML manifests in k8s/ after
// `render`'s YAML reader has turned them into JSON.
//   node validate.js FILE...   (.json: a List, an array or one object; .yaml: documents)
// BackupDefinitions and BackupStorageLocations are checked against the
// openAPIV3Schema of the CRDs in k8s/crds/ (with ajv; CEL rules are not run).
// Exits 1 naming each invalid object and what is wrong with it.
'use strict';
const fs = require('fs');

const validators = {
	'v1/Secret': 'kubernetes-models/v1/Secret',
	'v1/Service': 'kubernetes-models/v1/Service',
	'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
	'v1/Namespace': 'kubernetes-models/v1/Namespace',
	'apps/v1/StatefulSet': 'kubernetes-models/apps/v1/StatefulSet',
	'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
	'rbac.authorization.k8s.io/v1/ClusterRole': 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole',
	'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding',
	'rbac.authorization.k8s.io/v1/Role': 'kubernetes-models/rbac.authorization.k8s.io/v1/Role',
	'rbac.authorization.k8s.io/v1/RoleBinding': 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
	'apiextensions.k8s.io/v1/CustomResourceDefinition':
		'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition',
};

function objects(v) {
	if (Array.isArray(v)) return v.flatMap(objects);
	if (v && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) return v.items.flatMap(objects);
	return [v];
}

// Kubernetes object names and label values, which the schemas do not check.
const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function extraChecks(o) {
	const errs = [];
	const md = o.metadata || {};
	if (!md.name || !dns1123.test(md.name) || md.name.length > 253) errs.push('metadata.name is not a DNS-1123 subdomain');
	if (o.kind === 'Service' && (!dns1035.test(md.name) || md.name.length > 63)) errs.push('Service name is not a DNS-1035 label');
	if (o.kind === 'StatefulSet' && md.name.length > 52) errs.push('StatefulSet name longer than 52');
	for (const labels of [md.labels, o.spec && o.spec.template && o.spec.template.metadata && o.spec.template.metadata.labels]) {
		for (const [k, v] of Object.entries(labels || {})) {
			if (v.length > 63 || !labelValue.test(v)) errs.push('label ' + k + ': invalid value ' + v);
		}
	}
	return errs;
}

function load(file) {
	const text = fs.readFileSync(file, 'utf8');
	if (file.endsWith('.json')) return objects(JSON.parse(text));
	return objects(require('js-yaml').loadAll(text).filter((d) => d !== null && d !== undefined));
}

// The CRDs' own schemas, for our kinds.
const crdSchemas = {};
{
	const path = require('path');
	const Ajv = require('ajv');
	const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
	const dir = path.join(__dirname, '..', '..', 'k8s', 'crds');
	for (const f of fs.readdirSync(dir)) {
		for (const crd of load(path.join(dir, f))) {
			for (const v of crd.spec.versions) {
				crdSchemas[crd.spec.group + '/' + v.name + '/' + crd.spec.names.kind] =
					ajv.compile(v.schema.openAPIV3Schema);
			}
		}
	}
}

let bad = 0, n = 0;
for (const file of process.argv.slice(2)) {
	for (const o of load(file)) {
		const id = file + ': ' + o.kind + ' ' + (o.metadata && o.metadata.name);
		const mod = validators[o.apiVersion + '/' + o.kind];
		n++;
		if (!mod) {
			const check = crdSchemas[o.apiVersion + '/' + o.kind];
			if (check) {
				if (!check(o)) {
					bad++;
					console.error(id + ': ' + check.errors.map((e) => e.instancePath + ' ' + e.message).join('; '));
				}
				continue;
			}
			console.error(id + ': no validator for ' + o.apiVersion + '/' + o.kind);
			bad++;
			continue;
		}
		const M = require(mod);
		const Cls = M.default || M[o.kind] || Object.values(M).find((v) => typeof v === 'function');
		const errs = extraChecks(o);
		try {
			new Cls(o).validate();
		} catch (e) {
			errs.push(e.message);
		}
		if (errs.length) {
			bad++;
			console.error(id + ': ' + errs.join('; '));
		}
	}
}
console.log(n + ' objects, ' + bad + ' invalid');
process.exit(bad ? 1 : 0);
