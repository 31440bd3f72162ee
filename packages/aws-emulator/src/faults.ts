export type ServiceName = "ec2" | "ssm" | "sts" | "iam";

/** What a fault's `match` predicate sees of a request. */
export interface FaultRequest {
  service: ServiceName;
  action: string;
  region: string;
  /** Form parameters (EC2, STS, IAM) as a flat object, or the JSON body (SSM). */
  params: Readonly<Record<string, unknown>>;
  /** RunInstances only: the subnet and zone the instance would be placed in. */
  subnetId?: string;
  availabilityZone?: string;
}

export interface FaultSpec {
  /** Only calls to this service (any service when left out). */
  service?: ServiceName;
  /** An action name, or "*" for every action, each counted on its own. */
  action: string;
  /** The error code answered, e.g. RequestLimitExceeded, ThrottlingException, InsufficientInstanceCapacity. */
  code: string;
  message?: string;
  /** HTTP status; by default the one AWS uses for the code (503 RequestLimitExceeded, 500 InsufficientInstanceCapacity, else 400). */
  status?: number;
  /** How many matching calls fail, per action (so `action: "*", times: 3` fails the first 3 calls of every action). */
  times: number;
  /** Only calls signed for this region. */
  region?: string;
  /** Only calls this predicate accepts (calls it rejects do not use up `times`). */
  match?: (request: FaultRequest) => boolean;
}

export interface FaultHandle {
  readonly spec: Readonly<FaultSpec>;
  /** Failures left for an action (for the spec's own action when left out). */
  remaining(action?: string): number;
  /** How many calls this fault has failed so far. */
  readonly fired: number;
  remove(): void;
}

interface Rule {
  spec: FaultSpec;
  used: Map<string, number>;
  fired: number;
}

/** Injected failures: the next `times` matching calls fail with the given error. */
export class Faults {
  private rules: Rule[] = [];

  add(spec: FaultSpec): FaultHandle {
    if (!(spec.times >= 1)) throw new Error(`a fault needs times >= 1, got ${spec.times}`);
    if (!spec.action) throw new Error("a fault needs an action (or '*')");
    const rule: Rule = { spec: { ...spec }, used: new Map(), fired: 0 };
    this.rules.push(rule);
    return {
      spec: rule.spec,
      remaining: (action?: string) => Math.max(0, rule.spec.times - (rule.used.get(action ?? rule.spec.action) ?? 0)),
      get fired() {
        return rule.fired;
      },
      remove: () => {
        this.rules = this.rules.filter((r) => r !== rule);
      },
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The fault a request runs into, if any (using one of its `times`). */
  take(request: FaultRequest): FaultSpec | undefined {
    for (const rule of this.rules) {
      const s = rule.spec;
      if (s.service && s.service !== request.service) continue;
      if (s.region && s.region !== request.region) continue;
      if (s.action !== "*" && s.action !== request.action) continue;
      const used = rule.used.get(request.action) ?? 0;
      if (used >= s.times) continue;
      if (s.match && !s.match(request)) continue;
      rule.used.set(request.action, used + 1);
      rule.fired++;
      return s;
    }
    return undefined;
  }
}
