import { describe, expect, it } from "vitest";
import { BUILDER_TRUST_POLICY, reviewTrustPolicy, trustMatches } from "../../src/bootstrap/trust-policy.js";

const doc = (...Statement: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const EC2 = { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" };

describe("reviewTrustPolicy: the builder role's trust, compared by meaning", () => {
  it.each([
    ["bootstrap's own", JSON.stringify(BUILDER_TRUST_POLICY)],
    ["keys in another order, without Version", JSON.stringify({ Statement: [{ Action: "sts:AssumeRole", Principal: { Service: "ec2.amazonaws.com" }, Effect: "Allow" }] })],
    ["arrays for the principal and the action", doc({ Effect: "Allow", Principal: { Service: ["ec2.amazonaws.com"] }, Action: ["sts:AssumeRole"] })],
    ["a Sid (as the console writes it)", doc({ Sid: "", ...EC2 })],
    ["the action in another case (IAM ignores it)", doc({ ...EC2, Action: "sts:assumerole" })],
    ["a statement rather than a list of them", JSON.stringify({ Version: "2012-10-17", Statement: EC2 })],
    ["the same statement twice", doc(EC2, { ...EC2, Sid: "Again" })],
  ])("accepts %s", (_name, policy) => {
    expect(reviewTrustPolicy(policy)).toEqual({ otherPrincipals: [], differences: [] });
  });

  it.each([
    ["another account beside EC2", doc(EC2, { Effect: "Allow", Principal: { AWS: "arn:aws:iam::444455556666:root" }, Action: "sts:AssumeRole" }), ["AWS arn:aws:iam::444455556666:root"], []],
    ["another account in the same statement", doc({ ...EC2, Principal: { Service: "ec2.amazonaws.com", AWS: ["444455556666"] } }), ["AWS 444455556666"], []],
    ["anyone", doc({ ...EC2, Principal: "*" }), ["* (anyone)"], ["no plain sts:AssumeRole for Service ec2.amazonaws.com"]],
    ["anyone in AWS", doc(EC2, { ...EC2, Principal: { AWS: "*" } }), ["* (anyone)"], []],
    ["another service", doc({ ...EC2, Principal: { Service: ["ec2.amazonaws.com", "lambda.amazonaws.com"] } }), ["Service lambda.amazonaws.com"], []],
    ["a federated identity provider", doc(EC2, { Effect: "Allow", Principal: { Federated: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" }, Action: "sts:AssumeRoleWithWebIdentity" }), ["Federated arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"], []],
  ])("refuses %s, naming whom it trusts beyond EC2", (_name, policy, others, differences) => {
    const review = reviewTrustPolicy(policy);
    expect(review).toEqual({ otherPrincipals: others, differences });
    expect(trustMatches(review)).toBe(false);
  });

  it.each([
    ["a Condition", doc({ ...EC2, Condition: { StringEquals: { "aws:SourceAccount": "111122223333" } } }), ["a statement with Condition", "no plain sts:AssumeRole for Service ec2.amazonaws.com"]],
    ["another action for EC2", doc({ ...EC2, Action: ["sts:AssumeRole", "sts:TagSession"] }), ["action sts:TagSession"]],
    ["a Deny beside the grant", doc(EC2, { Effect: "Deny", Principal: { AWS: "arn:aws:iam::444455556666:root" }, Action: "sts:AssumeRole" }), ["a Deny statement"]],
    ["NotPrincipal", doc(EC2, { Effect: "Allow", NotPrincipal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }), ["statement 2 has Effect, NotPrincipal, Action"]],
    ["no grant to EC2", doc({ ...EC2, Principal: { Service: "ssm.amazonaws.com" } }), ["no plain sts:AssumeRole for Service ec2.amazonaws.com"]],
    ["no statements", JSON.stringify({ Version: "2012-10-17", Statement: [] }), ["no plain sts:AssumeRole for Service ec2.amazonaws.com"]],
    ["not JSON", "%7B%22Version", ["its trust policy is not valid JSON"]],
  ])("refuses %s, saying how it differs", (_name, policy, differences) => {
    const review = reviewTrustPolicy(policy);
    expect(review.differences).toEqual(differences);
    expect(trustMatches(review)).toBe(false);
  });
});
