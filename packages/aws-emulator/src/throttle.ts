import type { ServiceName } from "./faults.js";

/**
 * Request throttling as EC2 documents it: a token bucket per account, per
 * region and per API action ("each API is evaluated individually"). A call
 * takes a token; an empty bucket answers the service's throttling error
 * (EC2 RequestLimitExceeded with HTTP 503, SSM ThrottlingException, STS and
 * IAM Throttling, both 400); the bucket refills at a steady rate up to its
 * capacity. IAM is global, so its buckets are too.
 *
 * Buckets refill in real seconds, not simulated ones: what is throttled is
 * the rate at which clients send, and the SDK's backoff and adaptive rate
 * limiter run on the real clock. An emulator whose simulated time runs fast
 * makes clients poll faster in real time, so the same limits throttle it more
 * than AWS would throttle the same work: a harder test, not an easier one.
 */
export interface ThrottleOptions {
  /** Tokens a bucket holds: the burst it allows (AWS: 100 for most Describe actions, 50 for RunInstances). */
  capacity: number;
  /** Tokens added per real second: the sustained rate (AWS: 20 for most Describe actions, 5 for mutating ones). */
  refillPerSecond: number;
  /** The services throttled (default: all). */
  services?: readonly ServiceName[];
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

export class Throttle {
  private options: ThrottleOptions | undefined;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    options: ThrottleOptions | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.set(options);
  }

  /** Turns throttling on with these limits (fresh, full buckets), or off with undefined. */
  set(options: ThrottleOptions | undefined): void {
    if (options !== undefined) {
      if (!(options.capacity >= 1)) throw new Error(`a throttle needs a capacity of at least 1, got ${options.capacity}`);
      if (!(options.refillPerSecond > 0)) throw new Error(`a throttle needs a refill rate above 0, got ${options.refillPerSecond}`);
    }
    this.options = options === undefined ? undefined : { ...options };
    this.buckets.clear();
  }

  get limits(): Readonly<ThrottleOptions> | undefined {
    return this.options;
  }

  /** Takes a token for this call; false when its bucket is empty (the call is throttled). */
  take(service: ServiceName, region: string, action: string): boolean {
    const options = this.options;
    if (options === undefined || (options.services !== undefined && !options.services.includes(service))) return true;
    const key = `${service}:${service === "iam" ? "global" : region}:${action}`;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: options.capacity, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(options.capacity, bucket.tokens + ((now - bucket.at) / 1000) * options.refillPerSecond);
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** The code each service answers a throttled call with. */
export function throttlingCode(service: ServiceName): string {
  switch (service) {
    case "ec2":
      return "RequestLimitExceeded";
    case "ssm":
      return "ThrottlingException";
    default:
      return "Throttling";
  }
}
