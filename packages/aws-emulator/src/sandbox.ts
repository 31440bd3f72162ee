import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { BaseImageFamily } from "./public-amis.js";

/**
 * The host paths every instance gets its own writable copy of. Inside a
 * command's mount namespace every host mount is first made read-only, then
 * each of these is bind-mounted read-write from the instance's scratch tree
 * over the real path, so a script that writes /etc, /var, /root ... changes
 * only the instance, and a write anywhere else (/usr, /boot ...) fails with
 * "Read-only file system" instead of touching the host. Package managers and
 * the like are also refused outright (see `refusal`).
 */
export const CONFINED_DIRS = ["etc", "var", "home", "root", "opt", "srv", "tmp", "run", "usr/local", "dev/shm"] as const;
/** Emptied when the instance stops or reboots, and not carried by images (tmpfs on real instances). */
const VOLATILE_DIRS = ["run", "dev/shm"];
/** What an image carries. */
export const IMAGE_DIRS = CONFINED_DIRS.filter((d) => !VOLATILE_DIRS.includes(d));

/**
 * A scratch location that makes tree copies fast: /dev/shm (tmpfs) when it
 * exists and is writable, else undefined (the OS temp dir). Copying /etc into
 * tmpfs takes ~20 ms instead of ~400 ms on a disk.
 */
export function preferredScratchDir(): string | undefined {
  try {
    const st = lstatSync("/dev/shm");
    if (!st.isDirectory()) return undefined;
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return undefined;
  }
}

/** Environment variables that tag every process an instance runs. */
export const INSTANCE_ENV = "CWS_EMU_INSTANCE";
export const RUN_ENV = "CWS_EMU_RUN";

const UNSHARE_FLAGS = ["--mount", "--net", "--uts", "--ipc", "--propagation", "private"];

/**
 * The shell that sets up a command's namespace, then execs the script.
 * Arguments: instance root, hostname, working directory, script, shell mode,
 * the target that holds the scratch folder (bound last, or ""), then the
 * other targets.
 *
 * 1. bind the instance's trees over /etc, /var, /root ... (the one holding
 *    the scratch folder last, or its bind would hide the later sources);
 * 2. a minimal /dev of its own: null, zero, full, random, urandom, tty, a new
 *    devpts, and the instance's /dev/shm; no host disks;
 * 3. hostname, loopback;
 * 4. every other mount read-only, /proc/sys and /proc/sysrq-trigger too (after
 *    the binds: a bind mount inherits the read-only flag of its source). Failing
 *    to make / read-only is fatal.
 * Only bash builtins and /usr/bin tools that do not read /etc run here, so a
 * script that breaks the instance's /etc cannot weaken the next command's
 * confinement by accident.
 */
const RUNNER = [
  "set -e",
  'R="$1"; H="$2"; C="$3"; S="$4"; M="$5"; L="$6"; shift 6',
  'for t in "$@"; do mount --bind "$R/$t" "/$t"; done',
  "mkdir -p /run/.cws-emu-dev /run/.cws-emu-shm",
  "mount --bind /dev /run/.cws-emu-dev",
  'mount --bind "$R/dev/shm" /run/.cws-emu-shm',
  "mount -t tmpfs -o mode=755,size=1m,nosuid tmpfs /dev",
  'for n in null zero full random urandom tty; do : > "/dev/$n"; mount --bind "/run/.cws-emu-dev/$n" "/dev/$n"; done',
  "mkdir /dev/pts /dev/shm",
  "mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts",
  "ln -s pts/ptmx /dev/ptmx; ln -s /proc/self/fd /dev/fd",
  "ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr",
  "mount --move /run/.cws-emu-shm /dev/shm",
  "umount /run/.cws-emu-dev",
  "rmdir /run/.cws-emu-dev /run/.cws-emu-shm",
  'if [ -n "$L" ]; then mount --bind "$R/$L" "/$L"; fi',
  'echo "$H" > /proc/sys/kernel/hostname 2>/dev/null || true',
  "ip link set lo up >/dev/null 2>&1 || true",
  // Bash builtins only from here on: tools such as awk resolve through the instance's /etc (alternatives).
  "while read -r _ _ _ _ m _; do",
  '  case "$m" in',
  `    /proc|/proc/*|/dev|/dev/*|${CONFINED_DIRS.map((d) => "/" + d).join("|")}) ;;`,
  "    /) mount -o remount,bind,ro / ;;",
  '    *) mount -o remount,bind,ro "$m" 2>/dev/null || true ;;',
  "  esac",
  "done < /proc/self/mountinfo",
  'for p in /proc/sys /proc/sysrq-trigger /proc/irq /proc/bus; do [ -e "$p" ] || continue; mount --bind "$p" "$p" && mount -o remount,bind,ro "$p"; done',
  'cd "$C"',
  'if [ "$M" = agent ]; then exec /bin/sh -c "$S"; fi',
  'exec /bin/bash -- "$S"',
].join("\n");

