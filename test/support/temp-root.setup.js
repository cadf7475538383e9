// Every directory a suite makes under the system's temporary directory (data directories, copies of them with their
// keys and secrets, witness files), and every CLI or server process the suites start, lands in one directory per jest
// run, removed when the run ends (temp-root.teardown.js): a suite that forgets its own, or a run killed half-way, leaves
// at most this one behind.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = () => {
  const root = mkdtempSync(join(tmpdir(), 'reglament-tests-'));
  process.env.REGLAMENT_TEST_TEMP_ROOT = root;
  // os.tmpdir() reads TMPDIR at each call; jest's workers and the processes the suites start inherit it.
  process.env.TMPDIR = root;
};
