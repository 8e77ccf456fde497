import Foundation
import Logging
import PostgresNIO
import StowageModel
import StowageStore
import Synchronization

/// What a request brings to authorization besides its action and resources: the condition keys.
public struct AuthorizationContext: Sendable {
    public var sourceIp: String
    public var time: Date
    /// Tags the request sets (CreateCluster, TagResource, …): `aws:RequestTag/…` and `aws:TagKeys`.
    public var requestTags: [String: String]?
    /// Service keys the handler knows, e.g. `ecs:cluster` for RunTask, `ecs:task-definition`.
    public var keys: [String: String]
    /// Reads resources' tags, only called when a policy refers to `aws:ResourceTag/…`.
    public var resourceTags: (@Sendable (String) async throws -> [String: String])?

    public init(sourceIp: String = "", time: Date = Date(), requestTags: [String: String]? = nil, keys: [String: String] = [:],
                resourceTags: (@Sendable (String) async throws -> [String: String])? = nil) {
        self.sourceIp = sourceIp; self.time = time; self.requestTags = requestTags; self.keys = keys; self.resourceTags = resourceTags
    }
}

/// One authorization decision point: every handler names its action and resources here.
public protocol Authorizer: Sendable {
    func authorize(_ principal: Principal, action: String, resources: [String], context: AuthorizationContext) async throws(APIError)
}

extension Authorizer {
    /// A resource in another account is never reachable, whatever the policies say.
    func checkAccount(_ principal: Principal, action: String, resources: [String]) throws(APIError) {
        for resource in resources where resource != "*" {
            guard let arn = ARN(resource),
                  arn.account == principal.accountId || (arn.account == "aws" && arn.service == "iam" && arn.resource.hasPrefix("policy/")) else {
                throw .accessDenied("User: \(principal.arn) is not authorized to perform: \(action) on resource: \(resource)")
            }
        }
    }
}

/// Tenant isolation only: a principal may do anything within its own account (tests of other layers).
public struct AccountAuthorizer: Authorizer {
    public init() {}

    public func authorize(_ principal: Principal, action: String, resources: [String], context: AuthorizationContext) async throws(APIError) {
        try checkAccount(principal, action: action, resources: resources)
    }
}

/// IAM evaluation over the caller's policies, which are loaded once per principal and policy epoch and
/// then kept in memory, so a warm request is authorized without a database round trip.
public final class PolicyAuthorizer: Authorizer {
    struct Entry {
        var policies: [PolicyDocument]
        var session: PolicyDocument?
        var principalTags: [String: String]
        /// Every condition key and policy variable the policies read (lower-cased), in a fixed order: only
        /// these are computed per request, and together with the action and resource they key the decisions.
        var referenced: [String]
        var usesResourceTags: Bool
        var expires: Date
        /// Decisions already made under this policy version, keyed by action, resource and referenced values.
        var decisions: [String: Decision] = [:]
    }

    let database: Database
    let store: IAMStore
    let scope: ARNScope
    let ttl: TimeInterval
    let clock: any WallClock
    private let entries = Mutex<[String: Entry]>([:])
    private let loads = Atomic<Int>(0)

    public init(database: Database, scope: ARNScope, ttl: TimeInterval = 60, clock: any WallClock = SystemClock()) {
        self.database = database; self.scope = scope; self.ttl = ttl; self.clock = clock
        self.store = IAMStore(logger: database.logger)
    }

    /// How many times policies were read from the database (the cache's effect, for tests).
    public var loadCount: Int { loads.load(ordering: .relaxed) }

    /// Drops every cached policy: notifications may have been missed while the LISTEN connection was down.
    public func invalidateAll() { entries.withLock { $0.removeAll() } }

    /// Drops an account's cached policies: its IAM data changed.
    public func invalidate(account: String) {
        entries.withLock { entries in
            for key in entries.keys where key.hasPrefix(account + "|") { entries[key] = nil }
        }
    }