export type ShellMode = "bash" | "agent";

export type Confinement = { ok: true; flags: string[] } | { ok: false; reason: string };

export interface SpawnOptions {
  instanceId: string;
  /** Scratch root of the instance (holds etc/, var/, ...). */
  root: string;
  hostname: string;
  /** Working directory, as seen inside the instance. */
  cwd: string;
  /** The script, as seen inside the instance. */
  script: string;
  shell: ShellMode;
  stdoutFd: number;
  stderrFd: number;
}

interface Forbidden {
  re: RegExp;
  what: string;
}

/** A command in command position: at a line start, after ; & | ( ` { or a keyword/prefix like sudo. */
function commandPattern(names: string): RegExp {
  const before = String.raw`(?:^|[;&|(\x60{]|\b(?:then|do|else|elif|if|while|until|sudo|exec|nohup|env|xargs|time|command|timeout\s+\S+|setsid)\s)`;
  return new RegExp(String.raw`${before}\s*(?:\S*/)?(?:${names})(?=$|[\s;&|)])`, "m");
}

const FORBIDDEN: readonly Forbidden[] = [
  {
    re: commandPattern("apt-get|apt|aptitude|yum|dnf|microdnf|zypper|apk|pacman|snap|flatpak|emerge"),
    what: "a package manager",
  },
  {
    re: commandPattern(
      String.raw`(?:dpkg|rpm)\s+(?:[^\n;&|]*\s)?(?:-[a-zA-Z]*[iPrUeF][a-zA-Z]*|--install|--remove|--purge|--upgrade|--erase|--configure|--unpack|--force\S*)`,
    ),
    what: "a package manager",
  },
  { re: commandPattern("systemctl|service|reboot|shutdown|halt|poweroff|telinit"), what: "a service manager or power command" },
  {
    re: commandPattern(String.raw`mkfs(?:\.\w+)?|mke2fs|mkswap|swapon|swapoff|fdisk|sfdisk|parted|wipefs|modprobe|insmod|rmmod`),
    what: "a disk or kernel tool",
  },
  { re: /\bdd\b[^\n]*\bof=\/dev\//, what: "dd writing to a device" },
  {
    re: commandPattern(String.raw`nsenter|umount|mount\s+(?:[^\n;&|]*\s)?(?:-o\s*\S*remount\S*|--move|--make-\S+)`),
    what: "a mount or namespace tool that could undo the confinement",
  },
];

/**
 * The second guard: scripts that call a package manager, systemctl, a power
 * command, mkfs or `dd of=/dev/...` are refused before anything runs. Returns
 * the reason, or undefined when the script may run.
 */
export function refusal(script: string): string | undefined {
  for (const f of FORBIDDEN) {
    const m = f.re.exec(script);
    if (m) {
      const snippet = m[0].trim().replace(/^[;&|(\x60{]\s*/, "");
      return `cws emulator: refused to run this script: it calls \`${snippet}\` (${f.what}). Commands run on the host's own /usr, /bin and kernel (only ${CONFINED_DIRS.map((d) => "/" + d).join(", ")} are private to the instance), so this could change the machine running the tests.`;
    }
  }
  return undefined;
}

/** `runTag`: mark the child as this emulator's (RUN_ENV), so that stopping the emulator kills it too, wherever it is in its work. */
function run(file: string, args: string[], options: { timeoutMs?: number; runTag?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = options.runTag === undefined ? undefined : { ...process.env, [RUN_ENV]: options.runTag };
  return new Promise((resolve) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024, ...(env ? { env } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code !== 0 && !stderr ? String(err.message) : "") });
    });
  });
}

async function copyTree(src: string, dest: string, runTag: string): Promise<string | undefined> {
  await mkdir(path.dirname(dest), { recursive: true });
  // A copy still running when the emulator stops would write into the folder after it is removed: tagged, it is killed first.
  const r = await run("cp", ["-a", "--", src, dest], { runTag });
  return r.code === 0 ? undefined : `cp -a ${src} ${dest}: ${r.stderr.trim()}`;
}

