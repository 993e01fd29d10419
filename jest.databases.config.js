/** @type {import('jest').Config} */
// The database tests: kfkit's grant SQL against real MariaDB and PostgreSQL servers on loopback (Debian's packages
// mariadb-server and postgresql; .ci/run installs them). `npm run test:databases`. The fast suite's settings, with
// its own folder, one server at a time and time for the servers to start.
module.exports = { ...require('./jest.config'), roots: ['<rootDir>/dbtest'], maxWorkers: 1, testTimeout: 60_000 };