    public func authorize(_ principal: Principal, action: String, resources: [String], context: AuthorizationContext) async throws(APIError) {
        try checkAccount(principal, action: action, resources: resources)
        let key = cacheKey(principal)
        let entry = try await policies(for: principal, key: key)
        for resource in resources.isEmpty ? ["*"] : resources {
            var resourceTags: [String: String] = [:]
            if entry.usesResourceTags, resource != "*", let lookup = context.resourceTags {
                do { resourceTags = try await lookup(resource) } catch {
                    throw DatabaseUnavailable.matches(error) ? .unavailable() : .server("Reading the resource's tags failed.")
                }
            }
            var keys: [String: [String]] = [:]
            var memo = action + "\u{1}" + resource
            for name in entry.referenced {
                let value = Self.value(of: name, principal: principal, resource: resource, context: context,
                                       principalTags: entry.principalTags, resourceTags: resourceTags, scope: scope)
                if let value { keys[name] = value }
                memo += "\u{1}" + (value?.joined(separator: "\u{2}") ?? "\u{3}")
            }
            let decision: Decision
            if let known = entry.decisions[memo] {
                decision = known
            } else {
                decision = PolicyEvaluator.decide(AccessRequest(action: action, resource: resource, keys: keys),
                                                  identity: entry.policies, session: entry.session)
                entries.withLock { entries in
                    if entries[key]?.decisions.count ?? .max < 4096 { entries[key]?.decisions[memo] = decision }
                }
            }
            switch decision {
            case .allowed: continue
            case .explicitlyDenied:
                throw .accessDenied("User: \(principal.arn) is not authorized to perform: \(action) on resource: \(resource) with an explicit deny in an identity-based policy")
            case .implicitlyDenied:
                let why = entry.session == nil ? "no identity-based policy allows" : "no identity-based or session policy allows"
                throw .accessDenied("User: \(principal.arn) is not authorized to perform: \(action) on resource: \(resource) because \(why) the \(action) action")
            }
        }
    }

    /// One condition key's value(s) for this request, or nil when the request has none.
    static func value(of name: String, principal: Principal, resource: String, context: AuthorizationContext,
                      principalTags: [String: String], resourceTags: [String: String], scope: ARNScope) -> [String]? {
        func tag(_ tags: [String: String]?, _ prefix: String) -> [String]? {
            let wanted = name.dropFirst(prefix.count)
            return tags?.first { $0.key.lowercased() == wanted }.map { [$0.value] }
        }
        switch name {
        case "aws:sourceip": return [context.sourceIp]
        case "aws:currenttime": return [UTCTime.rfc3339(context.time)]
        case "aws:epochtime": return [String(Int(context.time.timeIntervalSince1970))]
        case "aws:principalaccount": return [principal.accountId]
        case "aws:principalarn": return [principal.role.map { scope.iamRole(principal.accountId, $0) } ?? principal.arn]
        case "aws:principaltype": return [principal.role == nil ? "User" : "AssumedRole"]
        case "aws:userid": return [principal.accessKeyId]
        case "aws:username": return principal.role == nil ? [principal.userName] : nil
        case "aws:tagkeys": return context.requestTags.map { Array($0.keys).sorted() }
        case "ecs:cluster":
            if let given = context.keys.first(where: { $0.key.lowercased() == name }) { return [given.value] }
            return cluster(of: resource).map { [$0] }
        default:
            if name.hasPrefix("aws:principaltag/") { return tag(principalTags, "aws:principaltag/") }
            if name.hasPrefix("aws:requesttag/") { return tag(context.requestTags, "aws:requesttag/") }
            if name.hasPrefix("aws:resourcetag/") { return tag(resourceTags, "aws:resourcetag/") }
            return context.keys.first { $0.key.lowercased() == name }.map { [$0.value] }
        }
    }

