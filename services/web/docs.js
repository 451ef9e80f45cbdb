// GET /docs: Swagger UI over this service's own /openapi.json.  Nothing is
// fetched from anywhere else (validatorUrl: null turns off the badge that
// would ask validator.swagger.io).
'use strict';
window.ui = SwaggerUIBundle({
	url: new URL('openapi.json', document.baseURI).href,
	dom_id: '#swagger-ui',
	deepLinking: true,
	validatorUrl: null,
	presets: [SwaggerUIBundle.presets.apis],
	layout: 'BaseLayout',
	persistAuthorization: true,
});