/**
 * Scratch space and confined execution for the emulator's instances. One per
 * emulator; everything lives under `dir`, which `destroy()` removes.
 */
export class Sandbox {
  readonly dir: string;
  readonly runTag: string;
  readonly warnings: string[] = [];
  private readonly unsharePath: string;
  private confinement?: Promise<Confinement>;
  private readonly mounts: { holder: string; others: string[] };

  private constructor(dir: string, unsharePath: string, runTag: string) {
    this.dir = dir;
    this.unsharePath = unsharePath;
    this.runTag = runTag;
    this.mounts = planMounts(realpathSync(dir));
  }

  static async create(parent: string | undefined, unsharePath: string, runTag: string): Promise<Sandbox> {
    const base = parent ?? os.tmpdir();
    await mkdir(base, { recursive: true });
    const dir = await mkdtemp(path.join(base, "cws-emu-"));
    return new Sandbox(dir, unsharePath, runTag);
  }

  /** Set by destroy: nothing may be written into the folder any more (a request still being answered when the emulator stops). */
  private destroyed = false;

  /** The sandbox is being removed: start nothing more in it. */
  get stopping(): boolean {
    return this.destroyed;
  }

  /** The run tag for a child process, or an error once the sandbox is being removed. */
  private live(): string {
    if (this.destroyed) throw new Error("the emulator is stopping");
    return this.runTag;
  }

  instanceRoot(instanceId: string): string {
    return path.join(this.dir, "instances", instanceId);
  }

  imageRoot(region: string, imageId: string): string {
    return path.join(this.dir, "images", region, imageId);
  }

  /**
   * Lays out a new instance's trees: a copy of an image's tree, or for a
   * seeded base image a fresh copy of the host's /etc (with the family's
   * os-release and default user) and empty /var, /home, /root ... trees.
   */
  async materialize(source: { tree: string } | { family: BaseImageFamily }, instanceRoot: string, hostname: string): Promise<void> {
    if ("tree" in source) {
      const warning = await copyTree(source.tree, instanceRoot, this.live());
      if (warning) this.warnings.push(warning);
    } else {
      const warning = await copyTree("/etc", path.join(instanceRoot, "etc"), this.live());
      if (warning) this.warnings.push(warning);
      await makeSkeleton(instanceRoot);
      await writeOsRelease(instanceRoot, source.family);
      await addDefaultUser(instanceRoot, source.family.os.defaultUser);
    }
    await resetRun(instanceRoot);
    await mkdir(path.join(instanceRoot, "tmp"), { recursive: true });
    await chmod(path.join(instanceRoot, "tmp"), 0o1777);
    await writeFile(path.join(instanceRoot, "etc", "hostname"), `${hostname}\n`);
  }

  /** Copies an instance's trees (all but /run and /dev/shm) into an image's tree. */
  async snapshot(instanceRoot: string, imageRoot: string): Promise<void> {
    await mkdir(imageRoot, { recursive: true });
    for (const d of IMAGE_DIRS) {
      const warning = await copyTree(path.join(instanceRoot, d), path.join(imageRoot, d), this.live());
      if (warning) this.warnings.push(warning);
    }
    await resetRun(imageRoot);
  }

  /** Copies an image's tree into another image's tree (CopyImage). */
  async copyImageTree(source: string, dest: string): Promise<void> {
    const warning = await copyTree(source, dest, this.live());
    if (warning) this.warnings.push(warning);
  }

  /** Removes a tree of this sandbox (say a deregistered image's). */
  async removeTree(tree: string): Promise<void> {
    if (!tree.startsWith(this.dir + path.sep)) throw new Error(`${tree} is not in the sandbox`);
    await rm(tree, { recursive: true, force: true });
  }

  /** What a reboot or stop does to the tmpfs at /run and /dev/shm. */
  async clearRun(instanceRoot: string): Promise<void> {
    await resetRun(instanceRoot);
  }

  /**
   * Checks, once, that commands can be confined: unshare must create mount,
   * network, UTS and IPC namespaces in which a bind mount works. Falls back
   * to a user namespace (for non-root users). Never runs anything on the host
   * when this fails.
   */
  probe(): Promise<Confinement> {
    if (!this.confinement) this.confinement = this.runProbe();
    return this.confinement;
  }

