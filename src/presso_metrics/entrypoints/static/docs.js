// The API docs page: Swagger UI on this server's OpenAPI document. A file, not an inline script,
// so the page keeps the dashboard's Content-Security-Policy (script-src 'self').
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
});
