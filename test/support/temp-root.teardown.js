// Removes the run's temporary directory (temp-root.setup.js) with everything the suites left in it.
const { rmSync } = require('node:fs');

module.exports = () => {
  const root = process.env.REGLAMENT_TEST_TEMP_ROOT;
  if (root) rmSync(root, { recursive: true, force: true, maxRetries: 3 });
};
