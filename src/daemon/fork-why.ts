// How the daemon tells an operator why fork choice kept or left its branch.
import type { ForkDecision } from '../round/index.js'

/** Why fork choice went the way it did, in an operator's words (protocols/sync.md §7). */
export function forkWhy (d: ForkDecision | undefined): string {
  if (d == null) return 'the other branch holds a commit this node proved wrong'
  const { mine, theirs } = d.values
  switch (d.rule) {
    case 'builders': return `${members(mine)} built on this node's branch, ${members(theirs)} on the other`
    case 'length': return `as many builders; ${mine} rounds on this node's branch, ${theirs} on the other`
    case 'first commit': return `the fork round's commit folded ${mine} of its electorate here, ${theirs} on the other`
    case 'rank': return `first commits as heavy; ranks ${mine} here and ${theirs} on the other, the lower wins`
    case 'model id': return 'first commits as heavy and of one rank; the smaller model id wins'
  }
}

const members = (n: number): string => `${n} member${n === 1 ? '' : 's'}`