  private async runProbe(): Promise<Confinement> {
    for (const d of CONFINED_DIRS) {
      if (!existsSync(`/${d}`)) return { ok: false, reason: `/${d} does not exist on this host, so it cannot be replaced by the instance's copy` };
    }
    // Run the whole confinement sequence on a dummy instance; the script checks it took.
    const root = await mkdtemp(path.join(this.dir, "probe-"));
    for (const d of CONFINED_DIRS) await mkdir(path.join(root, d), { recursive: true });
    await writeFile(
      path.join(root, "tmp", "_probe.sh"),
      [
        "test -c /dev/null && test ! -e /dev/cws-emu-none",
        "if touch /cws-emu-probe-ro 2>/dev/null; then rm -f /cws-emu-probe-ro; echo 'the host root stayed writable' >&2; exit 3; fi",
        "echo probe > /etc/cws-emu-probe",
      ].join("\n") + "\n",
    );
    const attempts = [UNSHARE_FLAGS, ["--user", "--map-root-user", ...UNSHARE_FLAGS]];
    const failures: string[] = [];
    try {
      for (const flags of attempts) {
        const args = [...flags, ...this.runnerArgs({ root, hostname: "cws-emu-probe", cwd: "/tmp", script: "/tmp/_probe.sh", shell: "bash" })];
        const r = await run(this.unsharePath, args, { timeoutMs: 15_000, runTag: this.live() });
        if (r.code === 0 && existsSync(path.join(root, "etc", "cws-emu-probe"))) return { ok: true, flags };
        failures.push(`${this.unsharePath} ${flags.join(" ")}: ${r.stderr.trim() || `exit ${r.code}`}`);
      }
    } finally {
      await rm(root, { recursive: true, force: true }).catch(() => undefined);
    }
    return { ok: false, reason: failures.join("; ") };
  }

  private runnerArgs(o: { root: string; hostname: string; cwd: string; script: string; shell: ShellMode }): string[] {
    return ["/bin/bash", "-c", RUNNER, "cws-emu-runner", o.root, o.hostname, o.cwd, o.script, o.shell, this.mounts.holder, ...this.mounts.others];
  }

  /** Starts a confined command. The caller owns the returned process. */
  spawnCommand(o: SpawnOptions, flags: string[]): ChildProcess {
    return spawn(this.unsharePath, [...flags, ...this.runnerArgs(o)], {
      cwd: o.root,
      detached: true,
      stdio: ["ignore", o.stdoutFd, o.stderrFd],
      env: {
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        HOME: "/root",
        USER: "root",
        LOGNAME: "root",
        SHELL: "/bin/bash",
        LANG: "C.UTF-8",
        [INSTANCE_ENV]: o.instanceId,
        [RUN_ENV]: this.runTag,
      },
    });
  }

  /** Kills every process of one instance (found by its environment tag). Returns how many were signalled. */
  killInstanceProcesses(instanceId: string): number {
    return this.killTagged((env) => env.includes(`${INSTANCE_ENV}=${instanceId}`));
  }

  /**
   * Kills every process of this emulator: the instances' processes and the tree copies, and a child
   * caught between fork and exec (its environment is still this process's, without the tag, and its
   * command line is this process's own). Returns once each is dead, so nothing writes afterwards.
   */
  killAll(): number {
    return this.killTagged(() => true, { forks: true });
  }

