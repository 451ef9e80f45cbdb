#!/usr/bin/env node
'use strict';
// Checks that the Dockerfiles, docker/docker-compose.yml and the Kubernetes
// manifests agree with each other and with the services' contract
// (docs/http.md): ports, commands, environment variable names, probe paths,
// image names, NodePorts, autoscaler and disruption-budget targets, the
// order in which `kubectl apply -f k8s/` creates what others refer to; and
// least privilege: each service logs in as its own role of sql/roles.sql with
// its own password (never as the owner), the bootstrap sets exactly those
// passwords, the CloudNativePG Cluster makes the same roles and grants as
// sql/roles.sql, and the body-size limits are where an operator looks.
//
//   check_consistency.js [--root DIR]   prints ok / not ok lines
//   check_consistency.js --describe     prints, as JSON, how each service
//                                       image starts (command, environment,
//                                       port, probe paths), for tests that
//                                       start the real binaries the same way
const fs = require('fs');
const path = require('path');
const { rootArg, loadYamlDocs, manifests, rel, report, finish } = require('./lib/common');
const { parse, execForm, envOf, finalStage, last } = require('./lib/dockerfile');

const root = rootArg(process.argv);

// The contract: names as in the old deployment document, ports from docs/http.md.
// role: its LOGIN role in sql/roles.sql, passwordVar: the bootstrap's
// variable for that role's password; limit: the body-size setting its
// manifests spell out, with the services' default.
const SERVICES = [
	{ name: 'model-registry', dockerfile: 'Dockerfile.model_registry', binary: 'mlpipe-registry', port: 8000, nodePort: 30000,
		role: 'mlpipe_registry', passwordVar: 'MLPIPE_REGISTRY_PASSWORD', limit: ['MLPIPE_MAX_UPLOAD', 67108864] },
	{ name: 'preprocessing-service', dockerfile: 'Dockerfile.preprocessing_service', binary: 'mlpipe-preprocessing', port: 8001, nodePort: 30001,
		role: 'mlpipe_preprocessing', passwordVar: 'MLPIPE_PREPROCESSING_PASSWORD', limit: ['MLPIPE_MAX_BATCH_BODY', 16777216] },
	{ name: 'inference-service', dockerfile: 'Dockerfile.inference_service', binary: 'mlpipe-inference', port: 8002, nodePort: 30002,
		role: 'mlpipe_inference', passwordVar: 'MLPIPE_INFERENCE_PASSWORD', limit: ['MLPIPE_MAX_BATCH_BODY', 16777216] },
];
// What the services read from their environment (docs/http.md, and
// `mlpipe-registry --help`); libpq reads any PG* variable itself.
const SERVICE_ENV = /^(PG[A-Z]+|DATABASE_URL|HOST|PORT|MLPIPE_API_TOKEN|MLPIPE_MAX_BODY|MLPIPE_MAX_UPLOAD|MLPIPE_MAX_BATCH_BODY|MLPIPE_THREADS|MLPIPE_DISPATCHERS|MLPIPE_LOG_FILE|MLPIPE_LOG_MAX_BYTES)$/;
// The limits' range as the services accept it (1 byte .. 1 GB - 1 byte,
// PostgreSQL's largest value).
const LIMIT_MAX = 1073741823;
const READY = '/readyz';
const LIVE = '/healthz';
const NAMESPACE = 'mlpipe';

// run one group of checks: fn pushes problems
function check(what, fn) {
	const problems = [];
	try {
		fn(problems);
	} catch (e) {
		problems.push(`check crashed: ${e.message}`);
	}
	report(problems.length === 0, what, problems);
}

// ---- inputs ---------------------------------------------------------------
const dockerfiles = {};
for (const s of SERVICES.map((x) => x.dockerfile).concat(['Dockerfile.postgres'])) {
	const file = path.join(root, 'docker', s);
	dockerfiles[s] = fs.existsSync(file) ? parse(file) : null;
}
const composeFile = path.join(root, 'docker', 'docker-compose.yml');
let compose = {};
try {
	compose = loadYamlDocs(composeFile)[0] || {};
} catch (e) {
	report(false, 'compose file parses', e.message);
}
const csvc = compose.services || {};
let docs = [];
try {
	docs = manifests(root);
} catch (e) {
	report(false, 'k8s manifests parse', e.message);
}
const isBase = (d) => path.dirname(d.file) === path.join(root, 'k8s');
const base = docs.filter(isBase);
const scaleOut = docs.filter((d) => !isBase(d));
const find = (list, kind, name) => list.find((d) => d.obj.kind === kind && d.obj.metadata.name === name);

// sql/roles.sql of the repository (not of --root: the self-tests mutate only
// docker/ and k8s/): its group roles, its LOGIN roles with their groups, and
// its GRANT / REVOKE statements, whitespace-normalized.
const norm = (t) => t.replace(/\s+/g, ' ').replace(/\s*([(),])\s*/g, '$1').trim();
function readRoles() {
	const file = path.join(__dirname, '..', '..', 'sql', 'roles.sql');
	if (!fs.existsSync(file))
		return null;
	const text = fs.readFileSync(file, 'utf8').replace(/--[^\n]*/g, '').replace(/^\\[^\n]*$/mg, '');
	const arrays = [...text.matchAll(/ARRAY\[([^\]]*)\]\s+LOOP[\s\S]*?CREATE ROLE %I (NOLOGIN|LOGIN)/g)];
	const names = (a) => a[1].split(',').map((x) => x.trim().replace(/^'|'$/g, ''));
	const groups = arrays.filter((a) => a[2] === 'NOLOGIN').flatMap(names);
	const logins = arrays.filter((a) => a[2] === 'LOGIN').flatMap(names);
	const statements = text.replace(/DO\s+\$\$[\s\S]*?\$\$\s*;/g, '').split(';').map(norm)
		.filter((x) => /^(GRANT|REVOKE)\b/i.test(x));
	// GRANT a, b TO login_role: memberships
	const memberOf = Object.fromEntries(logins.map((r) => [r, []]));
	const privileges = [];
	for (const st of statements) {
		const m = /^GRANT ([a-z_, ]+) TO ([a-z_]+)$/.exec(st);
		if (m && memberOf[m[2]])
			memberOf[m[2]].push(...m[1].split(',').map((x) => x.trim()));
		else
			privileges.push(st);
	}
	return { groups, logins, memberOf, privileges };
}
const roles = readRoles();
if (!roles)
	report(false, 'sql/roles.sql exists');

