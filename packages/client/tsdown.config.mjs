// @ts-check
import { defineConfig } from 'tsdown';

// One ESM bundle and one bundled .d.ts. The contract types (../../src/contracts) are inlined into
// both, so the package stands alone; socket.io-client stays a dependency (never bundled).
export default defineConfig({
  entry: ['src/index.ts'],
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  outDir: 'dist',
  clean: true,
  sourcemap: true,
  fixedExtension: false,
  dts: { tsconfig: 'tsconfig.json' },
});