  private killTagged(match: (env: string[]) => boolean, options: { forks?: boolean } = {}): number {
    const runMark = `${RUN_ENV}=${this.runTag}`;
    const ownCommand = options.forks ? readProc(process.pid, "cmdline") : undefined;
    const killed = new Set<number>();
    for (let pass = 0; pass < 10; pass++) {
      let found = 0;
      for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        const pid = Number(entry);
        if (pid === process.pid || killed.has(pid)) continue;
        const env = readProc(pid, "environ")?.split("\0");
        if (env === undefined) continue;
        const tagged = env.includes(runMark) && match(env);
        const forking = ownCommand !== undefined && parentOf(pid) === process.pid && readProc(pid, "cmdline") === ownCommand;
        if (!tagged && !forking) continue;
        try {
          process.kill(pid, "SIGKILL");
          killed.add(pid);
          found++;
        } catch {
          // already gone
        }
      }
      if (found === 0) break;
    }
    waitUntilDead(killed);
    return killed.size;
  }

  /**
   * The host path holding what an instance sees at `absPath`, following
   * symbolic links as the instance would (so `/var/run` leads to the
   * instance's /run, not the host's).
   */
  resolveInstancePath(instanceRoot: string, absPath: string, hops = 0): string {
    if (!path.posix.isAbsolute(absPath)) throw new Error(`not an absolute path: ${absPath}`);
    const parts = path.posix.normalize(absPath).split("/").filter(Boolean);
    let current = "/";
    for (let i = 0; i < parts.length; i++) {
      const next = path.posix.join(current, parts[i] as string);
      const host = toHost(instanceRoot, next);
      let isLink = false;
      try {
        isLink = lstatSync(host).isSymbolicLink();
      } catch {
        return toHost(instanceRoot, path.posix.join(next, ...parts.slice(i + 1)));
      }
      if (isLink) {
        if (hops > 40) throw new Error(`too many symbolic links in ${absPath}`);
        const target = readlinkSync(host);
        const resolved = path.posix.isAbsolute(target) ? target : path.posix.join(current, target);
        return this.resolveInstancePath(instanceRoot, path.posix.join(resolved, ...parts.slice(i + 1)), hops + 1);
      }
      current = next;
    }
    return toHost(instanceRoot, current);
  }

  /** Reads a file as the instance sees it; the path must be inside one of the instance's own trees. */
  async readInstanceFile(instanceRoot: string, absPath: string): Promise<string> {
    const host = this.resolveInstancePath(instanceRoot, absPath);
    if (!host.startsWith(instanceRoot + path.sep)) {
      throw new Error(`${absPath} is not in the instance's own trees (${CONFINED_DIRS.map((d) => "/" + d).join(", ")}); it is the host's ${host}`);
    }
    return readFile(host, "utf8");
  }

  /**
   * For process exit and signals: kills every process of this emulator (instance scripts and tree
   * copies alike) and removes the scratch folder, synchronously, so that nothing runs in between.
   */
  destroySync(): void {
    this.destroyed = true;
    // File operations already handed to libuv's thread pool (a tree copy's mkdir -p, a skeleton's
    // writeFile) finish on their own threads even while this one is blocked, and may recreate an
    // entry (or the folder itself) just after it was removed. No new one can start (this thread
    // runs no callbacks), so: remove, let the pool drain, and remove again until the folder stays
    // gone across a pause.
    const pause = new Int32Array(new SharedArrayBuffer(4));
    let goneInARow = 0;
    for (let attempt = 0; attempt < 40 && goneInARow < 2; attempt++) {
      this.killAll();
      if (existsSync(this.dir)) {
        goneInARow = 0;
        try {
          rmSync(this.dir, { recursive: true, force: true });
        } catch {
          // ENOTEMPTY when something wrote into it meanwhile: the next pass removes that too
        }
      } else {
        goneInARow++;
      }
      Atomics.wait(pause, 0, 0, goneInARow === 0 ? 5 : 25);
    }
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    this.killAll();
    try {
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } finally {
      // Whatever started while the folder was being removed, and whatever it wrote.
      this.destroySync();
    }
  }
}

function readProc(pid: number, file: "environ" | "cmdline" | "stat"): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "latin1");
  } catch {
    return undefined;
  }
}

/** The parent process id, from /proc/<pid>/stat (the command name in parentheses may hold spaces). */
function parentOf(pid: number): number | undefined {
  const stat = readProc(pid, "stat");
  const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields === undefined ? undefined : Number(fields[1]);
}

