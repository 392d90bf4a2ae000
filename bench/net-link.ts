// An emulated link for `bench/net.ts`: two network namespaces joined by a delay line in the
// kernel's data path, so the bench's provider and requester talk real TCP over a real RTT
// without a userland proxy terminating their connections.
//
// netem would be the obvious tool, but these kernels ship without sch_netem (nor fq, which an
// eBPF EDT delay would need). So: one TUN device in each namespace, and a small C program (below,
// compiled on first use) that holds every packet read from one device for the one-way delay and
// writes it into the other. With IFF_VNET_HDR the stack hands it 64 KiB GSO super-packets with
// partial checksums, so it moves a few thousand packets per second and costs far less CPU than
// relaying through sockets; TCP (window, congestion control, ACK clock) runs end to end.
import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'

const DELAY_LINE_C = String.raw`
// Delay line between two TUN devices in two network namespaces: every packet read from one
// device is written to the other DELAY_US later (after its serialisation time at RATE bytes/s when
// RATE > 0), as netem delay + rate would. Queue above LIMIT bytes per direction: drop-tail. LOSS
// (optional, a probability) drops each packet at random after its serialisation, as a lossy wire
// would (netem loss). PACKETS (optional): "gso" (default) takes 64 KiB GSO super-packets from the
// stack, "mtu" asks for MTU-sized packets only, so a loss or a serialisation is one segment's.
// Stdin lines "set DELAY_US RATE LIMIT [LOSS]" change the link (answered "ok"), "stats" answers
// "stats" and each direction's packets sent, dropped (queue full) and lost (A to B first); EOF on
// stdin or SIGTERM ends it, and the TUN devices vanish with it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define VNET_HDR 10
#define MAXPKT (65536 + VNET_HDR)

struct pkt { struct pkt *next; uint64_t due; size_t len; unsigned char data[]; };
struct dir { int in, out; struct pkt *head, *tail; size_t queued; uint64_t link_free; unsigned long long sent, dropped, lost; };

static uint64_t delay_ns, rate, limit;
static double loss;
static int whole_segments;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static volatile sig_atomic_t stop;
static struct dir ab, ba;

/* xorshift64*: a uniform in [0, 1) per call */
static double uniform (void) {
  rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void die (const char *what) { fprintf(stderr, "delayline: %s: %s\n", what, strerror(errno)); exit(1); }
static void on_signal (int s) { (void)s; stop = 1; }

static uint64_t now_ns (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_tun (const char *ns, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0) die(path);
  if (setns(nsfd, CLONE_NEWNET) < 0) die("setns");
  close(nsfd);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  // GSO super-packets with partial checksums, as a NIC with offloads would see them
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  int hdr = VNET_HDR;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) die("TUNSETVNETHDRSZ");
  if (ioctl(fd, TUNSETOFFLOAD, whole_segments ? TUN_F_CSUM : TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) die("TUNSETOFFLOAD");
  return fd;
}

static void take (struct dir *d, uint64_t now) {
  for (int n = 0; n < 256; n++) {
    struct pkt *p = malloc(sizeof *p + MAXPKT);
    if (p == NULL) die("malloc");
    ssize_t r = read(d->in, p->data, MAXPKT);
    if (r <= 0) { free(p); if (r < 0 && errno != EAGAIN && errno != EINTR) die("read"); return; }
    if (d->queued + (size_t)r > limit) { free(p); d->dropped++; continue; }
    p->len = (size_t)r;
    if (rate > 0) {
      uint64_t start = d->link_free > now ? d->link_free : now;
      d->link_free = start + (uint64_t)r * 1000000000ull / rate;
      p->due = d->link_free + delay_ns;
    } else {
      p->due = now + delay_ns;
    }
    // lost on the wire: it used its serialisation time, then never arrives
    if (loss > 0 && uniform() < loss) { free(p); d->lost++; continue; }
    p->next = NULL;
    if (d->tail) d->tail->next = p; else d->head = p;
    d->tail = p;
    d->queued += p->len;
  }
}

static void give (struct dir *d, uint64_t now) {
  while (d->head != NULL && d->head->due <= now) {
    struct pkt *p = d->head;
    // EIO: the other device is not up (yet); like the other errors, the packet is lost on the wire
    if (write(d->out, p->data, p->len) < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINVAL && errno != EIO) die("write");
    d->head = p->next;
    if (d->head == NULL) d->tail = NULL;
    d->queued -= p->len;
    d->sent++;
    free(p);
  }
}

static int command (void) {
  static char line[256];
  static size_t have;
  ssize_t r = read(0, line + have, sizeof line - 1 - have);
  if (r <= 0) return 0;
  have += (size_t)r;
  char *nl;
  while ((nl = memchr(line, '\n', have)) != NULL) {
    *nl = 0;
    unsigned long long d, ra, li;
    double lo = 0;
    int got = sscanf(line, "set %llu %llu %llu %lf", &d, &ra, &li, &lo);
    if ((got == 3 || got == 4) && lo >= 0 && lo < 1) { delay_ns = d * 1000ull; rate = ra; limit = li; loss = lo; printf("ok\n"); }
    else if (strcmp(line, "stats") == 0) printf("stats %llu %llu %llu %llu %llu %llu\n", ab.sent, ab.dropped, ab.lost, ba.sent, ba.dropped, ba.lost);
    else printf("error\n");
    fflush(stdout);
    size_t used = (size_t)(nl - line) + 1;
    memmove(line, nl + 1, have - used);
    have -= used;
  }
  if (have == sizeof line - 1) have = 0;
  return 1;
}

int main (int argc, char **argv) {
  if (argc < 7 || argc > 9) { fprintf(stderr, "usage: %s NS_A NS_B IFNAME DELAY_US RATE_BYTES_PER_S LIMIT_BYTES [LOSS [gso|mtu]]\n", argv[0]); return 2; }
  delay_ns = strtoull(argv[4], NULL, 10) * 1000ull;
  rate = strtoull(argv[5], NULL, 10);
  limit = strtoull(argv[6], NULL, 10);
  loss = argc > 7 ? strtod(argv[7], NULL) : 0;
  if (!(loss >= 0 && loss < 1)) { fprintf(stderr, "delayline: LOSS must be in [0, 1)\n"); return 2; }
  whole_segments = argc > 8 && strcmp(argv[8], "mtu") == 0;
  rng ^= (uint64_t)getpid() * 0xbf58476d1ce4e5b9ull;
  int a = open_tun(argv[1], argv[3]);
  int b = open_tun(argv[2], argv[3]);
  ab.in = a; ab.out = b;
  ba.in = b; ba.out = a;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  printf("ready\n");
  fflush(stdout);
  struct pollfd fds[3] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
  while (!stop) {
    uint64_t now = now_ns();
    uint64_t next = UINT64_MAX;
    if (ab.head && ab.head->due < next) next = ab.head->due;
    if (ba.head && ba.head->due < next) next = ba.head->due;
    struct timespec ts, *tsp = NULL;
    if (next != UINT64_MAX) {
      uint64_t wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ull);
      ts.tv_nsec = (long)(wait % 1000000000ull);
      tsp = &ts;
    }
    int r = ppoll(fds, 3, tsp, NULL);
    if (r < 0) { if (errno == EINTR) continue; die("ppoll"); }
    now = now_ns();
    if (fds[2].revents && !command()) break;
    if (fds[0].revents & POLLIN) take(&ab, now);
    if (fds[1].revents & POLLIN) take(&ba, now);
    now = now_ns();
    give(&ab, now);
    give(&ba, now);
  }
  if (getenv("DELAYLINE_STATS") != NULL) fprintf(stderr, "delayline: a->b %llu sent %llu dropped %llu lost, b->a %llu sent %llu dropped %llu lost\n", ab.sent, ab.dropped, ab.lost, ba.sent, ba.dropped, ba.lost);
  return 0;
}
`

