import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents over the committed schema.graphql, with the client preset: one output for the
// tests (and a template for client teams), one for the web console.
const scalars = { DateTime: 'string', JSON: 'unknown' };
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: true,
  generates: {
    'test/generated/': {
      documents: ['test/**/*.ts', '!test/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, importExtension: '.ts', enumsAsTypes: true, scalars },
    },
    // The console imports only the types: its bundle (built by the server, src/http/console-route.ts)
    // must not need generated code, so `npm install && npm start` works without running codegen.
    'console/src/generated/': {
      documents: ['console/src/**/*.{ts,tsx}', '!console/src/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, importExtension: '.ts', enumsAsTypes: true, documentMode: 'string', scalars },
    },
  },
};

export default config;
