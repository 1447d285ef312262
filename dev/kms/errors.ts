/**
 * Errors as AWS KMS reports them over the JSON 1.1 protocol: a status, an
 * `x-amzn-ErrorType` header and a body `{"__type": "<Name>", "message": "..."}`.
 * The AWS SDKs read the type from either place, so we set both.
 */

/** The AWS error types the emulator answers with, and the status AWS KMS uses for each. */
export const AWS_ERROR_STATUS = {
  AccessDeniedException: 400,
  IncompleteSignatureException: 400,
  InvalidCiphertextException: 400,
  InvalidSignatureException: 400,
  KMSInternalException: 500,
  MissingAuthenticationTokenException: 400,
  NotFoundException: 400,
  SerializationException: 400,
  ThrottlingException: 400,
  UnknownOperationException: 400,
  UnrecognizedClientException: 400,
  ValidationException: 400,
} as const;

/** One of the AWS error types above. */
export type AwsErrorType = keyof typeof AWS_ERROR_STATUS;

/** An error the emulator reports to the client in AWS's shape. */
export class KmsApiError extends Error {
  override readonly name = "KmsApiError";
  constructor(
    readonly type: AwsErrorType,
    message: string,
  ) {
    super(message);
  }
}

/** A JSON 1.1 protocol reply. */
export function awsJson(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": crypto.randomUUID() },
  });
}

/** The AWS-shaped response for `error`. */
export function awsErrorResponse(error: KmsApiError): Response {
  const response = awsJson({ __type: error.type, message: error.message }, AWS_ERROR_STATUS[error.type]);
  response.headers.set("x-amzn-errortype", error.type);
  return response;
}
