/**
 * Simulated time. Everything that takes time in AWS is expressed in simulated
 * seconds; `msPerSimSecond` real milliseconds pass for each of them. Tests
 * can also jump ahead with `advance()`.
 *
 * Waits are simulated; dates are not. AWS reports when things happened by the
 * wall clock (CreationDate, LaunchTime, …), and so does the emulator: a date is
 * the real moment at which the simulated clock read that time. A client that
 * records its own `new Date()` beside an emulator's CreationDate (cws does)
 * must be able to order the two. Each change of pace (`advance`,
 * `setMsPerSimSecond`) starts a new stretch of the mapping, so a date once
 * given never changes; a simulated time skipped by `advance()` happened at the
 * moment of the jump. Times before the start (the seeded public images) are in
 * real seconds before it.
 */
interface Stretch {
  /** Simulated seconds at the start of the stretch. */
  sim: number;
  /** The wall clock (ms since the epoch) at that moment. */
  wallMs: number;
  /** Real ms per simulated second during it. */
  scale: number;
}

export class SimClock {
  private readonly origin = performance.now();
  private realStart = this.origin;
  private base = 0;
  private scale: number;
  /** Wall-clock time at which simulated time 0 began. */
  readonly epochMs = Date.now();
  private readonly stretches: Stretch[];

  constructor(msPerSimSecond: number) {
    if (!(msPerSimSecond > 0)) throw new Error(`msPerSimSecond must be > 0, got ${msPerSimSecond}`);
    this.scale = msPerSimSecond;
    this.stretches = [{ sim: 0, wallMs: this.epochMs, scale: msPerSimSecond }];
  }

  get msPerSimSecond(): number {
    return this.scale;
  }

  /** Simulated seconds since the emulator started. */
  now(): number {
    return this.base + (performance.now() - this.realStart) / this.scale;
  }

  /** The wall clock now, on the same time line as `now()` (performance.now, not a Date.now that may step). */
  private wallNow(): number {
    return this.epochMs + (performance.now() - this.origin);
  }

  /** Jumps simulated time forward; the jump takes no wall-clock time. */
  advance(simSeconds: number): void {
    if (simSeconds < 0) throw new Error("the clock only goes forward");
    this.stretches.push({ sim: this.now() + simSeconds, wallMs: this.wallNow(), scale: this.scale });
    this.base += simSeconds;
  }

  /** Changes the speed of simulated time from now on. */
  setMsPerSimSecond(msPerSimSecond: number): void {
    if (!(msPerSimSecond > 0)) throw new Error(`msPerSimSecond must be > 0, got ${msPerSimSecond}`);
    this.base = this.now();
    this.realStart = performance.now();
    this.scale = msPerSimSecond;
    this.stretches.push({ sim: this.base, wallMs: this.wallNow(), scale: msPerSimSecond });
  }

  /** Real milliseconds that the given simulated seconds take. */
  realMs(simSeconds: number): number {
    return Math.max(0, simSeconds * this.scale);
  }

  /** The wall-clock date at which the simulated clock reads `sim` (past, present, or, at today's pace, future). */
  date(sim: number = this.now()): Date {
    const first = this.stretches[0]!;
    if (sim < first.sim) return new Date(Math.round(first.wallMs + (sim - first.sim) * 1000));
    let index = this.stretches.length - 1;
    while (this.stretches[index]!.sim > sim) index--;
    const stretch = this.stretches[index]!;
    const next = this.stretches[index + 1];
    const wallMs = stretch.wallMs + (sim - stretch.sim) * stretch.scale;
    // A time inside a jump happened when the jump did.
    return new Date(Math.round(next === undefined ? wallMs : Math.min(wallMs, next.wallMs)));
  }

  /** The simulated time at which the wall clock read `date` (for dates given before the start, such as a seeded image's). */
  simAt(date: Date | number): number {
    const wallMs = typeof date === "number" ? date : date.getTime();
    const first = this.stretches[0]!;
    if (wallMs < first.wallMs) return first.sim + (wallMs - first.wallMs) / 1000;
    let index = this.stretches.length - 1;
    while (this.stretches[index]!.wallMs > wallMs) index--;
    const stretch = this.stretches[index]!;
    return stretch.sim + (wallMs - stretch.wallMs) / stretch.scale;
  }
}