// the value of a key of a Secret manifest (stringData, else base64 data)
function secretValue(d, key) {
	if (!d)
		return undefined;
	if (d.obj.stringData && key in d.obj.stringData)
		return String(d.obj.stringData[key]);
	if (d.obj.data && key in d.obj.data)
		return Buffer.from(String(d.obj.data[key]), 'base64').toString('utf8');
	return undefined;
}
// a limit's value: a decimal byte count the services accept; a compose
// value may be ${VAR:-default}, whose default counts
function limitProblem(name, raw, want) {
	const m = /^\$\{([A-Z_]+):-(\d+)\}$/.exec(raw === undefined ? '' : String(raw));
	if (m && m[1] !== name)
		return `${name} defaults from \${${m[1]}}`;
	const v = m ? m[2] : raw;
	if (v === undefined)
		return `no ${name} (default ${want})`;
	if (!/^\d+$/.test(String(v)) || Number(v) < 1 || Number(v) > LIMIT_MAX)
		return `${name}=${v} is no byte count between 1 and ${LIMIT_MAX}`;
	if (Number(v) !== want)
		return `${name}=${v}, expected the services' default ${want}`;
	return null;
}

// ---- the image of each service -------------------------------------------
function imageFacts(s) {
	const df = dockerfiles[s.dockerfile];
	if (!df)
		return null;
	const fin = finalStage(df);
	const env = {};
	for (const ins of fin.instructions.filter((i) => i.keyword === 'ENV'))
		Object.assign(env, envOf(ins.args));
	const cmd = last(fin, 'CMD');
	const hc = last(fin, 'HEALTHCHECK');
	const expose = fin.instructions.filter((i) => i.keyword === 'EXPOSE')
		.flatMap((i) => i.args.split(/\s+/)).map((p) => parseInt(p, 10));
	const copies = fin.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/));
	const user = last(fin, 'USER');
	return {
		env, expose, copies,
		cmd: cmd ? execForm(cmd.args) : null,
		cmdShell: cmd ? cmd.args : null,
		healthcheck: hc ? hc.args : null,
		user: user ? user.args : null,
	};
}

if (process.argv.includes('--describe')) {
	const out = {};
	for (const s of SERVICES) {
		const f = imageFacts(s);
		out[s.name] = {
			image: `${s.name}:latest`, dockerfile: `docker/${s.dockerfile}`,
			command: f && f.cmd, binary: s.binary, env: f && f.env, port: s.port,
			readiness: READY, liveness: LIVE, metrics: '/metrics',
		};
	}
	console.log(JSON.stringify(out, null, 2));
	process.exit(0);
}

// ---- Dockerfiles ------------------------------------------------------------
for (const s of SERVICES) {
	check(`dockerfile ${s.dockerfile}: command, port, HOST, healthcheck`, (p) => {
		const f = imageFacts(s);
		if (!f)
			return p.push('missing');
		const want = `/usr/local/bin/${s.binary}`;
		if (!f.cmd)
			p.push(`CMD must be exec form ["${want}"], is ${f.cmdShell}`);
		else if (f.cmd[0] !== want)
			p.push(`CMD runs ${f.cmd[0]}, expected ${want}`);
		if (!f.copies.some((c) => c[c.length - 1] === want && c.some((a) => a.endsWith(`/${s.binary}`))))
			p.push(`no COPY puts ${s.binary} at ${want}`);
		if (f.env.PORT !== String(s.port))
			p.push(`ENV PORT=${f.env.PORT}, expected ${s.port}`);
		if (f.env.HOST !== '0.0.0.0')
			p.push(`ENV HOST=${f.env.HOST}: the services bind 127.0.0.1 unless HOST=0.0.0.0`);
		if (!f.expose.includes(s.port))
			p.push(`EXPOSE ${f.expose.join(' ')} lacks ${s.port}`);
		for (const k of Object.keys(f.env))
			if (!SERVICE_ENV.test(k))
				p.push(`ENV ${k} is not read by the services`);
		if (!f.healthcheck || !f.healthcheck.includes(LIVE))
			p.push(`HEALTHCHECK must probe ${LIVE}: ${f.healthcheck}`);
		const hcExec = f.healthcheck && execForm(f.healthcheck.replace(/^.*?\bCMD\s+/, ''));
		if (hcExec && !f.copies.some((c) => c[c.length - 1] === hcExec[0]))
			p.push(`HEALTHCHECK runs ${hcExec[0]}, which no COPY installs`);
	});
}
check('dockerfile Dockerfile.postgres: extension, bootstrap, generator, SQL', (p) => {
	const df = dockerfiles['Dockerfile.postgres'];
	if (!df)
		return p.push('missing');
	const t = df.text;
	for (const [re, why] of [
		[/make -C pg_extension/, 'builds the extension'],
		[/make -C pg_extension install/, 'installs the extension'],
		[/mlpipe-gen-purchases/, 'ships the generator'],
		[/docker\/bootstrap\.sh\s+\S*\/usr\/local\/bin\/mlpipe-bootstrap/, 'installs docker/bootstrap.sh as mlpipe-bootstrap'],
		[/sql\/\*\.sql/, 'ships sql/*.sql'],
		[/libxgboost0/, 'installs libxgboost0 at run time'],
		[/libjansson4/, 'installs libjansson4 at run time'],
		[/pg_isready/, 'has a pg_isready HEALTHCHECK'],
	])
		if (!re.test(t))
			p.push(`does not: ${why}`);
	const boot = path.join(root, 'docker', 'bootstrap.sh');
	if (!fs.existsSync(boot))
		p.push('docker/bootstrap.sh is missing');
	else if (!/\$sql_dir\/roles\.sql/.test(fs.readFileSync(boot, 'utf8')))
		p.push('docker/bootstrap.sh does not run $sql_dir/roles.sql (which sql/*.sql puts into the image)');
	if (/postgresql-server-dev/.test(finalStage(df).instructions.map((i) => i.args).join('\n')))
		p.push('the runtime stage installs build dependencies');
});

