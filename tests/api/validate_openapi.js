#!/usr/bin/env node
// Validates each service's OpenAPI document (services/<svc>/openapi.json)
// with @apidevtools/swagger-parser (the OpenAPI 3.1 schema, every $ref
// resolved), then every schema in it against JSON Schema 2020-12's
// meta-schema with ajv (swagger-parser leaves 3.1's schemas unchecked).  Prints "ok - ..." / "not ok - ..." lines; exit 1 on a failure.
//
//   node tests/api/validate_openapi.js [document.json ...]
'use strict';
const path = require('path');
const tools = process.env.MLPIPE_API_TOOLS || path.join(__dirname, '../../var/api-tools');
const SwaggerParser = require(path.join(tools, 'node_modules/@apidevtools/swagger-parser'));
const Ajv2020 = require(path.join(tools, 'node_modules/ajv/dist/2020')).default;
const fs = require('fs');

// every value of a "schema" key and of components.schemas, with where it is
function* schemas(node, where) {
	if (node === null || typeof node !== 'object')
		return;
	for (const [k, v] of Object.entries(node)) {
		if (k === 'schema' && v && typeof v === 'object')
			yield [v, `${where}/${k}`];
		else if (k === 'schemas' && where === '#/components')
			for (const [n, s] of Object.entries(v))
				yield [s, `${where}/schemas/${n}`];
		else
			yield* schemas(v, `${where}/${k}`);
	}
}

function checkSchemas(doc) {
	const ajv = new Ajv2020({strict: false});
	const bad = [];
	for (const [s, where] of schemas(doc, '#'))
		if (!ajv.validateSchema(s))
			bad.push(`${where}: ${ajv.errorsText(ajv.errors)}`);
	return bad;
}

const top = path.join(__dirname, '../..');
const docs = process.argv.length > 2 ? process.argv.slice(2)
	: ['registry', 'preprocessing', 'inference'].map((s) => path.join(top, 'services', s, 'openapi.json'));

(async () => {
	let failed = 0;
	for (const file of docs) {
		const name = path.relative(top, file);
		try {
			// validate() parses a copy: the file on disk is what the service embeds
			const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
			const bad = checkSchemas(raw);
			if (bad.length)
				throw new Error(`${bad.length} invalid schema(s): ${bad.slice(0, 3).join('; ')}`);
			const api = await SwaggerParser.validate(file);
			if (!String(api.openapi).startsWith('3.1.'))
				throw new Error(`openapi is ${api.openapi}, not 3.1.x`);
			console.log(`ok - ${name} is a valid OpenAPI ${api.openapi} document (${Object.keys(api.paths).length} paths)`);
		} catch (e) {
			failed++;
			console.log(`not ok - ${name}: ${e.message.split('\n').slice(0, 8).join(' | ')}`);
		}
	}
	process.exit(failed ? 1 : 0);
})();
