/**
 * Simulated time. Everything that takes time in AWS is expressed in simulated
 * seconds; `msPerSimSecond` real milliseconds pass for each of them. Tests
 * can also jump ahead with `advance()`.
 */
export class SimClock {
  private realStart = performance.now();
  private base = 0;
  private scale: number;
  /** Wall-clock time at which simulated time 0 began, used to render dates. */
  readonly epochMs = Date.now();

  constructor(msPerSimSecond: number) {
    if (!(msPerSimSecond > 0)) throw new Error(`msPerSimSecond must be > 0, got ${msPerSimSecond}`);
    this.scale = msPerSimSecond;
  }

  get msPerSimSecond(): number {
    return this.scale;
  }

  /** Simulated seconds since the emulator started. */
  now(): number {
    return this.base + (performance.now() - this.realStart) / this.scale;
  }

  /** Jumps simulated time forward. */
  advance(simSeconds: number): void {
    if (simSeconds < 0) throw new Error("the clock only goes forward");
    this.base += simSeconds;
  }

  /** Changes the speed of simulated time from now on. */
  setMsPerSimSecond(msPerSimSecond: number): void {
    if (!(msPerSimSecond > 0)) throw new Error(`msPerSimSecond must be > 0, got ${msPerSimSecond}`);
    this.base = this.now();
    this.realStart = performance.now();
    this.scale = msPerSimSecond;
  }

  /** Real milliseconds that the given simulated seconds take. */
  realMs(simSeconds: number): number {
    return Math.max(0, simSeconds * this.scale);
  }

  /** The date shown in API answers for a simulated time. */
  date(sim: number = this.now()): Date {
    return new Date(this.epochMs + Math.round(sim * 1000));
  }
}