// ---- compose ------------------------------------------------------------------
function envMap(e) {
	if (Array.isArray(e))
		return Object.fromEntries(e.map((x) => { const i = x.indexOf('='); return i < 0 ? [x, ''] : [x.slice(0, i), x.slice(i + 1)]; }));
	return Object.fromEntries(Object.entries(e || {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
}
function dependsOn(svc) {
	const d = svc.depends_on || {};
	return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, 'service_started'])) :
		Object.fromEntries(Object.entries(d).map(([k, v]) => [k, (v && v.condition) || 'service_started']));
}
const pg = csvc.postgres;
check('compose postgres: image, named volume, pg_isready healthcheck', (p) => {
	if (!pg)
		return p.push('no service "postgres"');
	if (!pg.build || pg.build.dockerfile !== 'docker/Dockerfile.postgres')
		p.push('not built from docker/Dockerfile.postgres');
	const vols = (pg.volumes || []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
	const data = vols.find((v) => v.endsWith(':/var/lib/postgresql/data'));
	if (!data)
		p.push('no volume on /var/lib/postgresql/data');
	else if (!(compose.volumes || {})[data.split(':')[0]])
		p.push(`${data.split(':')[0]} is not a named volume`);
	const test = [].concat((pg.healthcheck || {}).test || []).join(' ');
	if (!/pg_isready/.test(test))
		p.push(`healthcheck is not pg_isready: ${test}`);
});
check('compose bootstrap: one-shot mlpipe-bootstrap after a healthy postgres', (p) => {
	const b = csvc.bootstrap;
	if (!b)
		return p.push('no service "bootstrap"');
	if (!pg || b.image !== pg.image)
		p.push(`image ${b.image} is not the postgres image ${pg && pg.image}`);
	if ([].concat(b.command || []).join(' ') !== 'mlpipe-bootstrap')
		p.push(`command ${b.command} is not mlpipe-bootstrap`);
	if (dependsOn(b).postgres !== 'service_healthy')
		p.push('does not wait for postgres: service_healthy');
	if (b.restart && b.restart !== 'no')
		p.push(`restart: ${b.restart} would run it again and again`);
	const env = envMap(b.environment);
	if (env.PGHOST !== 'postgres')
		p.push(`PGHOST=${env.PGHOST}, expected the service name postgres`);
});
for (const s of SERVICES) {
	check(`compose ${s.name}: build, image, port, environment, start order`, (p) => {
		const c = csvc[s.name];
		if (!c)
			return p.push(`no service "${s.name}"`);
		if (!c.build || c.build.dockerfile !== `docker/${s.dockerfile}`)
			p.push(`not built from docker/${s.dockerfile}`);
		if (c.image !== `${s.name}:latest`)
			p.push(`image ${c.image}, expected ${s.name}:latest`);
		const env = envMap(c.environment);
		if (env.PORT !== String(s.port))
			p.push(`PORT=${env.PORT}, expected ${s.port}`);
		if (env.HOST !== '0.0.0.0')
			p.push(`HOST=${env.HOST}, expected 0.0.0.0`);
		for (const k of Object.keys(env))
			if (!SERVICE_ENV.test(k))
				p.push(`environment ${k} is not read by the services`);
		if (!env.DATABASE_URL && !(env.PGHOST && env.PGUSER && env.PGDATABASE))
			p.push('no database settings (PGHOST, PGUSER, PGDATABASE or DATABASE_URL)');
		if (env.PGHOST && !csvc[env.PGHOST])
			p.push(`PGHOST=${env.PGHOST} is no compose service`);
		const lp = limitProblem(s.limit[0], env[s.limit[0]], s.limit[1]);
		if (lp)
			p.push(lp);
		// the host side may be ${VAR:-port}: its default is what users get
		const ports = (c.ports || []).map(String);
		const published = ports.map((x) => x.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1'));
		if (!published.some((x) => x.endsWith(`:${s.port}`) && x.split(':').slice(-2)[0] === String(s.port)))
			p.push(`ports ${ports.join(',')} do not publish ${s.port}:${s.port}`);
		const dep = dependsOn(c);
		if (dep.postgres !== 'service_healthy')
			p.push('does not wait for postgres: service_healthy');
		if (dep.bootstrap !== 'service_completed_successfully')
			p.push('does not wait for bootstrap: service_completed_successfully');
		if (c.healthcheck && ![].concat(c.healthcheck.test || []).join(' ').includes(LIVE))
			p.push('healthcheck overrides the image one without probing /healthz');
	});
}

// Each service its own role and password; bootstrap, as the owner, sets
// exactly those passwords.
check('compose roles: each service logs in as its own role with its own password, never as the owner', (p) => {
	const owner = pg ? envMap(pg.environment).POSTGRES_USER : undefined;
	const ownerPw = pg ? envMap(pg.environment).POSTGRES_PASSWORD : undefined;
	const boot = csvc.bootstrap ? envMap(csvc.bootstrap.environment) : {};
	if (!owner)
		p.push('postgres sets no POSTGRES_USER');
	if (boot.PGUSER !== owner)
		p.push(`bootstrap connects as ${boot.PGUSER}, not as the owner ${owner} (it creates the roles)`);
	const users = {}, passwords = {};
	for (const s of SERVICES) {
		const c = csvc[s.name];
		if (!c)
			continue;
		const env = envMap(c.environment);
		if (env.DATABASE_URL)
			p.push(`${s.name}: DATABASE_URL hides which role it uses: set PGUSER ${s.role}`);
		if (env.PGUSER !== s.role)
			p.push(`${s.name}: PGUSER=${env.PGUSER}, expected its own role ${s.role}`);
		if (env.PGUSER && env.PGUSER === owner)
			p.push(`${s.name}: PGUSER is the owner ${owner}`);
		if (!env.PGPASSWORD)
			p.push(`${s.name}: no PGPASSWORD`);
		else {
			if (env.PGPASSWORD === ownerPw)
				p.push(`${s.name}: PGPASSWORD is the owner's`);
			if (passwords[env.PGPASSWORD])
				p.push(`${s.name}: PGPASSWORD is also ${passwords[env.PGPASSWORD]}'s`);
			passwords[env.PGPASSWORD] = s.name;
			if (boot[s.passwordVar] !== env.PGPASSWORD)
				p.push(`${s.name}: bootstrap's ${s.passwordVar} (${boot[s.passwordVar]}) is not its PGPASSWORD (${env.PGPASSWORD})`);
		}
		if (env.PGUSER && users[env.PGUSER])
			p.push(`${s.name}: PGUSER ${env.PGUSER} is also ${users[env.PGUSER]}'s`);
		users[env.PGUSER] = s.name;
		if (roles && !roles.logins.includes(s.role))
			p.push(`${s.role} is no LOGIN role of sql/roles.sql`);
	}
});

// ---- Kubernetes ------------------------------------------------------------------
const secrets = base.filter((d) => d.obj.kind === 'Secret');
const configMaps = (list) => list.filter((d) => d.obj.kind === 'ConfigMap');
function keysOf(d) {
	return new Set(Object.keys(Object.assign({}, d.obj.data, d.obj.stringData)));
}
function labelsMatch(selector, labels) {
	const ml = (selector && (selector.matchLabels || selector)) || {};
	return Object.keys(ml).length > 0 && Object.entries(ml).every(([k, v]) => (labels || {})[k] === v);
}
// env references must resolve: secretKeyRef / configMapKeyRef / envFrom
function checkRefs(p, container, list) {
	for (const e of container.env || []) {
		const vf = e.valueFrom || {};
		const ref = vf.secretKeyRef || vf.configMapKeyRef;
		if (!ref)
			continue;
		const kind = vf.secretKeyRef ? 'Secret' : 'ConfigMap';
		const src = find(list, kind, ref.name);
		if (!src)
			p.push(`env ${e.name}: ${kind} ${ref.name} is not defined`);
		else if (!keysOf(src).has(ref.key))
			p.push(`env ${e.name}: ${kind} ${ref.name} has no key ${ref.key}`);
	}
	for (const ef of container.envFrom || []) {
		const ref = ef.configMapRef || ef.secretRef;
		const kind = ef.configMapRef ? 'ConfigMap' : 'Secret';
		if (ref && !find(list, kind, ref.name))
			p.push(`envFrom: ${kind} ${ref.name} is not defined`);
	}
}
function containerPort(container, port) {
	if (typeof port === 'number')
		return port;
	const named = (container.ports || []).find((x) => x.name === port);
	return named ? named.containerPort : undefined;
}

check('k8s namespace: every object in namespace mlpipe', (p) => {
	if (!find(base, 'Namespace', NAMESPACE))
		p.push(`no Namespace ${NAMESPACE}`);
	for (const d of docs)
		if (d.obj.kind !== 'Namespace' && d.obj.metadata.namespace !== NAMESPACE)
			p.push(`${rel(root, d.file)} ${d.obj.kind}/${d.obj.metadata.name} is in namespace ${d.obj.metadata.namespace}`);
});

check('k8s apply order: what an object refers to comes in an earlier file', (p) => {
	const fileOf = (kind, name) => { const d = find(base, kind, name); return d ? path.basename(d.file) : null; };
	const before = (d, kind, name) => {
		const f = fileOf(kind, name);
		if (f && f > path.basename(d.file))
			p.push(`${path.basename(d.file)} uses ${kind}/${name} from the later ${f}`);
	};
	for (const d of base) {
		if (d.obj.kind !== 'Namespace')
			before(d, 'Namespace', d.obj.metadata.namespace);
		const spec = d.obj.spec || {};
		const pod = (spec.template && spec.template.spec) || null;
		if (pod)
			for (const c of [].concat(pod.containers || [], pod.initContainers || [])) {
				for (const e of c.env || []) {
					const vf = e.valueFrom || {};
					if (vf.secretKeyRef) before(d, 'Secret', vf.secretKeyRef.name);
					if (vf.configMapKeyRef) before(d, 'ConfigMap', vf.configMapKeyRef.name);
				}
				for (const ef of c.envFrom || []) {
					if (ef.configMapRef) before(d, 'ConfigMap', ef.configMapRef.name);
					if (ef.secretRef) before(d, 'Secret', ef.secretRef.name);
				}
			}
		if (d.obj.kind === 'HorizontalPodAutoscaler')
			before(d, spec.scaleTargetRef.kind, spec.scaleTargetRef.name);
		if (d.obj.kind === 'Job')
			before(d, 'StatefulSet', 'postgres');
	}
});

check('k8s postgres: StatefulSet of 1 with a 1Gi claim, pg_isready probes, headless and client Services', (p) => {
	const sts = find(base, 'StatefulSet', 'postgres');
	if (!sts)
		return p.push('no StatefulSet postgres');
	const spec = sts.obj.spec;
	if (spec.replicas !== 1)
		p.push(`replicas ${spec.replicas}, expected 1`);
	const vct = (spec.volumeClaimTemplates || [])[0];
	if (!vct || vct.spec.resources.requests.storage !== '1Gi')
		p.push('no volumeClaimTemplate of 1Gi');
	const c = spec.template.spec.containers[0];
	if (!labelsMatch(spec.selector, spec.template.metadata.labels))
		p.push('selector does not match the pod labels');
	if (vct && !(c.volumeMounts || []).some((m) => m.name === vct.metadata.name && m.mountPath === '/var/lib/postgresql/data'))
		p.push('the claim is not mounted on /var/lib/postgresql/data');
	for (const probe of ['readinessProbe', 'livenessProbe']) {
		const cmd = ((c[probe] || {}).exec || {}).command || [];
		if (!cmd.join(' ').includes('pg_isready'))
			p.push(`${probe} is not pg_isready`);
	}
	const headless = find(base, 'Service', spec.serviceName);
	if (!headless || headless.obj.spec.clusterIP !== 'None')
		p.push(`serviceName ${spec.serviceName} is not a headless Service`);
	const client = find(base, 'Service', 'postgres');
	if (!client || client.obj.spec.clusterIP === 'None')
		p.push('no client Service postgres');
	for (const svc of [headless, client])
		if (svc && !labelsMatch(svc.obj.spec.selector, spec.template.metadata.labels))
			p.push(`Service ${svc.obj.metadata.name} selects no postgres pod`);
	if (c.image !== (csvc.postgres || {}).image)
		p.push(`image ${c.image} differs from compose ${(csvc.postgres || {}).image}`);
	checkRefs(p, c, base);
});

check('k8s bootstrap Job: mlpipe-bootstrap from the postgres image, settings resolve', (p) => {
	const job = base.find((d) => d.obj.kind === 'Job');
	if (!job)
		return p.push('no Job');
	const c = job.obj.spec.template.spec.containers[0];
	if ([].concat(c.command || [], c.args || []).join(' ') !== 'mlpipe-bootstrap')
		p.push(`runs ${c.command}, expected mlpipe-bootstrap`);
	if (c.image !== (csvc.postgres || {}).image)
		p.push(`image ${c.image} is not the postgres image`);
	if (!['OnFailure', 'Never'].includes(job.obj.spec.template.spec.restartPolicy))
		p.push('restartPolicy must be OnFailure or Never');
	checkRefs(p, c, base);
});

for (const s of SERVICES) {
	check(`k8s ${s.name}: Deployment agrees with its image and compose`, (p) => {
		const dep = find(base, 'Deployment', s.name);
		if (!dep)
			return p.push(`no Deployment ${s.name}`);
		const pod = dep.obj.spec.template;
		const c = pod.spec.containers[0];
		const f = imageFacts(s) || {};
		if (c.image !== `${s.name}:latest`)
			p.push(`image ${c.image}, expected ${s.name}:latest`);
		if (c.image !== (csvc[s.name] || {}).image)
			p.push('image differs from the compose file');
		if (c.command && f.cmd && JSON.stringify(c.command) !== JSON.stringify(f.cmd))
			p.push(`command ${JSON.stringify(c.command)} differs from the image CMD ${JSON.stringify(f.cmd)}`);
		if (!(c.ports || []).some((x) => x.containerPort === s.port))
			p.push(`no containerPort ${s.port}`);
		const env = Object.fromEntries((c.env || []).map((e) => [e.name, e.value]));
		if (env.PORT !== String(s.port))
			p.push(`env PORT=${env.PORT}, expected ${s.port}`);
		if (env.HOST !== '0.0.0.0')
			p.push(`env HOST=${env.HOST}, expected 0.0.0.0`);
		for (const e of c.env || [])
			if (!SERVICE_ENV.test(e.name))
				p.push(`env ${e.name} is not read by the services`);
		for (const k of ['PGHOST', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'])
			if (!(k in env) && !('DATABASE_URL' in env))
				p.push(`no ${k}`);
		const pw = (c.env || []).find((e) => e.name === 'PGPASSWORD');
		if (pw && !(pw.valueFrom && pw.valueFrom.secretKeyRef))
			p.push('PGPASSWORD does not come from a Secret');
		const lim = (c.env || []).find((e) => e.name === s.limit[0]);
		const lp = limitProblem(s.limit[0], lim && lim.value, s.limit[1]);
		if (lp)
			p.push(lim && !('value' in lim) ? `${s.limit[0]} must be a literal value here, where an operator sees it` : lp);
		const tok = (c.env || []).find((e) => e.name === 'MLPIPE_API_TOKEN');
		if (!tok || !(tok.valueFrom && tok.valueFrom.secretKeyRef))
			p.push('MLPIPE_API_TOKEN does not come from a Secret');
		checkRefs(p, c, base);
		for (const [probe, want] of [['readinessProbe', READY], ['livenessProbe', LIVE]]) {
			const g = (c[probe] || {}).httpGet;
			if (!g)
				p.push(`no ${probe}.httpGet`);
			else {
				if (g.path !== want)
					p.push(`${probe} path ${g.path}, expected ${want}`);
				if (containerPort(c, g.port) !== s.port)
					p.push(`${probe} port ${g.port} is not ${s.port}`);
			}
		}
		const r = c.resources || {};
		if ((r.requests || {}).cpu !== '100m' || (r.limits || {}).cpu !== '500m')
			p.push(`cpu ${JSON.stringify(r)}: expected requests 100m, limits 500m`);
		if (!(r.requests || {}).memory || !(r.limits || {}).memory)
			p.push('memory requests and limits are required');
		if (!(pod.spec.terminationGracePeriodSeconds > 0))
			p.push('no terminationGracePeriodSeconds');
		if (!labelsMatch(dep.obj.spec.selector, pod.metadata.labels))
			p.push('selector does not match the pod labels');
		const sc = Object.assign({}, pod.spec.securityContext, c.securityContext);
		if (!sc.runAsNonRoot)
			p.push('runAsNonRoot is not set');
		if (f.user && sc.runAsUser !== undefined && String(sc.runAsUser) !== f.user.split(':')[0])
			p.push(`runAsUser ${sc.runAsUser} differs from the image USER ${f.user}`);
		// the services' database host must exist in both setups
		const ph = (c.env || []).find((e) => e.name === 'PGHOST');
		const ref = ph && ph.valueFrom && ph.valueFrom.configMapKeyRef;
		if (ref) {
			const cm = find(base, 'ConfigMap', ref.name);
			const host = cm && Object.assign({}, cm.obj.data)[ref.key];
			if (host && !find(base, 'Service', host))
				p.push(`PGHOST ${host} (${ref.name}.${ref.key}) is no Service`);
			const so = find(scaleOut, 'ConfigMap', ref.name);
			const cluster = scaleOut.find((d) => d.obj.kind === 'Cluster');
			const soHost = so && Object.assign({}, so.obj.data)[ref.key];
			if (so && (!soHost || !cluster || !/^-(rw|ro|r)$/.test(soHost.slice(cluster.obj.metadata.name.length)) ||
				!soHost.startsWith(cluster.obj.metadata.name)))
				p.push(`scale-out PGHOST ${soHost} is no service of the CloudNativePG Cluster`);
		}
	});
	check(`k8s ${s.name}: NodePort ${s.nodePort}, autoscaler 2..10 at 50% CPU, disruption budget`, (p) => {
		const dep = find(base, 'Deployment', s.name);
		const labels = dep ? dep.obj.spec.template.metadata.labels : {};
		const c = dep ? dep.obj.spec.template.spec.containers[0] : {};
		const svc = find(base, 'Service', s.name);
		if (!svc)
			p.push(`no Service ${s.name} (the old host name)`);
		else {
			const sp = svc.obj.spec;
			const port = (sp.ports || [])[0] || {};
			if (sp.type !== 'NodePort')
				p.push(`Service type ${sp.type}, expected NodePort`);
			if (port.nodePort !== s.nodePort)
				p.push(`nodePort ${port.nodePort}, expected ${s.nodePort}`);
			if (port.port !== s.port)
				p.push(`port ${port.port}, expected ${s.port}`);
			if (containerPort(c, port.targetPort === undefined ? port.port : port.targetPort) !== s.port)
				p.push(`targetPort ${port.targetPort} does not reach container port ${s.port}`);
			if (!labelsMatch(sp.selector, labels))
				p.push('selector matches no pod of the Deployment');
		}
		const hpa = find(base, 'HorizontalPodAutoscaler', s.name);
		if (!hpa)
			p.push('no HorizontalPodAutoscaler');
		else {
			const h = hpa.obj.spec;
			if (hpa.obj.apiVersion !== 'autoscaling/v2')
				p.push(`apiVersion ${hpa.obj.apiVersion}, expected autoscaling/v2`);
			if (h.scaleTargetRef.kind !== 'Deployment' || h.scaleTargetRef.name !== s.name)
				p.push(`scales ${h.scaleTargetRef.kind}/${h.scaleTargetRef.name}`);
			if (h.minReplicas !== 2 || h.maxReplicas !== 10)
				p.push(`replicas ${h.minReplicas}..${h.maxReplicas}, expected 2..10`);
			const cpu = (h.metrics || []).find((m) => m.type === 'Resource' && m.resource.name === 'cpu');
			if (!cpu || cpu.resource.target.type !== 'Utilization' || cpu.resource.target.averageUtilization !== 50)
				p.push('no CPU target of 50% utilization');
			if (dep && dep.obj.spec.replicas !== undefined && dep.obj.spec.replicas < h.minReplicas)
				p.push(`Deployment replicas ${dep.obj.spec.replicas} below the autoscaler minimum`);
		}
		const pdb = docs.find((d) => d.obj.kind === 'PodDisruptionBudget' && labelsMatch(d.obj.spec.selector, labels));
		if (!pdb)
			p.push('no PodDisruptionBudget selects its pods');
		else if (pdb.obj.spec.minAvailable !== undefined && pdb.obj.spec.minAvailable >= 2)
			p.push('minAvailable >= the autoscaler minimum would block every drain');
	});
}

// Each Deployment: PGUSER and PGPASSWORD from its own Secret, whose username
// is its role; the bootstrap Job sets the password from the same key.
function envRef(container, name) {
	const e = (container.env || []).find((x) => x.name === name);
	if (!e)
		return null;
	if ('value' in e)
		return { value: String(e.value) };
	const r = (e.valueFrom || {}).secretKeyRef;
	return r ? { secret: r.name, key: r.key } : { other: true };
}
const refText = (r) => (!r ? 'nothing' : r.value !== undefined ? `"${r.value}"` : r.secret ? `${r.secret}.${r.key}` : 'not a Secret');
const sameRef = (a, b) => Boolean(a && b && a.secret && a.secret === b.secret && a.key === b.key);
function ownerOfK8s() {
	const sts = find(base, 'StatefulSet', 'postgres');
	const c = sts && sts.obj.spec.template.spec.containers[0];
	return c ? { user: envRef(c, 'POSTGRES_USER'), password: envRef(c, 'POSTGRES_PASSWORD') } : {};
}
check('k8s roles: each Deployment logs in as its own role from its own Secret, never as the owner; the Job sets those passwords', (p) => {
	const owner = ownerOfK8s();
	const ownerName = owner.user && (owner.user.value || secretValue(find(base, 'Secret', owner.user.secret), owner.user.key));
	if (!ownerName)
		p.push('the postgres StatefulSet names no owner (POSTGRES_USER)');
	const job = base.find((d) => d.obj.kind === 'Job');
	const jc = job && job.obj.spec.template.spec.containers[0];
	if (jc && !sameRef(envRef(jc, 'PGUSER'), owner.user) && (envRef(jc, 'PGUSER') || {}).value !== ownerName)
		p.push(`the bootstrap Job's PGUSER is ${refText(envRef(jc, 'PGUSER'))}, not the owner's ${refText(owner.user)}`);
	const seen = [];
	const ownerPassword = owner.password && secretValue(find(base, 'Secret', owner.password.secret), owner.password.key);
	for (const s of SERVICES) {
		const dep = find(base, 'Deployment', s.name);
		if (!dep)
			continue;
		const c = dep.obj.spec.template.spec.containers[0];
		const u = envRef(c, 'PGUSER'), pw = envRef(c, 'PGPASSWORD');
		const uSecret = u && u.secret && find(base, 'Secret', u.secret);
		const user = u && (u.value !== undefined ? u.value : secretValue(uSecret, u.key));
		if (user !== s.role)
			p.push(`${s.name}: PGUSER ${refText(u)} is ${user}, expected its own role ${s.role}`);
		if (user === ownerName || sameRef(u, owner.user))
			p.push(`${s.name}: PGUSER ${refText(u)} is the owner ${ownerName}`);
		if (!pw || !pw.secret)
			p.push(`${s.name}: PGPASSWORD ${refText(pw)} does not come from a Secret`);
		else {
			if (sameRef(pw, owner.password))
				p.push(`${s.name}: PGPASSWORD ${refText(pw)} is the owner's password`);
			if (u && u.secret && u.secret !== pw.secret)
				p.push(`${s.name}: PGUSER from ${u.secret} but PGPASSWORD from ${pw.secret}: keep a role and its password in one Secret`);
			const pwValue = secretValue(find(base, 'Secret', pw.secret), pw.key);
			if (pwValue !== undefined && pwValue === ownerPassword)
				p.push(`${s.name}: the password in ${refText(pw)} equals the owner's`);
			for (const o of seen) {
				if (sameRef(o.u, u) || (u && u.value !== undefined && o.u && o.u.value === u.value))
					p.push(`${s.name} and ${o.name} share PGUSER ${refText(u)}`);
				if (sameRef(o.pw, pw))
					p.push(`${s.name} and ${o.name} share PGPASSWORD ${refText(pw)}`);
				else if (pwValue !== undefined && pwValue === o.pwValue)
					p.push(`${s.name} and ${o.name} have the same password`);
			}
			seen.push({ name: s.name, u, pw, pwValue });
			const sec = find(base, 'Secret', pw.secret);
			if (sec && sec.obj.type !== 'kubernetes.io/basic-auth')
				p.push(`Secret ${pw.secret} must be kubernetes.io/basic-auth (CloudNativePG managed roles read it)`);
		}
		if (jc && !sameRef(envRef(jc, s.passwordVar), pw))
			p.push(`the bootstrap Job's ${s.passwordVar} is ${refText(jc && envRef(jc, s.passwordVar))}, not ${s.name}'s PGPASSWORD ${refText(pw)}`);
	}
});

check('k8s scale-out: not applied by `kubectl apply -f k8s/`, overrides only known settings', (p) => {
	// kubectl apply -f DIR is not recursive: anything under k8s/scale-out/ stays out
	if (!scaleOut.some((d) => d.obj.kind === 'Cluster'))
		p.push('no CloudNativePG Cluster in k8s/scale-out/');
	const so = find(scaleOut, 'ConfigMap', 'mlpipe-db');
	const b = find(base, 'ConfigMap', 'mlpipe-db');
	if (so && b) {
		const a = [...keysOf(so)].sort().join(' ');
		const c = [...keysOf(b)].sort().join(' ');
		if (a !== c)
			p.push(`scale-out ConfigMap keys [${a}] differ from the base ones [${c}]`);
	}
	const cl = scaleOut.find((d) => d.obj.kind === 'Cluster');
	if (cl) {
		const sec = ((cl.obj.spec.bootstrap || {}).initdb || {}).secret;
		if (sec && !find(base, 'Secret', sec.name))
			p.push(`Cluster uses Secret ${sec.name}, which k8s/ does not define`);
		if (sec && find(base, 'Secret', sec.name) && find(base, 'Secret', sec.name).obj.type !== 'kubernetes.io/basic-auth')
			p.push(`Secret ${sec.name} must be kubernetes.io/basic-auth for CloudNativePG`);
	}
	if (cl && roles) {
		// managed roles: each service's LOGIN role, its groups, its Secret
		const managed = ((cl.obj.spec.managed || {}).roles || []);
		for (const s of SERVICES) {
			const r = managed.find((x) => x.name === s.role);
			const dep = find(base, 'Deployment', s.name);
			const pw = dep && envRef(dep.obj.spec.template.spec.containers[0], 'PGPASSWORD');
			if (!r) {
				p.push(`spec.managed.roles has no ${s.role}`);
				continue;
			}
			if (r.login !== true || (r.ensure || 'present') !== 'present' || r.superuser || r.createrole || r.createdb)
				p.push(`managed role ${s.role}: must be present, login, nothing more`);
			const want = [...(roles.memberOf[s.role] || [])].sort().join(',');
			const have = [...(r.inRoles || [])].sort().join(',');
			if (want !== have)
				p.push(`managed role ${s.role}: inRoles [${have}], sql/roles.sql grants [${want}]`);
			if (!r.passwordSecret || !pw || r.passwordSecret.name !== pw.secret || pw.key !== 'password')
				p.push(`managed role ${s.role}: passwordSecret ${(r.passwordSecret || {}).name} is not ${s.name}'s Secret ${pw && pw.secret} (key password)`);
		}
		// postInitApplicationSQL: the groups and every privilege of sql/roles.sql
		const sqls = ((cl.obj.spec.bootstrap || {}).initdb || {}).postInitApplicationSQL || [];
		const have = new Set(sqls.map((x) => norm(String(x)).replace(/;$/, '')));
		for (const g of roles.groups)
			if (!have.has(`CREATE ROLE ${g} NOLOGIN`))
				p.push(`postInitApplicationSQL does not CREATE ROLE ${g} NOLOGIN (sql/roles.sql)`);
		for (const st of roles.privileges)
			if (!have.has(st))
				p.push(`postInitApplicationSQL lacks, from sql/roles.sql: ${st}`);
	}
	if (!fs.existsSync(path.join(root, 'k8s', 'scale-out', 'citus_batch_scoring.sql')))
		p.push('no Citus batch scoring example');
});


// ---- the images suite ----------------------------------------------------------
// tests/images/run.sh builds the images of the compose file and starts them;
// what the Kubernetes manifests run must be exactly those images (names and
// tags), or the images that users deploy are not the ones make test tried.
function podImages(obj, out) {
	if (Array.isArray(obj)) {
		for (const x of obj)
			podImages(x, out);
	} else if (obj && typeof obj === 'object') {
		for (const k of ['containers', 'initContainers'])
			for (const c of Array.isArray(obj[k]) ? obj[k] : [])
				if (c && c.image)
					out.push(c.image);
		for (const v of Object.values(obj))
			podImages(v, out);
	}
	return out;
}
check('images suite: it builds every image the compose file builds and the manifests run', (p) => {
	let file = path.join(root, 'tests', 'images', 'run.sh');
	if (!fs.existsSync(file))	// a self-test's copy holds only docker/ and k8s/
		file = path.join(__dirname, '..', 'images', 'run.sh');
	const m = /^stack_images="([^"]*)"/m.exec(fs.readFileSync(file, 'utf8'));
	if (!m)
		return p.push(`${rel(root, file)} sets no stack_images="..."`);
	const suite = new Set(m[1].split(/\s+/).filter(Boolean));
	const built = new Set(Object.values(csvc).filter((c) => c.build && c.image).map((c) => c.image));
	for (const i of built)
		if (!suite.has(i))
			p.push(`compose builds ${i}, which the images suite does not check`);
	for (const i of suite)
		if (!built.has(i))
			p.push(`the images suite checks ${i}, which the compose file does not build`);
	for (const d of docs)
		for (const i of podImages(d.obj, []))
			if (!suite.has(i))
				p.push(`${rel(root, d.file)} runs ${i}, which the images suite does not build`);
	// users build on the official image; the suite passes its stand-in
	const df = dockerfiles['Dockerfile.postgres'];
	const arg = df && df.instructions.find((i) => i.keyword === 'ARG' && /^PG_BASE=/.test(i.args));
	const dflt = arg ? arg.args.replace(/^PG_BASE=/, '') : undefined;
	if (dflt !== 'postgres:15-bookworm')
		p.push(`Dockerfile.postgres: ARG PG_BASE defaults to ${dflt}, expected postgres:15-bookworm`);
	for (const name of ['postgres', 'bootstrap']) {
		const b = ((csvc[name] || {}).build || {}).args || {};
		const v = String((Array.isArray(b) ? envMap(b) : b).PG_BASE || '');
		if (v !== `\${MLPIPE_PG_BASE:-${dflt}}`)
			p.push(`compose ${name}: build arg PG_BASE is "${v}", expected \${MLPIPE_PG_BASE:-${dflt}}`);
	}
});

finish();
