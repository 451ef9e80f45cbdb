#!/usr/bin/env node
// Validates each service's OpenAPI document (services/<svc>/openapi.json)
// with @apidevtools/swagger-parser: the OpenAPI 3.1 schema, then every $ref
// resolved.  Prints "ok - ..." / "not ok - ..." lines; exit 1 on a failure.
//
//   node tests/api/validate_openapi.js [document.json ...]
'use strict';
const path = require('path');
const tools = process.env.MLPIPE_API_TOOLS || path.join(__dirname, '../../var/api-tools');
const SwaggerParser = require(path.join(tools, 'node_modules/@apidevtools/swagger-parser'));

const top = path.join(__dirname, '../..');
const docs = process.argv.length > 2 ? process.argv.slice(2)
	: ['registry', 'preprocessing', 'inference'].map((s) => path.join(top, 'services', s, 'openapi.json'));

(async () => {
	let failed = 0;
	for (const file of docs) {
		const name = path.relative(top, file);
		try {
			// validate() parses a copy: the file on disk is what the service embeds
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