/** One direction's link: one-way delay, optional bandwidth (bytes/s), queue limit (bytes), per-packet loss probability. */
export interface LinkShape { delayMs: number, bytesPerSecond?: number, queueBytes?: number, loss?: number }

/**
 * How the stack hands packets to the delay line: 'gso' (64 KiB super-packets, few packets per
 * second: the cheap choice for fast links) or 'mtu' (one segment per packet, so a loss or a
 * serialisation time is one segment's, as on a real wire).
 */
export type PacketMode = 'gso' | 'mtu'

export interface NetnsLink {
  /** namespace of side A (the provider's) and side B (the requester's) */
  readonly nsA: string
  readonly nsB: string
  readonly addrA: string
  readonly addrB: string
  /** change delay / bandwidth / queue / loss of both directions (packets already queued keep theirs) */
  reshape: (shape: LinkShape) => Promise<void>
  /** set a sysctl (e.g. 'net.ipv4.tcp_wmem') in both namespaces; affects sockets from then on */
  sysctl: (key: string, value: string) => void
  /** read a sysctl in side A */
  readSysctl: (key: string) => string
  /** argv prefix that runs a command inside a namespace */
  execIn: (ns: string) => string[]
  /** CPU seconds the delay line used so far (user + system) */
  cpuSeconds: () => number
  close: () => Promise<void>
}

