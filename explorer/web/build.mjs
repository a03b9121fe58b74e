// Builds the explorer page into dist/ (offline: every asset comes from node_modules or src/app):
//
//   dist/index.html          the page (src/app/index.html)
//   dist/app.js              one bundle: src/app/main.js with the verifier, ECharts, qrcode, smol-toml
//   dist/app.css             src/app/style.css
//   dist/api-docs/           swagger-ui-dist, configured to load /api/openapi.json (the node serves
//                            this folder at /api/docs/)
//
//   node build.mjs [--dev]   (--dev: no minification, inline source map)

import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const dev = process.argv.includes('--dev');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

// ---- the page ----
const result = await build({
  entryPoints: { app: join(here, 'src/app/main.js') },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // BigInt literals (the verifier) need ES2020; the page also uses ?? and ?. freely.
  target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'eof',
  outdir: dist,
  define: { __VERSION__: JSON.stringify(pkg.version) },
  metafile: true,
  logLevel: 'warning',
});
cpSync(join(here, 'src/app/style.css'), join(dist, 'app.css'));
cpSync(join(here, 'src/app/index.html'), join(dist, 'index.html'));
cpSync(join(here, 'src/app/favicon.svg'), join(dist, 'favicon.svg'));

// ---- the API documentation page ----
const swagger = dirname(require.resolve('swagger-ui-dist/package.json'));
const docs = join(dist, 'api-docs');
mkdirSync(docs, { recursive: true });
for (const f of [
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'swagger-ui-standalone-preset.js',
  'favicon-16x16.png',
  'favicon-32x32.png',
  'oauth2-redirect.html',
  'oauth2-redirect.js',
  'LICENSE',
  'NOTICE',
])
  cpSync(join(swagger, f), join(docs, f));
writeFileSync(
  join(docs, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>善链 Shanlian — explorer API</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="./swagger-ui.css">
  <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
  <style>
    body { margin: 0; background: #fafafa; }
    .shanlian-top { font: 14px/1.5 system-ui, sans-serif; padding: 10px 20px; background: #0f3d5e; color: #fff; }
    .shanlian-top a { color: #cfe6ff; }
  </style>
</head>
<body>
  <div class="shanlian-top">善链 Shanlian explorer API — <a href="/">← back to the explorer</a>.
    Proof routes (bundles, trace proofs, checkpoint proofs) are meant to be verified by the client, never trusted.</div>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script src="./swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
`,
);
writeFileSync(
  join(docs, 'swagger-initializer.js'),
  `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    validatorUrl: null,
  });
};
`,
);

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`built dist/ (app.js ${(bytes / 1024).toFixed(0)} KiB${dev ? ', dev' : ''}) and dist/api-docs/`);
