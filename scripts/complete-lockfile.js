#!/usr/bin/env node
// The npm registry reachable from our build machines serves only the linux-x64 builds of
// packages with per-platform optional binaries (@swc/core, unrs-resolver, @parcel/watcher), so
// `npm install` leaves the other platforms out of package-lock.json and `npm ci` then refuses
// the lock as out of sync. This adds the missing optional entries (version only); npm skips
// them on platforms they are not for, and fetches them by version on platforms they are for.
// Run after `npm install` changes the lock: `node scripts/complete-lockfile.js`.
const fs = require('node:fs');
const path = require('node:path');

const file = path.resolve(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pkgs = lock.packages;
let added = 0;

function resolves(fromKey, name) {
  // Node's lookup: node_modules/<name> next to the package, then up the tree.
  let dir = fromKey;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (pkgs[candidate]) return true;
    if (!dir) return false;
    const idx = dir.lastIndexOf('/node_modules/');
    dir = idx === -1 ? '' : dir.slice(0, idx);
  }
}

for (const [key, meta] of Object.entries(pkgs)) {
  for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    if (resolves(key, name)) continue;
    if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec)) continue; // only exact pins are safe to record
    pkgs[`node_modules/${name}`] = { version: spec, dev: meta.dev || undefined, optional: true };
    added++;
  }
}

const sorted = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entries`);