/** Packets of one direction of a delay line so far. */
export interface DirectionStats { sent: number, dropped: number, lost: number }

const NS_PREFIX = 'tapbench'
const IFNAME = 'tap0'
const ADDR_A = '10.77.0.1'
const ADDR_B = '10.77.0.2'
const DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024
/** SCHED_FIFO priority of realtime delay lines: above every normal process, below the kernel's own threads */
const REALTIME_PRIORITY = 20

let realtimeProbe: string | null | undefined
/**
 * Why this machine cannot run a delay line under SCHED_FIFO (no `chrt`, or the kernel refuses the
 * policy, as in VMs whose cgroup grants no real-time budget); null when it can. Probed once.
 */
function realtimeRefused (): string | null {
  if (realtimeProbe !== undefined) return realtimeProbe
  try {
    execFileSync('chrt', ['-f', String(REALTIME_PRIORITY), 'true'], { stdio: ['ignore', 'pipe', 'pipe'] })
    realtimeProbe = null
  } catch (err) {
    const e = err as { stderr?: Buffer, message: string }
    realtimeProbe = (e.stderr?.toString().trim() ?? '') || e.message
  }
  return realtimeProbe
}

function ip (...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Namespaces left by a bench run that died before its cleanup (their owner pid is gone). */
function removeLeftovers (): void {
  let names: string[] = []
  try {
    names = ip('netns', 'list').split('\n').map(l => l.split(' ')[0]).filter(n => n.startsWith(NS_PREFIX))
  } catch { return }
  for (const n of names) {
    const pid = Number(/^tapbench(\d+)(?:[abh]|m\d+)$/.exec(n)?.[1])
    if (Number.isInteger(pid) && !alive(pid)) {
      try { ip('netns', 'del', n) } catch {}
    }
  }
}

/** Compile the delay line once per source version into the temp dir; undefined without a C compiler. */
function delayLineBinary (): string {
  const hash = createHash('sha256').update(DELAY_LINE_C).digest('hex').slice(0, 16)
  const dir = join(tmpdir(), 'tapestry-bench')
  const bin = join(dir, `delayline-${hash}`)
  if (existsSync(bin)) return bin
  mkdirSync(dir, { recursive: true })
  const src = join(dir, `delayline-${hash}-${process.pid}.c`)
  writeFileSync(src, DELAY_LINE_C)
  const tmpBin = `${bin}.${process.pid}`
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', tmpBin, src], { stdio: ['ignore', 'pipe', 'pipe'] })
  renameSync(tmpBin, bin)
  return bin
}

function procCpuSeconds (pid: number | undefined): number {
  if (pid == null) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100)
  } catch { return 0 }
}

async function readLine (child: ChildProcess): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    let buf = ''
    const onData = (d: Buffer): void => {
      buf += d.toString()
      const i = buf.indexOf('\n')
      if (i >= 0) { done(); resolve(buf.slice(0, i)) }
    }
    const onExit = (code: number | null): void => { done(); reject(new Error(`delay line exited with ${String(code)}`)) }
    const done = (): void => { child.stdout?.off('data', onData); child.off('exit', onExit) }
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
  })
}

function checkMachine (): void {
  if (process.platform !== 'linux') throw new Error('network namespaces need Linux')
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root')
  if (!existsSync('/dev/net/tun')) throw new Error('no /dev/net/tun')
}

/** A namespace with loopback up and IPv6 off (no router solicitations or DAD probes on the links). */
function addNamespace (ns: string, created: string[]): void {
  ip('netns', 'add', ns)
  created.push(ns)
  ip('-n', ns, 'link', 'set', 'lo', 'up')
  try { ip('netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1') } catch {}
}

