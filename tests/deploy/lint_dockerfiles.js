#!/usr/bin/env node
'use strict';
// Lints every docker/Dockerfile.*:
//
//  dockerfile-utils  the Dockerfile validator of the Docker language server
//                    (npm dockerfile-utils: instruction syntax, flags and
//                    their values, EXPOSE ports, stage references, ...);
//                    every error or warning fails;
//  practices         the project's rules, in the spirit of hadolint's:
//                    pinned base tags, apt-get update+install+clean in one
//                    RUN with -y --no-install-recommends, multi-stage builds,
//                    COPY --from naming a stage, no ADD of URLs, a
//                    HEALTHCHECK, and a numeric non-root USER in the
//                    service images.
const fs = require('fs');
const path = require('path');
const { tool, rootArg, rel, report, finish } = require('./lib/common');
const { parse, finalStage, last } = require('./lib/dockerfile');

const root = rootArg(process.argv);
const utils = tool('dockerfile-utils');


const dir = path.join(root, 'docker');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^Dockerfile(\..+)?$/.test(f)).sort() : [];
if (files.length === 0)
	report(false, 'dockerfiles found', `none in ${dir}`);

for (const f of files) {
	const file = path.join(dir, f);
	const name = rel(root, file);
	const text = fs.readFileSync(file, 'utf8');

	const diags = utils.validate(text);
	report(diags.length === 0, `dockerfile-utils ${name}`,
		diags.map((d) => `line ${d.range.start.line + 1}: ${d.message}`));

	const df = parse(file);
	const problems = [];
	const stageNames = new Set();
	if (df.stages.length < 2)
		problems.push('not a multi-stage build: the runtime image would carry the compilers');
	for (const st of df.stages) {
		const m = /^[^:@]+(:([^@]+))?(@sha256:[0-9a-f]{64})?$/.exec(st.image);
		if (!stageNames.has(st.image) && (!m || (!m[2] && !m[3]) || m[2] === 'latest'))
			problems.push(`line ${st.line}: base image ${st.image} has no pinned tag`);
		for (const ins of st.instructions) {
			const where = `line ${ins.line}`;
			if (ins.keyword === 'RUN' && /\bapt-get\s+install\b/.test(ins.args)) {
				if (!/\bapt-get\s+update\b/.test(ins.args))
					problems.push(`${where}: apt-get install without apt-get update in the same RUN (stale lists in a cached layer)`);
				if (!/\s(-y|--yes|-qq?y)\b/.test(ins.args))
					problems.push(`${where}: apt-get install without -y`);
				if (!/--no-install-recommends/.test(ins.args))
					problems.push(`${where}: apt-get install without --no-install-recommends`);
				if (!/rm -rf \/var\/lib\/apt\/lists/.test(ins.args))
					problems.push(`${where}: apt lists not removed in the same RUN`);
			}
			if (ins.keyword === 'ADD' && /(https?|ftp):\/\//.test(ins.args))
				problems.push(`${where}: ADD of a URL: fetch with a checked download instead`);
			if (ins.keyword === 'COPY') {
				const from = /--from=(\S+)/.exec(ins.args);
				if (from && !stageNames.has(from[1]) && !/[:/]/.test(from[1]))
					problems.push(`${where}: COPY --from=${from[1]} names no earlier stage`);
			}
		}
		if (st.name)
			stageNames.add(st.name);
	}
	const fin = finalStage(df);
	if (fin) {
		if (!last(fin, 'HEALTHCHECK'))
			problems.push('final stage has no HEALTHCHECK');
		// the PostgreSQL image's entrypoint starts as root and drops to "postgres"
		if (!/postgres/.test(f)) {
			const user = last(fin, 'USER');
			if (!user)
				problems.push('final stage runs as root (no USER)');
			else if (!/^[1-9][0-9]*(:[0-9]+)?$/.test(user.args.trim()))
				problems.push(`USER ${user.args}: use a numeric non-root uid, which runAsNonRoot can check`);
		}
	}
	report(problems.length === 0, `practices ${name}`, problems);
}
finish();
