// A small Internet in network namespaces, for the NAT e2e test: an "inet" namespace holding a
// bridge, reachable hosts on it with public-looking addresses (11.0.0.0/24: libp2p treats
// RFC 1918, CGNAT and documentation ranges as private, and would not try them as public), and
// hosts each behind its own router namespace that masquerades (Linux NAT: ports kept where free,
// replies admitted, nothing else in). Everything made here is removed by close(), and names carry
// the test's pid so parallel or leftover runs never collide.
import { execFileSync } from 'node:child_process'

export interface NatTopology {
  /** namespace of each host, by name */
  ns: Record<string, string>
  /** address of each host: public for reachable ones, LAN for NATed ones */
  ip: Record<string, string>
  /** the public address of a NATed host's router */
  routerIp: Record<string, string>
  /** a NATed host's router, on the host's LAN */
  routerLanIp: Record<string, string>
  close: () => void
}

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function inNs (ns: string, cmd: string, args: string[], input?: string): void {
  execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, stdio: ['pipe', 'ignore', 'pipe'] })
}

/** Why this machine cannot build the topology (not root, no iproute2 or nftables), or undefined. */
export function natTopologyUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  for (const [cmd, args] of [['ip', ['-V']], ['nft', ['--version']]] as const) {
    try { execFileSync(cmd, [...args], { stdio: 'ignore' }) } catch { return `${cmd} is not installed (apt-get install ${cmd === 'ip' ? 'iproute2' : 'nftables'})` }
  }
  const probe = `tnprobe${process.pid}`
  try { ip('netns', 'add', probe) } catch (err) { return `cannot create a network namespace: ${String((err as Error).message).split('\n')[0]}` }
  try { ip('netns', 'del', probe) } catch {}
  return undefined
}

/** Namespaces left by a run that was killed before it could clean up (its pid is gone). */
function removeLeftovers (): void {
  let names: string[] = []
  try { names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map(l => l.split(' ')[0]) } catch { return }
  for (const n of names) {
    const pid = /^t(\d+)-/.exec(n)?.[1]
    if (pid == null || Number(pid) === process.pid) continue
    try { process.kill(Number(pid), 0); continue } catch {}
    try { ip('netns', 'del', n) } catch {}
  }
}

/** `reachable` hosts sit on the bridge; each of `natted` sits behind its own masquerading router. */
export function buildNatTopology (reachable: string[], natted: string[]): NatTopology {
  removeLeftovers()
  const tag = `t${process.pid}`
  const made: string[] = []
  const ns: Record<string, string> = {}
  const hostIp: Record<string, string> = {}
  const routerIp: Record<string, string> = {}
  const routerLanIp: Record<string, string> = {}
  const add = (name: string): string => {
    const n = `${tag}-${name}`
    ip('netns', 'add', n)
    made.push(n)
    ip('-n', n, 'link', 'set', 'lo', 'up')
    return n
  }
  let veth = 0
  const link = (a: string, b: string): [string, string] => {
    const ia = `v${tag}${veth}a`
    const ib = `v${tag}${veth++}b`
    ip('link', 'add', ia, 'netns', a, 'type', 'veth', 'peer', 'name', ib, 'netns', b)
    ip('-n', a, 'link', 'set', ia, 'up')
    ip('-n', b, 'link', 'set', ib, 'up')
    return [ia, ib]
  }
  const close = (): void => {
    for (const n of made.reverse()) { try { ip('netns', 'del', n) } catch {} }
  }
  try {
    const inet = add('inet')
    ip('-n', inet, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', inet, 'link', 'set', 'br0', 'up')
    let next = 10
    for (const h of reachable) {
      const n = add(h)
      const [dev, port] = link(n, inet)
      ip('-n', inet, 'link', 'set', port, 'master', 'br0')
      hostIp[h] = `11.0.0.${next++}`
      ip('-n', n, 'addr', 'add', `${hostIp[h]}/24`, 'dev', dev)
      ns[h] = n
    }
    natted.forEach((h, k) => {
      const r = add(`r${h}`)
      const [wan, port] = link(r, inet)
      ip('-n', inet, 'link', 'set', port, 'master', 'br0')
      routerIp[h] = `11.0.0.${k + 1}`
      ip('-n', r, 'addr', 'add', `${routerIp[h]}/24`, 'dev', wan)
      const n = add(h)
      const [lan, dev] = link(r, n)
      routerLanIp[h] = `10.${k + 1}.0.1`
      ip('-n', r, 'addr', 'add', `${routerLanIp[h]}/24`, 'dev', lan)
      hostIp[h] = `10.${k + 1}.0.2`
      ip('-n', n, 'addr', 'add', `${hostIp[h]}/24`, 'dev', dev)
      ip('-n', n, 'route', 'add', 'default', 'via', `10.${k + 1}.0.1`)
      inNs(r, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
      inNs(r, 'nft', ['-f', '-'], `table ip nat {
  chain post {
    type nat hook postrouting priority 100; policy accept
    oifname "${wan}" masquerade
  }
  chain pre {
    type nat hook prerouting priority -100; policy accept
  }
}
table ip filter {
  chain forwarding {
    type filter hook forward priority 0; policy drop
    ct state established,related accept
    ct status dnat accept
    iifname "${lan}" oifname "${wan}" accept
  }
}
`)
      ns[h] = n
      ns[`r${h}`] = r
    })
  } catch (err) {
    close()
    throw err
  }
  return {
    ns,
    ip: hostIp,
    routerIp,
    routerLanIp,
    close
  }
}
