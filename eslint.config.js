// Lint and style for the whole repository: "standard" style (neostandard) on TypeScript and JS.
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: [
      ...resolveIgnoresFromGitignore(),
      // protons output, checked against protocols/*.proto by test/net/wire-generated.test.ts
      'src/net/wire/**',
      'src/compress/wire/**'
    ]
  }),
  {
    rules: {
      // `void promise` as a statement is this code's mark for a deliberate fire-and-forget
      // (as in ts-standard); `void` inside an expression stays an error
      'no-void': ['error', { allowAsStatement: true }],
      // long object literals (wire field mappings, table rows) are packed several fields to a
      // line on purpose; one property per line would triple those blocks
      '@stylistic/object-property-newline': 'off'
    }
  },
  {
    files: ['**/*.ts'],
    rules: {
      // `const XErrorCode = {...} as const` + `type XErrorCode` is the errors.ts pattern; tsc
      // already rejects real redeclarations in TypeScript
      '@typescript-eslint/no-redeclare': 'off',
      // onnxruntime-node loads through src/train/ort.ts, which switches its telemetry off first
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [{ name: 'onnxruntime-node', message: 'import src/train/ort.ts: it switches ONNX Runtime\'s telemetry off before the runtime loads', allowTypeImports: true }]
      }]
    }
  },
  {
    files: ['src/train/ort.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' }
  }
]
