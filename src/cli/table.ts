// Tables for human output: cli-table3 with its colours only on a terminal, so a table piped to a
// file or another program holds no ANSI escapes.
import Table from 'cli-table3'

export function table (options: ConstructorParameters<typeof Table>[0] = {}): InstanceType<typeof Table> {
  const plain = process.stdout.isTTY !== true
  return new Table(plain ? { ...options, style: { ...options.style, head: [], border: [] } } : options)
}
