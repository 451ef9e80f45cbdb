'use strict';
// Shared by the deployment checks: where the validators are installed, and
// reading the project's deployment files (from the repository, or from the
// folder given with --root, which the self-tests point at a broken copy).
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const top = path.resolve(__dirname, '..', '..', '..');
const toolsDir = process.env.MLPIPE_DEPLOY_TOOLS || path.join(top, 'var', 'deploy-tools');

// require() of a module installed by tests/deploy/install.sh
function tool(name) {
	const req = createRequire(path.join(toolsDir, 'package.json'));
	try {
		return req(name);
	} catch (e) {
		if (e.code === 'MODULE_NOT_FOUND') {
			console.error(`missing ${name}: run tests/deploy/install.sh`);
			process.exit(2);
		}
		throw e;
	}
}

// like tool(), but undefined when that module (not one of its dependencies)
// does not exist: kubernetes-models has one module per apiVersion and kind
function optionalTool(name) {
	const req = createRequire(path.join(toolsDir, 'package.json'));
	let file;
	try {
		file = req.resolve(name);
	} catch (e) {
		return undefined;
	}
	return req(file);
}

function rootArg(argv) {
	const i = argv.indexOf('--root');
	return i >= 0 && argv[i + 1] ? path.resolve(argv[i + 1]) : top;
}

// Every YAML document of a file, with the merge key (<<) applied as compose
// does.  A parse error is an error of the file, reported by the caller.
function loadYamlDocs(file) {
	const YAML = tool('yaml');
	const text = fs.readFileSync(file, 'utf8');
	const docs = YAML.parseAllDocuments(text, { merge: true, uniqueKeys: true });
	const out = [];
	for (const d of docs) {
		if (d.errors.length)
			throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
		const v = d.toJS({ maxAliasCount: 100 });
		if (v !== null && v !== undefined)
			out.push(v);
	}
	return out;
}

// The manifests `kubectl apply -f k8s/` applies, then the scale-out ones.
function manifestFiles(root) {
	const list = [];
	for (const dir of ['k8s', path.join('k8s', 'scale-out')]) {
		const abs = path.join(root, dir);
		if (!fs.existsSync(abs))
			continue;
		for (const f of fs.readdirSync(abs).sort())
			if (/\.ya?ml$/.test(f))
				list.push(path.join(abs, f));
	}
	return list;
}

function manifests(root) {
	const out = [];
	for (const file of manifestFiles(root))
		loadYamlDocs(file).forEach((obj, index) => out.push({ file, index, obj }));
	return out;
}

function rel(root, file) {
	return path.relative(root, file);
}

// TAP-like output shared by the checkers: report() prints one ok / not ok
// line (details as # comments) and counts failures; finish() exits 1 if any.
let failures = 0;
function report(ok, what, detail) {
	console.log(`${ok ? 'ok' : 'not ok'} - ${what}`);
	if (!ok) {
		failures++;
		for (const line of [].concat(detail || []))
			console.log(`#   ${line}`);
	}
}
function finish() {
	process.exit(failures ? 1 : 0);
}

module.exports = { top, toolsDir, tool, optionalTool, rootArg, loadYamlDocs, manifestFiles, manifests, rel, report, finish };
