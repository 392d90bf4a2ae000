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
// RATE > 0), as netem delay + rate would. Queue above LIMIT bytes per direction: drop-tail.
// Stdin lines "set DELAY_US RATE LIMIT" change the link (answered "ok"); EOF on stdin or SIGTERM
// ends it, and the TUN devices vanish with it.
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
struct dir { int in, out; struct pkt *head, *tail; size_t queued; uint64_t link_free; unsigned long long sent, dropped; };

static uint64_t delay_ns, rate, limit;
static volatile sig_atomic_t stop;

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
  if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) die("TUNSETOFFLOAD");
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
    if (sscanf(line, "set %llu %llu %llu", &d, &ra, &li) == 3) { delay_ns = d * 1000ull; rate = ra; limit = li; printf("ok\n"); }
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
  if (argc != 7) { fprintf(stderr, "usage: %s NS_A NS_B IFNAME DELAY_US RATE_BYTES_PER_S LIMIT_BYTES\n", argv[0]); return 2; }
  delay_ns = strtoull(argv[4], NULL, 10) * 1000ull;
  rate = strtoull(argv[5], NULL, 10);
  limit = strtoull(argv[6], NULL, 10);
  int a = open_tun(argv[1], argv[3]);
  int b = open_tun(argv[2], argv[3]);
  struct dir ab = { .in = a, .out = b }, ba = { .in = b, .out = a };
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
  if (getenv("DELAYLINE_STATS") != NULL) fprintf(stderr, "delayline: a->b %llu sent %llu dropped, b->a %llu sent %llu dropped\n", ab.sent, ab.dropped, ba.sent, ba.dropped);
  return 0;
}
`

/** One direction's link: one-way delay, optional bandwidth (bytes/s), queue limit (bytes). */
export interface LinkShape { delayMs: number, bytesPerSecond?: number, queueBytes?: number }

export interface NetnsLink {
  /** namespace of side A (the provider's) and side B (the requester's) */
  readonly nsA: string
  readonly nsB: string
  readonly addrA: string
  readonly addrB: string
  /** change delay / bandwidth / queue of both directions (packets already queued keep theirs) */
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

const NS_PREFIX = 'tapbench'
const IFNAME = 'tap0'
const ADDR_A = '10.77.0.1'
const ADDR_B = '10.77.0.2'
const DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024

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
    const pid = Number(/^tapbench(\d+)[ab]$/.exec(n)?.[1])
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

/**
 * Two namespaces A and B joined by the delay line, A at 10.77.0.1 and B at 10.77.0.2. Throws
 * (with the reason) when this machine cannot do it: not root, no `ip`, no TUN, no C compiler.
 */
export async function openNetnsLink (shape: LinkShape): Promise<NetnsLink> {
  if (process.platform !== 'linux') throw new Error('network namespaces need Linux')
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root')
  if (!existsSync('/dev/net/tun')) throw new Error('no /dev/net/tun')
  removeLeftovers()
  const bin = delayLineBinary()
  const nsA = `${NS_PREFIX}${process.pid}a`
  const nsB = `${NS_PREFIX}${process.pid}b`
  let line: ChildProcess | undefined
  const created: string[] = []
  const close = async (): Promise<void> => {
    if (line != null && line.exitCode == null) {
      const exited = new Promise<void>(resolve => line?.once('exit', () => resolve()))
      line.stdin?.end()
      line.kill('SIGTERM')
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 2000))])
    }
    for (const ns of created) {
      try { ip('netns', 'del', ns) } catch {}
    }
    created.length = 0
  }
  try {
    for (const ns of [nsA, nsB]) {
      ip('netns', 'add', ns)
      created.push(ns)
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      // IPv4 only: no router solicitations or DAD probes on the link
      try { ip('netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1') } catch {}
    }
    const q = shape.queueBytes ?? DEFAULT_QUEUE_BYTES
    line = spawn(bin, [nsA, nsB, IFNAME, String(Math.round(shape.delayMs * 1000)), String(shape.bytesPerSecond ?? 0), String(q)], { stdio: ['pipe', 'pipe', 'inherit'] })
    if ((await readLine(line)) !== 'ready') throw new Error('delay line did not start')
    for (const [ns, self, peer] of [[nsA, ADDR_A, ADDR_B], [nsB, ADDR_B, ADDR_A]]) {
      ip('-n', ns, 'addr', 'add', self, 'peer', peer, 'dev', IFNAME)
      // a common Ethernet MTU: TCP sees real segment sizes, GSO keeps the packet rate low
      ip('-n', ns, 'link', 'set', IFNAME, 'mtu', '1500', 'txqueuelen', '10000', 'up')
    }
  } catch (err) {
    await close()
    throw err
  }
  const child = line
  const execIn = (ns: string): string[] => ['ip', 'netns', 'exec', ns]
  return {
    nsA,
    nsB,
    addrA: ADDR_A,
    addrB: ADDR_B,
    reshape: async (s: LinkShape) => {
      const answer = readLine(child)
      child.stdin?.write(`set ${Math.round(s.delayMs * 1000)} ${s.bytesPerSecond ?? 0} ${s.queueBytes ?? DEFAULT_QUEUE_BYTES}\n`)
      if ((await answer) !== 'ok') throw new Error('delay line refused the new shape')
    },
    sysctl: (key: string, value: string) => {
      for (const ns of [nsA, nsB]) ip('netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`)
    },
    readSysctl: (key: string) => ip('netns', 'exec', nsA, 'sysctl', '-n', key).trim().replace(/\s+/g, ' '),
    execIn,
    cpuSeconds: () => procCpuSeconds(child.pid),
    close
  }
}
