/// An error the API reports to callers in the AWS JSON error format.
///
/// One type for every door so that a handler throws once and the ECS door, the
/// REST routes and (later) the query-protocol doors each render it their way.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The AWS error name sent as `__type` (for example `ClusterNotFoundException`).
    public var code: String
    public var message: String
    /// Status on the AWS-protocol doors, which answer 400 for most client faults.
    public var awsStatus: Int
    /// Status on the REST API, where a missing resource is a 404.
    public var restStatus: Int

    public init(_ code: String, _ message: String, awsStatus: Int = 400, restStatus: Int? = nil) {
        self.code = code
        self.message = message
        self.awsStatus = awsStatus
        self.restStatus = restStatus ?? awsStatus
    }

    public var description: String { "\(code): \(message)" }

    public static func client(_ message: String) -> APIError { APIError("ClientException", message) }
    public static func invalidParameter(_ message: String) -> APIError {
        APIError("InvalidParameterException", message)
    }
    public static func clusterNotFound(_ message: String = "Cluster not found.") -> APIError {
        APIError("ClusterNotFoundException", message, restStatus: 404)
    }
    /// ECS reports a missing task definition as a ClientException; REST makes it a 404.
    public static func taskDefinitionNotFound(_ message: String = "Unable to describe task definition.") -> APIError {
        APIError("ClientException", message, restStatus: 404)
    }
    public static func containerInstanceNotFound(_ message: String) -> APIError {
        APIError("InvalidParameterException", message, restStatus: 404)
    }
    public static func resourceNotFound(_ message: String) -> APIError {
        APIError("ResourceNotFoundException", message, restStatus: 404)
    }
    public static func accessDenied(_ message: String) -> APIError {
        APIError("AccessDeniedException", message, awsStatus: 400, restStatus: 403)
    }
    public static func serialization(_ message: String) -> APIError { APIError("SerializationException", message) }
    public static func unknownOperation(_ message: String) -> APIError {
        APIError("UnknownOperationException", message, restStatus: 404)
    }
    public static func server(_ message: String = "An internal error occurred.") -> APIError {
        APIError("ServerException", message, awsStatus: 500)
    }
    /// A control-plane fault (the database did not answer in time): 503 with the name the AWS SDKs retry on.
    public static func unavailable(_ message: String = "The service is temporarily unavailable: the database did not answer in time. Retry the request.") -> APIError {
        APIError("ServiceUnavailableException", message, awsStatus: 503)
    }
    public static func missingAuthentication(_ message: String = "Missing Authentication Token") -> APIError {
        APIError("MissingAuthenticationTokenException", message, awsStatus: 403)
    }
    public static func unrecognizedClient(
        _ message: String = "The security token included in the request is invalid."
    ) -> APIError {
        APIError("UnrecognizedClientException", message, awsStatus: 403)
    }
    public static func invalidSignature(_ message: String) -> APIError {
        APIError("InvalidSignatureException", message, awsStatus: 403)
    }
    public static func incompleteSignature(_ message: String) -> APIError {
        APIError("IncompleteSignatureException", message, awsStatus: 403)
    }
    public static func requestTooLarge(limit: Int) -> APIError {
        APIError("RequestEntityTooLargeException", "Request body exceeds the limit of \(limit) bytes.", awsStatus: 413)
    }
}
