// Passed and failed test counts from vitest's JSON report (build/vitest.json), for scripts/test.sh's summary
// lines. A file whose setup failed fails no test of its own: it counts once as failed, so a summary can never
// read "0 failed" while vitest failed.
module.exports = function vitestCounts(report) {
  const brokenFiles = report.testResults
    .filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed")).length;
  return { passed: report.numPassedTests, failed: report.numFailedTests + brokenFiles };
};
