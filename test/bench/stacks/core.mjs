// The adapters' own rows: guard() with no guards, with and without its X-Request-Id header.
export const stacks = [
  {
    name: 'empty',
    apiward: true,
    guards: async () => [],
    headers: ['x-request-id'],
    limit: {},
    budget: {
      instructions: 2500,
      label:
        "the adapter's fixed cost (context, request ID, dispatch) beyond the framework's own no-op middleware, its header excluded",
    },
    about: 'guard() with no guards, plus the adapter error handling',
  },
  {
    name: 'empty-noRequestId',
    apiward: true,
    guards: async () => [],
    adapterOptions: { requestIdHeader: false },
    headers: [],
    about: 'empty with requestIdHeader: false: the adapter without the X-Request-Id response header',
  },
]
