'use strict';
// A small reader of Dockerfiles for the project's own rules and the
// consistency check: instructions with continuation lines joined, grouped by
// build stage.  Syntax errors are dockerfile-utils' business (lint_dockerfiles.js).
const fs = require('fs');

function parse(file) {
	const text = fs.readFileSync(file, 'utf8');
	const instructions = [];
	let cur = null;
	text.split('\n').forEach((raw, i) => {
		const line = raw.replace(/\r$/, '');
		if (cur === null) {
			if (/^\s*(#|$)/.test(line))
				return;
			const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(line);
			if (!m)
				return;
			cur = { keyword: m[1].toUpperCase(), args: '', line: i + 1 };
			raw = m[2];
		} else if (/^\s*#/.test(line)) {
			return; // comment inside a continued instruction
		} else {
			raw = line;
		}
		const cont = /\\\s*$/.test(raw);
		cur.args += (cur.args ? ' ' : '') + raw.replace(/\\\s*$/, '').trim();
		if (!cont) {
			instructions.push(cur);
			cur = null;
		}
	});
	if (cur)
		instructions.push(cur);

	const stages = [];
	const args = {}; // ARG defaults before the first FROM
	for (const ins of instructions) {
		if (ins.keyword === 'FROM') {
			const m = /^(--platform=\S+\s+)?(\S+)(\s+AS\s+(\S+))?/i.exec(ins.args);
			const image = m[2].replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a, b) => args[a || b] || all);
			stages.push({ image, name: m[4] || null, line: ins.line, instructions: [] });
		} else if (stages.length === 0) {
			if (ins.keyword === 'ARG') {
				const m = /^(\w+)(=(.*))?$/.exec(ins.args);
				if (m && m[3] !== undefined)
					args[m[1]] = m[3];
			}
		} else {
			stages[stages.length - 1].instructions.push(ins);
		}
	}
	return { file, text, instructions, stages };
}

// Exec form ["a", "b"] as an array, null for shell form.
function execForm(args) {
	const s = args.trim();
	if (!s.startsWith('['))
		return null;
	try {
		const v = JSON.parse(s);
		return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
	} catch (e) {
		return null;
	}
}

// ENV instruction -> {name: value}; both "K=V K2=V2" and legacy "K V".
function envOf(args) {
	const out = {};
	const re = /(\w+)=("([^"\\]|\\.)*"|'[^']*'|\S*)/g;
	if (!/^\w+=/.test(args.trim())) {
		const m = /^(\w+)\s+(.*)$/.exec(args.trim());
		if (m)
			out[m[1]] = m[2];
		return out;
	}
	let m;
	while ((m = re.exec(args)) !== null)
		out[m[1]] = m[2].replace(/^["']|["']$/g, '');
	return out;
}

// The last stage, what `docker build` produces by default.
function finalStage(df) {
	return df.stages[df.stages.length - 1];
}

// The last value of an instruction in a stage (CMD, USER, HEALTHCHECK...).
function last(stage, keyword) {
	const all = stage.instructions.filter((i) => i.keyword === keyword);
	return all.length ? all[all.length - 1] : null;
}

module.exports = { parse, execForm, envOf, finalStage, last };
