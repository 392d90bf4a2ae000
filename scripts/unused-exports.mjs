#!/usr/bin/env node
// Lists exported symbols of src/ that no other file imports (TypeScript compiler API; read-only).
// Caveats: a use through `import('...')` destructuring or a namespace import counts via property
// names only; re-exports (`export *`, `export { x } from`) alone do not count as a use.
import ts from 'typescript'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(fileURLToPath(import.meta.url), '..', '..')
const cfg = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })
const program = ts.createProgram(cfg.fileNames, { ...cfg.options, noEmit: true })
const checker = program.getTypeChecker()
const files = program.getSourceFiles().filter(f => !f.isDeclarationFile && f.fileName.startsWith(root) && !f.fileName.includes('/node_modules/'))
const original = s => (s.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(s) : s
const used = new Map() // symbol -> Set of importing files
const namesViaNamespace = new Set()
const mark = (sym, file) => { const o = original(sym); if (!used.has(o)) used.set(o, new Set()); used.get(o).add(file) }
for (const f of files) {
  const visit = node => {
    if (ts.isImportSpecifier(node) || ts.isImportClause(node)) {
      const sym = checker.getSymbolAtLocation(node.name ?? node)
      if (sym != null) mark(sym, f.fileName)
    } else if (ts.isPropertyAccessExpression(node) || ts.isBindingElement(node)) {
      namesViaNamespace.add((node.propertyName ?? node.name).getText?.(f) ?? '')
    }
    ts.forEachChild(node, visit)
  }
  visit(f)
}
const out = []
for (const f of files) {
  const rel = relative(root, f.fileName)
  if (!rel.startsWith('src/')) continue
  const mod = checker.getSymbolAtLocation(f)
  if (mod == null) continue
  for (const exp of checker.getExportsOfModule(mod)) {
    const o = original(exp)
    const decl = o.declarations?.[0]
    if (decl == null || decl.getSourceFile() !== f) continue // re-exports are judged at their origin
    const importers = [...(used.get(o) ?? [])].filter(x => x !== f.fileName)
    if (importers.length > 0) continue
    const isType = (o.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) !== 0 && (o.flags & ts.SymbolFlags.Value) === 0
    const inFile = (() => { let n = 0; const v = node => { if (ts.isIdentifier(node) && node.text === exp.name) n++; ts.forEachChild(node, v) }; v(f); return n > 1 })()
    const viaNs = namesViaNamespace.has(exp.name)
    out.push(`${rel}:${exp.name}\t${isType ? 'type' : 'value'}\t${inFile ? 'used-in-file' : 'unused-in-file'}${viaNs ? '\tname-also-a-property' : ''}`)
  }
}
console.log(out.join('\n'))