    /// The cluster an ECS resource lives in, for the `ecs:cluster` condition key.
    static func cluster(of resource: String) -> String? {
        guard let arn = ARN(resource), arn.service == "ecs" else { return nil }
        switch arn.resourceType {
        case "cluster": return resource
        case "service", "task", "container-instance":
            guard let name = arn.resourcePath.first else { return nil }
            return "arn:\(arn.partition):ecs:\(arn.region):\(arn.account):cluster/\(name)"
        default: return nil
        }
    }

    func cacheKey(_ principal: Principal) -> String {
        "\(principal.accountId)|\(principal.policyOwner)|\(principal.sessionPolicy == nil ? "" : principal.accessKeyId)"
    }

    func policies(for principal: Principal, key: String) async throws(APIError) -> Entry {
        let now = clock.now()
        if let hit = entries.withLock({ $0[key] }), hit.expires > now { return hit }
        loads.add(1, ordering: .relaxed)
        let account = principal.accountId
        let loaded: (documents: [String], tags: [String: String])
        do {
            loaded = try await database.withConnection { conn in
                try await self.documents(conn, account: account, principal: principal)
            }
        } catch {
            if DatabaseUnavailable.matches(error) { throw .unavailable() }
            database.logger.error("loading the caller's policies failed", metadata: ["account": "\(account)", "error": "\(String(reflecting: error))"])
            throw .server("Loading the caller's policies failed.")
        }
        var policies: [PolicyDocument] = []
        for text in loaded.documents {
            do { policies.append(try PolicyDocument.parse(text, maxSize: .max)) } catch {
                database.logger.error("stored policy does not parse", metadata: ["account": "\(account)", "error": "\(error.message)"])
            }
        }
        let session = principal.sessionPolicy.flatMap { try? PolicyDocument.parse($0, maxSize: .max) }
        var referenced = Set<String>()
        for policy in policies + (session.map { [$0] } ?? []) {
            for statement in policy.statements {
                for condition in statement.conditions { referenced.insert(condition.key) }
                for pattern in statement.resources?.values ?? [] { referenced.formUnion(PolicyEvaluator.variables(in: pattern)) }
            }
        }
        let entry = Entry(policies: policies, session: session, principalTags: loaded.tags, referenced: referenced.sorted(),
                          usesResourceTags: referenced.contains { $0.hasPrefix("aws:resourcetag/") }, expires: now.addingTimeInterval(ttl))
        entries.withLock { entries in
            if entries.count >= 100_000 { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
        return entry
    }

    /// Every policy document that applies to the principal, and its tags (for `aws:PrincipalTag/…`).
    func documents(_ conn: PostgresConnection, account: String, principal: Principal) async throws -> (documents: [String], tags: [String: String]) {
        if let document = InstancePolicy.document(principal, scope: scope) { return ([document], [:]) }
        var owners: [(PrincipalKind, String)]
        let tags: [Tag]
        if let role = principal.role {
            owners = [(.role, role)]
            tags = try await store.tags(conn, account: account, kind: .role, name: role)
        } else {
            owners = [(.user, principal.userName)]
            for group in try await store.groupsOf(conn, account: account, user: principal.userName) { owners.append((.group, group)) }
            tags = try await store.tags(conn, account: account, kind: .user, name: principal.userName)
        }
        var documents: [String] = []
        for (kind, name) in owners {
            for arn in try await store.attached(conn, account: account, kind: kind, name: name) {
                if let document = try await document(conn, account: account, policyArn: arn) { documents.append(document) }
            }
            documents += try await store.inline(conn, account: account, kind: kind, name: name).map(\.document)
        }
        return (documents, tags.dictionary)
    }

    /// A managed policy's default document, built-in or the account's own.
    func document(_ conn: PostgresConnection, account: String, policyArn: String) async throws -> String? {
        guard let arn = ARN(policyArn), arn.service == "iam", arn.resource.hasPrefix("policy/") else { return nil }
        let name = String(arn.resource.split(separator: "/").last ?? "")
        if arn.account == "aws" { return BuiltInPolicies.all[name]?.document }
        guard arn.account == account else { return nil }
        return try await store.defaultDocument(conn, account: account, policy: name)
    }
}
