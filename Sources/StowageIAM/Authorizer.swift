import StowageModel

/// One authorization decision point: every handler names its action and resources here.
///
/// The policy engine replaces the implementation later; handlers do not change.
public protocol Authorizer: Sendable {
    func authorize(_ principal: Principal, action: String, resources: [String]) async throws(APIError)
}

/// For now: a principal may do anything within its own account and nothing in any other.
public struct AccountAuthorizer: Authorizer {
    public init() {}

    public func authorize(_ principal: Principal, action: String, resources: [String]) async throws(APIError) {
        for resource in resources where resource != "*" {
            guard let arn = ARN(resource), arn.account == principal.accountId else {
                throw .accessDenied(
                    "User: \(principal.arn) is not authorized to perform: \(action) on resource: \(resource)")
            }
        }
    }
}