/** One running delay line between device `ifname` in `nsA` and in `nsB`. */
class DelayLine {
  private constructor (readonly child: ChildProcess) {}

  /** `realtime`: run it under SCHED_FIFO (chrt execs, so the pid stays the line's), so a busy CPU does not stretch the emulated delays */
  static async start (bin: string, nsA: string, nsB: string, ifname: string, shape: LinkShape, packets: PacketMode, realtime = false): Promise<DelayLine> {
    const loss = shape.loss ?? 0
    if (!(loss >= 0 && loss < 1)) throw new Error(`loss must be in [0, 1), got ${loss}`)
    const argv = [...realtime ? ['chrt', '-f', String(REALTIME_PRIORITY)] : [], bin, nsA, nsB, ifname, String(Math.round(shape.delayMs * 1000)),
      String(Math.round(shape.bytesPerSecond ?? 0)), String(shape.queueBytes ?? DEFAULT_QUEUE_BYTES), String(loss), packets]
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
    const line = new DelayLine(child)
    try {
      if ((await readLine(child)) !== 'ready') throw new Error('delay line did not start')
    } catch (err) {
      await line.stop()
      throw err
    }
    return line
  }

  /** one request line, one answer line; answers come in order */
  private async ask (req: string): Promise<string> {
    const answer = readLine(this.child)
    this.child.stdin?.write(req + '\n')
    return await answer
  }

  async reshape (s: LinkShape): Promise<void> {
    const answer = await this.ask(`set ${Math.round(s.delayMs * 1000)} ${Math.round(s.bytesPerSecond ?? 0)} ${s.queueBytes ?? DEFAULT_QUEUE_BYTES} ${s.loss ?? 0}`)
    if (answer !== 'ok') throw new Error('delay line refused the new shape')
  }

  /** [A to B, B to A] */
  async stats (): Promise<[DirectionStats, DirectionStats]> {
    const f = (await this.ask('stats')).split(' ').slice(1).map(Number)
    if (f.length !== 6 || f.some(x => !Number.isFinite(x))) throw new Error('delay line gave no stats')
    return [{ sent: f[0], dropped: f[1], lost: f[2] }, { sent: f[3], dropped: f[4], lost: f[5] }]
  }

  cpuSeconds (): number { return procCpuSeconds(this.child.pid) }

  /** SIGTERM and stdin EOF; waits up to 2 s for the exit */
  async stop (): Promise<void> {
    const c = this.child
    if (c.exitCode != null || c.signalCode != null) return
    const exited = new Promise<void>(resolve => c.once('exit', () => resolve()))
    c.stdin?.end()
    c.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    await Promise.race([exited, new Promise(resolve => { timer = setTimeout(resolve, 2000) })])
    clearTimeout(timer)
  }
}

async function removeAll (lines: DelayLine[], namespaces: string[]): Promise<void> {
  await Promise.all(lines.map(async l => await l.stop()))
  lines.length = 0
  for (const ns of namespaces) {
    try { ip('netns', 'del', ns) } catch {}
  }
  namespaces.length = 0
}

/**
 * Two namespaces A and B joined by the delay line, A at 10.77.0.1 and B at 10.77.0.2. Throws
 * (with the reason) when this machine cannot do it: not root, no `ip`, no TUN, no C compiler.
 */
