/** @type {import('jest').Config} */
// The database tests: kfkit's grant SQL against real MariaDB and PostgreSQL servers on loopback (Debian's packages
// mariadb-server and postgresql; .ci/run installs them). `npm run test:databases`.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/dbtest'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  maxWorkers: 1,
  testTimeout: 60_000,
};
