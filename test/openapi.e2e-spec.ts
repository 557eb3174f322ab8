import { readFileSync } from 'node:fs';
import { createTestDatabase } from './helpers/database';
import { uniquePrefix } from './helpers/instance';
import {
  OPENAPI_FILE,
  servedOpenApi,
  type OpenApiDocument,
  type OpenApiOperation,
} from './helpers/openapi';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Every operation of the document, as "METHOD /path". */
function operations(doc: OpenApiDocument): Array<[string, OpenApiOperation]> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]): [string, OpenApiOperation] => [`${method.toUpperCase()} ${path}`, op]),
  );
}

const REF = '#/components/schemas/';

/** What is wrong with one 2xx response (an empty list: nothing). */
function problems(
  doc: OpenApiDocument,
  status: string,
  response: OpenApiOperation['responses'][string],
): string[] {
  if (status === '204') return response.content === undefined ? [] : ['204 declares a body'];
  const content = Object.entries(response.content ?? {});
  if (content.length === 0) return [`${status} has no body schema`];
  return content.flatMap(([type, { schema }]) => {
    if (schema === undefined) return [`${status} ${type} has no schema`];
    if (type !== 'application/json') return [];
    const ref = (schema as { $ref?: string }).$ref;
    const inline = schema as { properties?: Record<string, unknown> };
    if (ref === undefined)
      return Object.keys(inline.properties ?? {}).length > 0 ? [] : [`${status} is a bare object`];
    const target = doc.components?.schemas?.[ref.slice(REF.length)] as
      { properties?: Record<string, unknown> } | undefined;
    if (!ref.startsWith(REF) || target === undefined) return [`${status} refers to ${ref}, absent`];
    return Object.keys(target.properties ?? {}).length > 0
      ? []
      : [`${status}: ${ref} has no properties`];
  });
}

describe('OpenAPI document', () => {
  let served: OpenApiDocument;
  beforeAll(async () => {
    // On the test machine's Postgres and Redis (quicker to start than embedded PGlite); the
    // document is the same in every mode (npm run openapi writes it from an embedded one).
    const db = await createTestDatabase('openapi');
    try {
      served = await servedOpenApi({ databaseUrl: db.url, redisPrefix: uniquePrefix('openapi') });
    } finally {
      await db.drop();
    }
  });

  it('is what docs/openapi.json says (after a change: npm run openapi, and commit it)', () => {
    const committed = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
    expect(served).toEqual(committed);
  });

  it('gives every route a 2xx response with a schema for its body', () => {
    const ops = operations(served);
    expect(ops.length).toBeGreaterThan(30);
    const wrong: string[] = [];
    for (const [name, op] of ops) {
      const ok = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
      if (ok.length === 0) wrong.push(`${name}: no 2xx response`);
      for (const [status, response] of ok)
        wrong.push(...problems(served, status, response).map((p) => `${name}: ${p}`));
    }
    expect(wrong).toEqual([]);
  });
});
