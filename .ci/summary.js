// Prints Jest's JSON results as the single closing line CI reads: "N passed, N failed".
const fs = require('node:fs');
const file = process.argv[2];
if (!fs.existsSync(file)) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
// A suite that fails to load counts as a failure even though it ran no test.
const brokenSuites = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed`);
