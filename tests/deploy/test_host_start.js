#!/usr/bin/env node
'use strict';
// Starts the real service binaries on this host exactly as the Kubernetes
// Deployments and the compose file start them: the same command and
// arguments (the image's /usr/local/bin/X is build/bin/X here), the same
// environment variable NAMES, the probes' own paths.  A broken command,
// port variable or probe path fails here, not in a cluster.
//
// Values come from the throwaway test cluster (PGHOST, PGPORT, PGDATABASE
// of the caller); the port is a free one, under the variable the manifest
// names.  PGUSER is the service's own role, as the manifest gives it (a
// literal, or the username of the Secret it names), else mlpipe_<service>:
// sql/roles.sql is run first (it is idempotent) so that the roles exist, and
// the readiness probe then proves the role can log in.  PGPASSWORD is empty:
// the test cluster trusts local connections.  Prints ok / not ok lines.
const fs = require('fs');
const net = require('net');
const path = require('path');
const http = require('http');
const { spawn, spawnSync } = require('child_process');
const { loadYamlDocs, manifests } = require('./lib/common');
const { parse, execForm, envOf, finalStage, last } = require('./lib/dockerfile');

const top = path.resolve(__dirname, '..', '..');
const results = [];
const ok = (cond, what) => { results.push(cond); console.log(`${cond ? 'ok' : 'not ok'} - ${what}`); };

for (const v of ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE'])
	if (!process.env[v]) {
		console.log(`not ok - host start: ${v} is not set (run through make test)`);
		process.exit(1);
	}

// The test database gets the extension and the services' roles (as the
// caller, a superuser), whichever suites ran before this one.
{
	const roles = path.join(top, 'sql', 'roles.sql');
	const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-c', 'SET client_min_messages = warning', '-c', 'CREATE EXTENSION IF NOT EXISTS mlpipe',
		'-f', roles], { encoding: 'utf8' });
	ok(r.status === 0, `host start: psql -f sql/roles.sql in ${process.env.PGDATABASE}`);
	if (r.status !== 0) {
		console.log(String(r.stderr || r.error).split('\n').map((l) => `#   ${l}`).join('\n'));
		process.exit(1);
	}
}

// The role a service logs in as: the manifest's literal, else mlpipe_<x>
// for the binary mlpipe-<x> (sql/roles.sql names them so).
function serviceRole(literalUser, binary) {
	return literalUser !== undefined ? literalUser : path.basename(binary).replace(/-/g, '_');
}

// What a value from a Secret or ConfigMap stands for on this host.
function localValue(name, port, role) {
	switch (name) {
		case 'PORT': return String(port);
		case 'PGHOST': return process.env.PGHOST;
		case 'PGPORT': return process.env.PGPORT;
		case 'PGUSER': return role;
		case 'PGDATABASE': return process.env.PGDATABASE;
		case 'PGPASSWORD': return '';
		case 'MLPIPE_API_TOKEN': return 'host-start-token';
		default: return undefined;
	}
}

function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
		srv.on('error', reject);
	});
}

function get(port, p) {
	return new Promise((resolve) => {
		const req = http.get({ host: '127.0.0.1', port, path: p, timeout: 2000 }, (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode));
		});
		req.on('error', () => resolve(0));
		req.on('timeout', () => { req.destroy(); resolve(0); });
	});
}

async function waitFor(port, p, want, ms) {
	const end = Date.now() + ms;
	let code = 0;
	while (Date.now() < end) {
		code = await get(port, p);
		if (code === want)
			return code;
		await new Promise((r) => setTimeout(r, 100));
	}
	return code;
}

// The image's absolute path to the binary, mapped onto build/bin.
function hostCommand(cmd) {
	const bin = path.join(top, 'build', 'bin', path.basename(cmd[0]));
	return [bin, ...cmd.slice(1)];
}

// The image's HEALTHCHECK command (/usr/local/bin/mlpipe-healthcheck is
// docker/healthcheck.sh), run against the service on `port`.
function runHealthcheck(hcArgs, port) {
	const argv = execForm(hcArgs.replace(/^.*?\bCMD\s+/, ''));
	const script = path.join(top, 'docker', 'healthcheck.sh');
	return new Promise((resolve) => {
		const p = spawn('bash', [script, ...argv.slice(1)], { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: 'ignore' });
		p.on('exit', (code) => resolve(code));
	});
}

