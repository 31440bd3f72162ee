import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { readRegularFile } from "../file-access.js";
import { writeFileAtomic } from "../write-file-atomic.js";
import type { GraphTemplate } from "./graph.js";
import type { Problem } from "./problems.js";

/**
 * `cws ami lint` remembers, per template file, the problems it found for the
 * file's exact bytes (ESLint's --cache, on by default). Unchanged templates
 * are then reported without loading the YAML parser or zod. An entry holds
 * the file's bytes themselves (as latin1 text, one character per byte) and is
 * reused only when the file is byte-for-byte the same: no hash to collide and
 * no node:crypto, which alone costs ~5 ms of start-up. The cache is also keyed
 * by the build of cws that wrote it, so a new rule, a schema change or an
 * edited file always re-lints; `--no-cache` bypasses it. It lives in
 * .cws/cache/ (ignored by git) and is only ever a shortcut: a missing, corrupt
 * or foreign cache just means a full lint.
 */

/** Replaced at build time with a hash of the linter's sources (scripts/build.mjs). */
declare const __CWS_LINT_BUILD__: string | undefined;

export function linterBuildId(): string | undefined {
  return typeof __CWS_LINT_BUILD__ === "string" ? __CWS_LINT_BUILD__ : undefined;
}

/** Far more than the cache of hundreds of templates; anything larger is not worth reading. */
const MAX_CACHE_BYTES = 256 * 1024 * 1024;

export interface CachedLint {
  /** The file's bytes, one latin1 character per byte (lossless, unlike UTF-8 for binary junk). */
  bytes: string;
  valid: boolean;
  /** False when the file had no fields for a lint rule to look at; `notCheckedBecause` says why. */
  warningsChecked: boolean;
  notCheckedBecause?: string;
  /** As found, errors and warnings, before --strict turns warnings into errors. */
  problems: Problem[];
  /**
   * What the checks across templates need of the file (its parent, architectures
   * and regions): they depend on other files, so their problems are not cached,
   * but this is.
   */
  graph: GraphTemplate;
}

interface CacheFile {
  build: string;
  entries: Record<string, CachedLint>;
}

/** The cache's key for a file's bytes: exact, and cheap to compare. */
export function cacheKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

export class LintCache {
  private changed = false;
  private constructor(
    private readonly path: string,
    private readonly build: string,
    private readonly entries: Map<string, CachedLint>,
  ) {}

  /**
   * Undefined when this build of cws cannot cache (an unbundled development
   * run). A cache path that is not a readable regular file (a directory, a
   * pipe, a dangling link, `.cws` a file) is a FileAccessError naming `shownAs`:
   * somebody put it there, and the lint says so; a corrupt, foreign or
   * oversized cache file is just started afresh.
   */
  static async open(path: string, shownAs: string = path): Promise<LintCache | undefined> {
    const build = linterBuildId();
    if (build === undefined) return undefined;
    const file = readRegularFile(path, {
      expected: "file",
      role: "the lint cache",
      shownAs,
      maxBytes: MAX_CACHE_BYTES,
      ifMissing: "undefined",
      suggestion: "remove it (lint recreates it), or lint with --no-cache",
    });
    let entries = new Map<string, CachedLint>();
    try {
      const data = file && file.size <= MAX_CACHE_BYTES ? (JSON.parse(file.bytes.toString("utf8")) as CacheFile) : undefined;
      if (data?.build === build && data.entries && typeof data.entries === "object") entries = new Map(Object.entries(data.entries));
    } catch {
      // A corrupt cache: start afresh.
    }
    return new LintCache(path, build, entries);
  }

  get(file: string, key: string): CachedLint | undefined {
    const entry = this.entries.get(file);
    return entry?.bytes === key ? entry : undefined;
  }

  set(file: string, entry: CachedLint): void {
    this.entries.set(file, entry);
    this.changed = true;
  }

  /** Write atomically; a failure to cache never fails the lint. */
  async save(): Promise<void> {
    if (!this.changed) return;
    const data: CacheFile = { build: this.build, entries: Object.fromEntries([...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) };
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      // No fsync: a cache lost in a crash only means a full lint next time.
      await writeFileAtomic(this.path, JSON.stringify(data), { fsync: false });
    } catch {
      // Not cached this time.
    }
  }
}
