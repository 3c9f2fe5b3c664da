import { defineConfig } from 'vitest/config';

/** One project per package; each keeps its tests beside its code as `src/**\/*.test.ts`. */
const packages = ['pki', 'images', 'bundle', 'controller', 'scripts', 'sim', 'cli'];

export default defineConfig({
  test: {
    projects: packages.map((name) => ({
      test: {
        name,
        root: name,
        include: ['src/**/*.test.ts'],
        testTimeout: 60_000,
        hookTimeout: 60_000,
      },
    })),
  },
});
