import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { http } from './http';
import { startInstance, type InstanceOptions } from './instance';

/** The committed document: `npm run openapi` writes it, test/openapi.e2e-spec.ts compares it. */
export const OPENAPI_FILE = resolve(__dirname, '../../docs/openapi.json');

/** The parts of an OpenAPI 3 document the checks read. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown> };
}

export interface OpenApiOperation {
  operationId?: string;
  responses: Record<
    string,
    { description?: string; content?: Record<string, { schema?: unknown }> }
  >;
}

/** The document as committed: two-space JSON and a final newline. */
export const formatOpenApi = (doc: OpenApiDocument): string => `${JSON.stringify(doc, null, 2)}\n`;

/**
 * The document the real service serves at /docs-json: `dist/main.js` (built with the swagger
 * plugin) started, asked, and stopped. By default in embedded mode in a scratch directory (no
 * Postgres or Redis needed); `options` start it as a suite's instances are started instead.
 */
export async function servedOpenApi(options?: InstanceOptions): Promise<OpenApiDocument> {
  const dir = mkdtempSync(join(tmpdir(), 'rt-openapi-'));
  const app = await startInstance(
    options ?? { redis: false, cwd: dir, env: { PGLITE_DATA_DIR: join(dir, 'data') } },
  );
  try {
    const res = await http<OpenApiDocument>(app.url, '/docs-json');
    if (res.status !== 200) throw new Error(`/docs-json answered ${res.status}`);
    return res.body;
  } finally {
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
