export interface WaitEvent {
  /** Resource the wait belongs to (instance, image, command invocation ...). */
  resource: string;
  /** What was waited for, e.g. "instance-pending", "ssm-agent-online", "image-available". */
  kind: string;
  simSeconds: number;
  /** Simulated time at which the wait started. */
  at: number;
}

/**
 * What the emulator has been asked and how much simulated waiting that
 * implied. A benchmark can compare a build's wall time with `totalSimulatedWait`
 * (in simulated seconds) of the resources on its path.
 */
export interface EmulatorStats {
  /** API calls per "service:Action" (e.g. "ec2:RunInstances"), faulted ones included. */
  readonly calls: Readonly<Record<string, number>>;
  readonly totalCalls: number;
  /** Calls answered with an injected fault. */
  readonly faultsInjected: number;
  /** Calls answered with a throttling error because their bucket was empty (`throttle` option). */
  readonly throttled: number;
  /** Simulated seconds of waiting incurred per resource id. */
  readonly waits: Readonly<Record<string, number>>;
  readonly waitEvents: readonly WaitEvent[];
  readonly totalSimulatedWait: number;
  /** Simulated seconds for the given resources (e.g. one build's instance and image). */
  waitFor(resources: readonly string[]): number;
  reset(): void;
}

export class Stats implements EmulatorStats {
  private callCounts: Record<string, number> = {};
  private total = 0;
  private faults = 0;
  private throttledCalls = 0;
  private waitTotals: Record<string, number> = {};
  private events: WaitEvent[] = [];

  get calls(): Readonly<Record<string, number>> {
    return this.callCounts;
  }
  get totalCalls(): number {
    return this.total;
  }
  get faultsInjected(): number {
    return this.faults;
  }
  get throttled(): number {
    return this.throttledCalls;
  }
  get waits(): Readonly<Record<string, number>> {
    return this.waitTotals;
  }
  get waitEvents(): readonly WaitEvent[] {
    return this.events;
  }
  get totalSimulatedWait(): number {
    return this.events.reduce((sum, e) => sum + e.simSeconds, 0);
  }

  waitFor(resources: readonly string[]): number {
    return resources.reduce((sum, r) => sum + (this.waitTotals[r] ?? 0), 0);
  }

  countCall(service: string, action: string): void {
    const key = `${service}:${action}`;
    this.callCounts[key] = (this.callCounts[key] ?? 0) + 1;
    this.total++;
  }

  countFault(): void {
    this.faults++;
  }

  countThrottled(): void {
    this.throttledCalls++;
  }

  recordWait(resource: string, kind: string, simSeconds: number, at: number): void {
    if (simSeconds <= 0) return;
    this.waitTotals[resource] = (this.waitTotals[resource] ?? 0) + simSeconds;
    this.events.push({ resource, kind, simSeconds, at });
  }

  reset(): void {
    this.callCounts = {};
    this.total = 0;
    this.faults = 0;
    this.throttledCalls = 0;
    this.waitTotals = {};
    this.events = [];
  }
}
