/**
 * A test-only emulator of the parts of EC2, SSM, STS and IAM that an AMI
 * builder needs. See the package README.md.
 */
export {
  startEmulator,
  type AddImageSpec,
  type Emulator,
  type EmulatorClock,
  type EmulatorOptions,
  type ImageView,
  type InstanceView,
  type InvocationView,
  type ParameterView,
  type SecurityGroupView,
  type SnapshotView,
} from "./emulator.js";
export { Faults, type FaultHandle, type FaultRequest, type FaultSpec, type ServiceName } from "./faults.js";
export { Throttle, type ThrottleOptions } from "./throttle.js";
export type { EmulatorStats, WaitEvent } from "./stats.js";
export type { RequestLogOptions, RequestLogView, RequestRecord } from "./request-log.js";
export { AUTHORIZED_ACTIONS, type Authorization, type AuthorizationContext } from "./authorization.js";
export { DEFAULT_LATENCIES, type Latencies } from "./state.js";
export { CONFINED_DIRS, preferredScratchDir, refusal } from "./sandbox.js";
export { MAX_STDERR_CHARS, MAX_STDOUT_CHARS } from "./commands.js";
export { SSM_MANAGED_POLICY_ARN } from "./iam.js";
export { instanceTypeArchitecture } from "./ec2.js";
export * from "./public-amis.js";
export { ACTIONS_CWS_DOES_NOT_CALL, HANDLED_ACTIONS } from "./actions.js";
