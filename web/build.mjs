// Bundles the web client into dist/web: app.js (esbuild) plus the static files.
import { build } from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'web');
mkdirSync(out, { recursive: true });
// The app and the transports lab: two pages, each its own bundle (the SDK goes into both).
await build({
  entryPoints: { app: join(here, 'src', 'main.ts'), lab: join(here, 'src', 'lab.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outdir: out,
  logLevel: 'warning',
});
for (const file of ['index.html', 'lab.html', 'styles.css', 'sw.js'])
  cpSync(join(here, file), join(out, file));
console.log(`web client built into ${out}`);
