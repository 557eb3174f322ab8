// The wire contract, re-exported from its one declaration in the service (src/contracts): the SDK
// declares none of it, and the build bundles these types into the package's own .d.ts.
export * from '../../../src/contracts/index.js';
