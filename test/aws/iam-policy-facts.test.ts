/**
 * The facts cws knows ahead of AWS about docs/iam/cws-cli-policy.json (which
 * base images a holder may launch from) are the policy's own: read from the
 * file here, so that neither changes without the other.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DISTRIBUTION_IMAGE_OWNERS, distributionsInWords, imageLaunch } from "../../src/aws/iam-policy-facts.js";
import { ROOT } from "../helpers/cli.js";

interface Statement {
  Sid?: string;
  Condition?: Record<string, Record<string, string | string[]>>;
}

const policy = JSON.parse(readFileSync(join(ROOT, "docs/iam/cws-cli-policy.json"), "utf8")) as { Statement: Statement[] };
const statement = (sid: string) => policy.Statement.find((s) => s.Sid === sid);

describe("the base images a holder of the policy may launch from", () => {
  it("are owned by exactly the owners LaunchFromDistributionImages lists", () => {
    const owners = statement("LaunchFromDistributionImages")?.Condition?.StringEquals?.["ec2:Owner"];
    expect(owners, "LaunchFromDistributionImages conditions ec2:Owner with StringEquals").toBeDefined();
    expect(Object.keys(DISTRIBUTION_IMAGE_OWNERS).sort()).toEqual([owners ?? []].flat().sort());
    // As advice words them (a denied launch's suggestion), each distribution once.
    expect(distributionsInWords()).toBe("Amazon, Canonical or Debian");
  });

  it("or are tagged as LaunchFromCwsImages says", () => {
    expect(statement("LaunchFromCwsImages")?.Condition).toEqual({ StringEquals: { "aws:ResourceTag/cws:managed-by": "cws" } });
    expect(imageLaunch({ ownerId: "123456789012", tags: { "cws:managed-by": "cws" } })).toEqual({ allowed: true, statement: "LaunchFromCwsImages" });
    // Another value is not what the statement matches.
    expect(imageLaunch({ ownerId: "123456789012", tags: { "cws:managed-by": "someone" } }).allowed).toBe(false);
  });

  it("names the distribution by the owner id or alias EC2 reports", () => {
    expect(imageLaunch({ ownerId: "099720109477", tags: {} })).toEqual({ allowed: true, statement: "LaunchFromDistributionImages", owner: "099720109477", distribution: "Canonical" });
    expect(imageLaunch({ ownerId: "136693071363", tags: {} })).toMatchObject({ allowed: true, distribution: "Debian" });
    expect(imageLaunch({ ownerId: "137112412989", ownerAlias: "amazon", tags: {} })).toMatchObject({ allowed: true, owner: "137112412989", distribution: "Amazon" });
    // An Amazon image in a partition whose account id the policy does not list: the alias still matches.
    expect(imageLaunch({ ownerId: "141808717104", ownerAlias: "amazon", tags: {} })).toMatchObject({ allowed: true, owner: "amazon", distribution: "Amazon" });
  });

  it("refuses any other owner, naming it with its alias when EC2 gives one", () => {
    expect(imageLaunch({ ownerId: "123456789012", tags: { team: "research" } })).toEqual({ allowed: false, owner: "123456789012" });
    expect(imageLaunch({ ownerId: "679593333241", ownerAlias: "aws-marketplace", tags: {} })).toEqual({ allowed: false, owner: "aws-marketplace (679593333241)" });
    // Keys every object inherits are no owner.
    expect(imageLaunch({ ownerId: "constructor", tags: {} }).allowed).toBe(false);
  });
});
