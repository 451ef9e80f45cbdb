#!/usr/bin/env node
'use strict';
// Validates every Kubernetes manifest under k8s/ (and k8s/scale-out/)
// against the Kubernetes API, offline, in two independent ways:
//
//  schema  the JSON schemas generated from Kubernetes' OpenAPI document, as
//          shipped and compiled by the npm module kubernetes-models (types,
//          required fields, enums, formats);
//  strict  the TypeScript declarations of the API (npm kubernetes-types),
//          through the TypeScript compiler: an object literal with a field
//          the API does not have ("readinessProbes", "nodeport") is an
//          error, which the schemas above let through.
//
// Custom resources: CloudNativePG's Cluster is checked against
// tests/deploy/schemas/cnpg-cluster.json (the part of the CRD's schema that
// mlpipe uses, written for it; no npm package ships the CRD), with ajv.
//
// Prints "ok - ..." / "not ok - ..." per document; exits 1 on any failure.
const fs = require('fs');
const path = require('path');
const { tool, optionalTool, toolsDir, rootArg, manifests, rel, report, finish } = require('./lib/common');

const root = rootArg(process.argv);
const customSchemas = {
	'postgresql.cnpg.io/v1 Cluster': path.join(__dirname, 'schemas', 'cnpg-cluster.json'),
};


let docs;
try {
	docs = manifests(root);
} catch (e) {
	report(false, 'k8s: YAML parses', e.message);
	process.exit(1);
}
if (docs.length === 0)
	report(false, 'k8s: manifests found', `no YAML under ${root}/k8s`);

// "apps/v1" -> "apps/v1", "v1" -> "v1" (core group)
function modelPath(apiVersion, kind) {
	return `kubernetes-models/${apiVersion}/${kind}`;
}
// kubernetes-types keeps the core group under core/
function typesPath(apiVersion) {
	return `kubernetes-types/${apiVersion.includes('/') ? apiVersion : 'core/' + apiVersion}`;
}

const strictDocs = [];
for (const d of docs) {
	const o = d.obj;
	const where = `${rel(root, d.file)}#${d.index}`;
	const name = `${where} ${o && o.kind}/${o && o.metadata && o.metadata.name}`;
	if (!o || typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') {
		report(false, `schema ${where}`, 'apiVersion and kind are required');
		continue;
	}
	if (!o.metadata || typeof o.metadata.name !== 'string' || !o.metadata.name) {
		report(false, `schema ${name}`, 'metadata.name is required');
		continue;
	}
	const custom = customSchemas[`${o.apiVersion} ${o.kind}`];
	if (custom) {
		const Ajv = tool('ajv');
		const validate = new (Ajv.default || Ajv)({ allErrors: true }).compile(JSON.parse(fs.readFileSync(custom, 'utf8')));
		const ok = validate(o);
		report(ok, `schema ${name} (custom resource, ${rel(root, custom)})`,
			ok ? '' : validate.errors.map((x) => `${x.instancePath || '/'} ${x.message} ${JSON.stringify(x.params)}`));
		continue;
	}
	const mod = optionalTool(modelPath(o.apiVersion, o.kind));
	const Model = mod && mod[o.kind];
	if (!Model) {
		report(false, `schema ${name}`, `unknown apiVersion/kind ${o.apiVersion} ${o.kind}`);
		continue;
	}
	try {
		new Model(o).validate();
		report(true, `schema ${name}`);
	} catch (e) {
		const errs = (e.errors || []).map((x) => `${x.instancePath || '/'} ${x.message} ${x.params ? JSON.stringify(x.params) : ''}`);
		report(false, `schema ${name}`, errs.length ? errs : e.message);
	}
	strictDocs.push({ name, o });
}

// strict: one TypeScript file, one typed constant per document
if (strictDocs.length) {
	const ts = tool('typescript');
	const lines = [];
	const owner = []; // line number -> document
	strictDocs.forEach((d, i) => {
		const text = `const doc${i}: import(${JSON.stringify(typesPath(d.o.apiVersion))}).${d.o.kind} = ` +
			JSON.stringify(d.o, null, 1) + ';';
		for (const l of text.split('\n')) {
			lines.push(l);
			owner.push(i);
		}
	});
	lines.push('export {};');
	const dir = fs.mkdtempSync(path.join(toolsDir, 'strict-'));
	const file = path.join(dir, 'manifests.ts');
	fs.writeFileSync(file, lines.join('\n'));
	const program = ts.createProgram([file], {
		noEmit: true, strict: true, skipLibCheck: true, types: [],
		module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
		target: ts.ScriptTarget.ES2020,
	});
	const perDoc = strictDocs.map(() => []);
	const other = [];
	for (const diag of ts.getPreEmitDiagnostics(program)) {
		const msg = ts.flattenDiagnosticMessageText(diag.messageText, ' ');
		if (diag.file && diag.file.fileName === file && diag.start !== undefined) {
			const { line } = diag.file.getLineAndCharacterOfPosition(diag.start);
			perDoc[owner[line]].push(`${lines[line].trim()}: ${msg}`);
		} else {
			other.push(msg);
		}
	}
	fs.rmSync(dir, { recursive: true, force: true });
	if (other.length)
		report(false, 'strict: TypeScript check ran', other);
	strictDocs.forEach((d, i) => report(perDoc[i].length === 0, `strict fields ${d.name}`, perDoc[i]));
}

finish();