async function runOne(label, cmd, envNames, envLiteral, containerPort, probes, graceSeconds, hc, role) {
	const port = await freePort();
	const env = { PATH: process.env.PATH };
	for (const name of envNames) {
		const local = localValue(name, port, role);
		const literal = envLiteral[name];
		// a literal in the manifest is used as is (HOST=0.0.0.0), but the
		// port must be a free one and the database the test's own
		const value = local !== undefined ? local : literal;
		if (value !== undefined)
			env[name] = value;
	}
	ok(envNames.includes('PORT'), `${label}: the manifest sets PORT`);
	ok(Number(envLiteral.PORT) === containerPort, `${label}: PORT ${envLiteral.PORT} is the container port ${containerPort}`);
	const [bin, ...args] = hostCommand(cmd);
	ok(fs.existsSync(bin), `${label}: ${cmd[0]} exists as ${path.relative(top, bin)}`);
	ok(env.PGUSER === role && role !== process.env.PGUSER, `${label}: logs in as its own role ${env.PGUSER}, not as ${process.env.PGUSER}`);
	const child = spawn(bin, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
	let stderr = '';
	child.stderr.on('data', (d) => { stderr += d; });
	const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
	try {
		for (const [kind, p] of probes)
			ok(await waitFor(port, p, 200, 10000) === 200, `${label}: ${kind} probe ${p} answers 200`);
		ok(await get(port, '/metrics') === 200, `${label}: /metrics answers 200`);
		if (hc)
			ok(await runHealthcheck(hc.args, port) === 0, `${label}: the image's HEALTHCHECK command passes`);
	} finally {
		const t0 = Date.now();
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), graceSeconds * 1000);
		const { code } = await exited;
		clearTimeout(timer);
		ok(code === 0, `${label}: SIGTERM ends it with status 0 within the ${graceSeconds} s grace period (${Date.now() - t0} ms)`);
		if (code !== 0)
			console.log(stderr.split('\n').slice(-5).map((l) => `#   ${l}`).join('\n'));
	}
}

async function main() {
	// Kubernetes Deployments
	const all = manifests(top).filter((m) => !m.file.includes('scale-out'));
	const deployments = all.filter((m) => m.obj.kind === 'Deployment');
	// a value the manifests spell out: literal, or a Secret's stringData
	const manifestValue = (e) => {
		if (!e)
			return undefined;
		if ('value' in e)
			return String(e.value);
		const r = (e.valueFrom || {}).secretKeyRef;
		const sec = r && all.find((m) => m.obj.kind === 'Secret' && m.obj.metadata.name === r.name);
		const v = sec && Object.assign({}, sec.obj.stringData)[r.key];
		return v === undefined ? undefined : String(v);
	};
	ok(deployments.length === 3, `three Deployments (${deployments.length})`);
	for (const { obj } of deployments) {
		const spec = obj.spec.template.spec;
		const c = spec.containers[0];
		const envNames = (c.env || []).map((e) => e.name);
		const literal = Object.fromEntries((c.env || []).filter((e) => 'value' in e).map((e) => [e.name, String(e.value)]));
		const portOf = (p) => (typeof p === 'number' ? p : (c.ports.find((x) => x.name === p) || {}).containerPort);
		const probes = [['readiness', c.readinessProbe], ['liveness', c.livenessProbe]]
			.map(([k, pr]) => [k, pr.httpGet.path, portOf(pr.httpGet.port)]);
		for (const [kind, , p] of probes)
			ok(p === c.ports[0].containerPort, `k8s ${obj.metadata.name}: ${kind} probe targets the container port`);
		const role = serviceRole(manifestValue((c.env || []).find((e) => e.name === 'PGUSER')), (c.command || [])[0] || '');
		await runOne(`k8s ${obj.metadata.name}`, c.command || [], envNames, literal, c.ports[0].containerPort,
			probes.map(([k, p]) => [k, p]), spec.terminationGracePeriodSeconds || 30, undefined, role);
	}

	// docker compose: the service images' CMD with the compose environment
	const compose = loadYamlDocs(path.join(top, 'docker', 'docker-compose.yml'))[0];
	for (const name of ['model-registry', 'preprocessing-service', 'inference-service']) {
		const svc = compose.services[name];
		const file = path.join(top, 'docker', `Dockerfile.${name === 'model-registry' ? 'model_registry' : name.replace(/-/g, '_')}`);
		const stage = finalStage(parse(file));
		const cmd = execForm(last(stage, 'CMD').args);
		const envImage = {};
		for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV'))
			Object.assign(envImage, envOf(ins.args));
		const hc = last(stage, 'HEALTHCHECK');
		const envCompose = svc.environment || {};
		const names = [...new Set([...Object.keys(envImage), ...Object.keys(envCompose)])];
		const literal = { ...envImage };
		const port = Number(envImage.PORT);
		ok(Boolean(hc) && /\/healthz/.test(hc.args), `compose ${name}: the image's HEALTHCHECK probes /healthz`);
		// compose interpolates ${VAR:-default}: the host sees the default
		for (const [k, v] of Object.entries(envCompose)) {
			const m = /^\$\{[A-Z_]+:-([^}]*)\}$/.exec(String(v));
			if (m || !/\$/.test(String(v)))
				literal[k] = m ? m[1] : String(v);
		}
		const role = serviceRole(envCompose.PGUSER === undefined ? undefined : String(envCompose.PGUSER), (svc.command || cmd)[0]);
		await runOne(`compose ${name}`, svc.command || cmd, names, literal, port,
			[['healthcheck', '/healthz'], ['readiness', '/readyz']], 30, hc, role);
	}
	const failed = results.filter((r) => !r).length;
	process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.log(`not ok - host start: ${e.stack}`); process.exit(1); });
