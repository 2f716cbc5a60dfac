import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['apiward:source'] },
  ssr: { resolve: { conditions: ['apiward:source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    typecheck: {
      enabled: true,
      include: ['packages/*/test/**/*.test-d.ts'],
      tsconfig: './tsconfig.typetest.json',
    },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
