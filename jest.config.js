// NestJS 12 packages ship as ES modules. Node 20 can require() them natively, but Jest's own
// module loader only does so on Node 24.9+, so SWC compiles those few packages to CommonJS here
// (kubernetes-models: the manifest schemas test/k8s-manifests.e2e-spec.ts validates against).
const esmPackages = ['@nestjs', 'kubernetes-models', '@kubernetes-models', 'is-cidr', 'cidr-regex', 'jose', 'uid', 'load-esm', 'file-type', 'strtok3', 'token-types', 'peek-readable', '@tokenizer'];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  rootDir: '.',
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/packages/client/src/**/*.spec.ts',
    '<rootDir>/test/**/*.e2e-spec.ts',
  ],
  // The SDK is tested from its TypeScript source, whose ESM imports name `.js` files.
  moduleNameMapper: {
    '^@realtime-service/client$': '<rootDir>/packages/client/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // kubernetes-models exports its files under the `import` condition only, which Jest's
    // CommonJS resolver does not take: the same files by path (compiled by SWC, see above).
    '^kubernetes-models/(.*)$': '<rootDir>/node_modules/kubernetes-models/$1',
    '^@kubernetes-models/apimachinery/(.*)$': '<rootDir>/node_modules/@kubernetes-models/apimachinery/$1',
    '^@kubernetes-models/validate/runtime/(.*)$':
      '<rootDir>/node_modules/@kubernetes-models/validate/dist/runtime/$1',
    '^@kubernetes-models/(base|validate)$': '<rootDir>/node_modules/@kubernetes-models/$1/dist/index.js',
  },
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  maxWorkers: 2,
  testTimeout: 30000,
};
