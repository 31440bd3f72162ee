/**
 * An error answered to the client in the protocol of the service that was
 * called (EC2 query XML, awsQuery XML, or awsJson).
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status ?? defaultStatus(code);
  }
}

/**
 * The HTTP status AWS uses for an error code, where it is not the usual 400.
 * These matter to the SDK: its retry strategy treats 500/502/503/504 as
 * transient and retries them, whatever the code.
 */
export function defaultStatus(code: string): number {
  switch (code) {
    case "DryRunOperation":
      return 412; // EC2 answers a successful dry run with 412 Precondition Failed
    case "RequestLimitExceeded":
    case "ServiceUnavailable":
    case "Unavailable":
      return 503;
    case "InsufficientInstanceCapacity":
    case "InternalError":
    case "InternalFailure":
    case "InternalServerError":
      return 500;
    case "InvalidClientTokenId":
    case "MissingAuthenticationToken":
    case "SignatureDoesNotMatch":
    case "ExpiredToken":
      return 403;
    case "AuthFailure":
      return 401;
    case "NoSuchEntity":
      return 404;
    case "EntityAlreadyExists":
      return 409;
    default:
      return 400;
  }
}

export function invalidParameterValue(message: string): ApiError {
  return new ApiError("InvalidParameterValue", message);
}
