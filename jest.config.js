/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Transpile only: type-checking is `tsc --noEmit` in CI, once, instead of per test file.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // Synthesis is CPU-bound; two workers match the CI machine's two cores.
  maxWorkers: 2,
};
