// Writes docs/openapi.json from the built service (`npm run openapi` builds first). CI compares
// the served document with the committed one (test/openapi.e2e-spec.ts): run this after
// changing a controller or a DTO, and commit the result.
import { writeFileSync } from 'node:fs';
import { formatOpenApi, OPENAPI_FILE, servedOpenApi } from '../test/helpers/openapi';

servedOpenApi()
  .then((doc) => {
    writeFileSync(OPENAPI_FILE, formatOpenApi(doc));
    process.stdout.write(`wrote ${OPENAPI_FILE}: ${Object.keys(doc.paths).length} paths\n`);
  })
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