export async function openNetnsLink (shape: LinkShape, packets: PacketMode = 'gso'): Promise<NetnsLink> {
  checkMachine()
  removeLeftovers()
  const bin = delayLineBinary()
  const nsA = `${NS_PREFIX}${process.pid}a`
  const nsB = `${NS_PREFIX}${process.pid}b`
  const lines: DelayLine[] = []
  const created: string[] = []
  const close = async (): Promise<void> => { await removeAll(lines, created) }
  try {
    for (const ns of [nsA, nsB]) addNamespace(ns, created)
    lines.push(await DelayLine.start(bin, nsA, nsB, IFNAME, shape, packets))
    for (const [ns, self, peer] of [[nsA, ADDR_A, ADDR_B], [nsB, ADDR_B, ADDR_A]]) {
      ip('-n', ns, 'addr', 'add', self, 'peer', peer, 'dev', IFNAME)
      // a common Ethernet MTU: TCP sees real segment sizes, GSO keeps the packet rate low
      ip('-n', ns, 'link', 'set', IFNAME, 'mtu', '1500', 'txqueuelen', '10000', 'up')
    }
  } catch (err) {
    await close()
    throw err
  }
  const line = lines[0]
  const execIn = (ns: string): string[] => ['ip', 'netns', 'exec', ns]
  return {
    nsA,
    nsB,
    addrA: ADDR_A,
    addrB: ADDR_B,
    reshape: async (s: LinkShape) => { await line.reshape(s) },
    sysctl: (key: string, value: string) => {
      for (const ns of [nsA, nsB]) ip('netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`)
    },
    readSysctl: (key: string) => ip('netns', 'exec', nsA, 'sysctl', '-n', key).trim().replace(/\s+/g, ' '),
    execIn,
    cpuSeconds: () => line.cpuSeconds(),
    close
  }
}

/** N member namespaces, each on its own access link (a delay line) to a router namespace. */
export interface HubNetwork {
  /** the router's namespace */
  readonly hub: string
  /** member i: its namespace and its address (10.78.i.2) */
  readonly members: ReadonlyArray<{ ns: string, addr: string }>
  /** argv prefix that runs a command inside a namespace */
  execIn: (ns: string) => string[]
  /** per member's access link: [member → hub, hub → member] packets so far */
  stats: () => Promise<Array<[DirectionStats, DirectionStats]>>
  /** CPU seconds all delay lines used so far */
  cpuSeconds: () => number
  /** why the delay lines run unprioritised although SCHED_FIFO was asked for (undefined: as asked) */
  realtimeRefused?: string
  close: () => Promise<void>
}

/** most members a hub network takes (one /24 per access link in 10.78.0.0/16) */
export const MAX_HUB_MEMBERS = 64

/**
 * `n` member namespaces around a router namespace (IPv4 forwarding on, nothing else in it). Member
 * i is 10.78.i.2 on device tl<i>, its default route the access link to the router; every access
 * link is a delay line with `access` in each direction, so member i → member j crosses i's uplink
 * and j's downlink: one-way delay 2 × access.delayMs, bottleneck min of the two rates, loss
 * 1 − (1 − access.loss)² — a star of access links, as institutions on the internet are. With
 * `realtime` the delay lines run under SCHED_FIFO (`chrt`): the emulated links keep their timing
 * while the members load the CPU; where the kernel refuses that policy they run unprioritised and
 * `realtimeRefused` says why. Throws (with the reason) when this machine cannot do it; cleans up
 * what it made on failure.
 */
export async function openHubNetwork (n: number, access: LinkShape, packets: PacketMode = 'mtu', realtime = true): Promise<HubNetwork> {
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_HUB_MEMBERS)) throw new Error(`members must be an integer in [1, ${MAX_HUB_MEMBERS}], got ${n}`)
  checkMachine()
  const refused = realtime ? realtimeRefused() ?? undefined : undefined
  removeLeftovers()
  const bin = delayLineBinary()
  const hub = `${NS_PREFIX}${process.pid}h`
  const lines: DelayLine[] = []
  const created: string[] = []
  const members: Array<{ ns: string, addr: string }> = []
  const close = async (): Promise<void> => { await removeAll(lines, created) }
  try {
    addNamespace(hub, created)
    ip('netns', 'exec', hub, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
    for (let i = 0; i < n; i++) {
      const ns = `${NS_PREFIX}${process.pid}m${i}`
      addNamespace(ns, created)
      const dev = `tl${i}`
      lines.push(await DelayLine.start(bin, ns, hub, dev, access, packets, realtime && refused == null))
      const addr = `10.78.${i}.2`
      const router = `10.78.${i}.1`
      for (const [where, self, peer] of [[ns, addr, router], [hub, router, addr]]) {
        ip('-n', where, 'addr', 'add', self, 'peer', peer, 'dev', dev)
        ip('-n', where, 'link', 'set', dev, 'mtu', '1500', 'txqueuelen', '10000', 'up')
      }
      ip('-n', ns, 'route', 'add', 'default', 'dev', dev)
      members.push({ ns, addr })
    }
  } catch (err) {
    await close()
    throw err
  }
  return {
    hub,
    members,
    execIn: (ns: string) => ['ip', 'netns', 'exec', ns],
    stats: async () => await Promise.all(lines.map(async l => await l.stats())),
    cpuSeconds: () => lines.reduce((a, l) => a + l.cpuSeconds(), 0),
    realtimeRefused: refused,
    close
  }
}
