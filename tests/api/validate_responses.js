#!/usr/bin/env node
// Checks responses recorded by the e2e suite (tests/e2e/recorder.py, one
// JSON line each) against the services' OpenAPI documents: the path and
// method must be an operation, the status one of its documented responses,
// and a JSON body must match that response's schema (ajv, JSON Schema
// 2020-12 as OpenAPI 3.1 uses it).  Requests to no route (404), with a
// wrong method (405) or with oversized headers (libmicrohttpd's 431/414) get
// the server's own answers, which are only counted.
//
//   node tests/api/validate_responses.js responses.jsonl
// Prints one "ok"/"not ok" line per (service, method, path, status) seen,
// so that a run of 2,000 requests reads as a table; exit 1 on a failure.
'use strict';
const fs = require('fs');
const path = require('path');
const tools = process.env.MLPIPE_API_TOOLS || path.join(__dirname, '../../var/api-tools');
const Ajv2020 = require(path.join(tools, 'node_modules/ajv/dist/2020')).default;
const addFormats = require(path.join(tools, 'node_modules/ajv-formats'));

const top = path.join(__dirname, '../..');
const services = ['registry', 'preprocessing', 'inference'];

function escape(s) {
	return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

// path templates -> regexps, literal paths first (/docs before /docs/{file})
function routesOf(doc) {
	return Object.keys(doc.paths).map((p) => ({
		template: p,
		literal: !p.includes('{'),
		re: new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
	})).sort((a, b) => b.literal - a.literal);
}

const ajv = new Ajv2020({strict: false, allErrors: true});
addFormats(ajv);
ajv.addFormat('binary', true);
const docs = {};
for (const s of services) {
	const doc = JSON.parse(fs.readFileSync(path.join(top, 'services', s, 'openapi.json'), 'utf8'));
	doc.$id = `https://mlpipe.invalid/${s}/openapi.json`;
	ajv.addSchema(doc);
	docs[s] = {doc, routes: routesOf(doc)};
}

const results = new Map();	// key -> {n, errors: []}
function note(key, error) {
	if (!results.has(key))
		results.set(key, {n: 0, errors: []});
	const r = results.get(key);
	r.n++;
	if (error && r.errors.length < 3)
		r.errors.push(error);
}

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
let serverOwn = 0;
for (const line of lines) {
	const rec = JSON.parse(line);
	const {doc, routes} = docs[rec.service];
	const method = rec.method === 'HEAD' ? 'get' : rec.method.toLowerCase();
	const route = routes.find((r) => r.re.test(rec.path));
	const op = route && doc.paths[route.template][method];
	// libmicrohttpd's own answers to oversized headers, on any path
	if (rec.status === 431 || rec.status === 414) {
		serverOwn++;
		continue;
	}
	if (!op) {
		if (rec.status === 404 || rec.status === 405) {
			serverOwn++;
			continue;
		}
		note(`${rec.service} ${rec.method} ${rec.path} ${rec.status}`, 'no such operation in the document');
		continue;
	}
	const key = `${rec.service} ${rec.method} ${route.template} ${rec.status}`;
	const status = String(rec.status);
	const resp = op.responses[status] ? status : (op.responses.default ? 'default' : null);
	if (resp === null) {
		note(key, `status ${status} is not documented`);
		continue;
	}
	if (rec.body === null || rec.body === undefined) {
		note(key);
		continue;
	}
	let content = op.responses[resp].content;
	let pointer = `#/paths/${escape(route.template)}/${method}/responses/${resp}`;
	if (op.responses[resp].$ref) {
		pointer = op.responses[resp].$ref;
		content = pointer.split('/').slice(1).reduce((o, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc).content;
	}
	if (!content || !content['application/json']) {
		note(key, `a JSON body, but the document gives ${content ? Object.keys(content) : 'no content'}`);
		continue;
	}
	const validate = ajv.getSchema(`${doc.$id}${pointer}/content/application~1json/schema`);
	let body;
	try {
		body = JSON.parse(rec.body);
	} catch (e) {
		note(key, `body is not JSON: ${e.message}`);
		continue;
	}
	if (!validate(body))
		note(key, `${ajv.errorsText(validate.errors)} in ${rec.body.slice(0, 200)}`);
	else
		note(key);
}

let failed = 0;
for (const [key, r] of [...results.entries()].sort()) {
	if (r.errors.length) {
		failed++;
		console.log(`not ok - ${key} (${r.n} responses): ${r.errors.join(' | ')}`);
	} else
		console.log(`ok - ${key} (${r.n} responses match the document)`);
}
console.log(`# ${lines.length} responses, ${serverOwn} from no route, a wrong method or libmicrohttpd itself (431, 414)`);
process.exit(failed ? 1 : 0);