/** Waits (synchronously, at most 2 s) until each process is gone or a zombie: a killed process writes nothing more. */
function waitUntilDead(pids: ReadonlySet<number>): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 2_000;
  for (const pid of pids) {
    for (;;) {
      const stat = readProc(pid, "stat");
      if (stat === undefined || /^\S+ \(.*\) [ZX] /s.test(stat) || Date.now() > deadline) break;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

function confinedDirOf(absPath: string): string | undefined {
  return CONFINED_DIRS.find((d) => absPath === `/${d}` || absPath.startsWith(`/${d}/`));
}

function toHost(instanceRoot: string, absPath: string): string {
  return confinedDirOf(absPath) ? path.join(instanceRoot, absPath.slice(1)) : absPath;
}

/**
 * Which target holds the scratch folder (it is bound last, or its mount would
 * hide the sources of the mounts after it), and the others. /dev/shm is set up
 * with the private /dev, so it is never in the list.
 */
function planMounts(scratchReal: string): { holder: string; others: string[] } {
  const holder = confinedDirOf(scratchReal);
  if (holder && scratchReal === `/${holder}`) throw new Error(`the scratch directory cannot be /${holder} itself`);
  if (holder === "run") throw new Error("the scratch directory cannot be under /run");
  const others = CONFINED_DIRS.filter((d) => d !== holder && d !== "dev/shm");
  return { holder: holder && holder !== "dev/shm" ? holder : "", others };
}

async function resetRun(root: string): Promise<void> {
  const runDir = path.join(root, "run");
  await rm(runDir, { recursive: true, force: true });
  await mkdir(path.join(runDir, "lock"), { recursive: true });
  await chmod(path.join(runDir, "lock"), 0o1777);
  const shm = path.join(root, "dev", "shm");
  await rm(shm, { recursive: true, force: true });
  await mkdir(shm, { recursive: true });
  await chmod(shm, 0o1777);
}

async function makeSkeleton(root: string): Promise<void> {
  const dirs: Array<[string, number]> = [
    ["var/lib/amazon/ssm", 0o755],
    ["var/lib/cloud", 0o755],
    ["var/log", 0o755],
    ["var/cache", 0o755],
    ["var/spool", 0o755],
    ["var/backups", 0o755],
    ["var/tmp", 0o1777],
    ["home", 0o755],
    ["root", 0o700],
    ["opt", 0o755],
    ["srv", 0o755],
    ["tmp", 0o1777],
    ["usr/local/bin", 0o755],
    ["usr/local/sbin", 0o755],
    ["usr/local/lib", 0o755],
    ["usr/local/share", 0o755],
    ["usr/local/include", 0o755],
    ["usr/local/etc", 0o755],
    ["usr/local/src", 0o755],
  ];
  for (const [d, mode] of dirs) {
    await mkdir(path.join(root, d), { recursive: true });
    await chmod(path.join(root, d), mode);
  }
  await writeFile(path.join(root, "root", ".bashrc"), "# root's .bashrc (cws emulator)\n");
  await rm(path.join(root, "var", "run"), { force: true, recursive: true });
  await rm(path.join(root, "var", "lock"), { force: true, recursive: true });
  await run("ln", ["-s", "/run", path.join(root, "var", "run")]);
  await run("ln", ["-s", "/run/lock", path.join(root, "var", "lock")]);
  await resetRun(root);
}

async function writeOsRelease(root: string, family: BaseImageFamily): Promise<void> {
  const o = family.os;
  const lines = [
    `PRETTY_NAME="${o.prettyName}"`,
    `NAME="${o.name}"`,
    `VERSION_ID="${o.versionId}"`,
    `ID=${o.id}`,
    ...(o.idLike ? [`ID_LIKE=${o.idLike}`] : []),
    ...(o.codename ? [`VERSION_CODENAME=${o.codename}`] : []),
  ];
  const file = path.join(root, "etc", "os-release");
  await rm(file, { force: true }); // usually a symlink into the host's /usr
  await writeFile(file, lines.join("\n") + "\n");
}

async function addDefaultUser(root: string, user: string): Promise<void> {
  const passwdFile = path.join(root, "etc", "passwd");
  const passwd = await readFile(passwdFile, "utf8").catch(() => "");
  if (passwd.split("\n").some((l) => l.startsWith(`${user}:`))) return;
  const used = new Set(passwd.split("\n").map((l) => Number(l.split(":")[2])));
  let uid = 1000;
  while (used.has(uid)) uid++;
  await writeFile(passwdFile, passwd + (passwd.endsWith("\n") || !passwd ? "" : "\n") + `${user}:x:${uid}:${uid}:${user}:/home/${user}:/bin/bash\n`);
  const groupFile = path.join(root, "etc", "group");
  const group = await readFile(groupFile, "utf8").catch(() => "");
  await writeFile(groupFile, group + (group.endsWith("\n") || !group ? "" : "\n") + `${user}:x:${uid}:\n`);
  const shadowFile = path.join(root, "etc", "shadow");
  if (existsSync(shadowFile)) {
    const shadow = await readFile(shadowFile, "utf8");
    await writeFile(shadowFile, shadow + (shadow.endsWith("\n") || !shadow ? "" : "\n") + `${user}:*:19700:0:99999:7:::\n`);
  }
  await mkdir(path.join(root, "etc", "sudoers.d"), { recursive: true });
  await writeFile(path.join(root, "etc", "sudoers.d", "90-cloud-init-users"), `${user} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
  const home = path.join(root, "home", user);
  await mkdir(home, { recursive: true });
  await chown(home, uid, uid).catch(() => undefined);
}
