// Print the closing line CI reads, from vitest's JSON report: "N passed, N failed, N skipped".
// Usage: node scripts/test-summary.mjs <report.json>. Exits 1 if the report is missing or unreadable,
// so a crashed test run can never look green.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.vitest-report.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.log(`test-summary: no readable vitest report at ${file} (${e.message})`);
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}
let passed = 0;
let failed = 0;
let skipped = 0;
for (const suite of report.testResults ?? []) {
  const tests = suite.assertionResults ?? [];
  for (const t of tests) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'failed') failed++;
    else skipped++;
  }
  // A test file that failed to load has no assertions but a failed status.
  if (tests.length === 0 && suite.status === 'failed') {
    failed++;
    console.log(`test-summary: ${suite.name} failed to run: ${(suite.message ?? '').split('\n')[0]}`);
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
