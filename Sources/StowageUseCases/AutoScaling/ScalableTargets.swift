import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// Application Auto Scaling for ECS services: scalable targets and what hangs off them (policies, scheduled actions,
/// the activity log), each call in one transaction. The door has checked the request's shape and authorized it.
public struct ScalableTargets: Sendable {
    let tenant: TenantContext
    let store: ScalingStore
    let services: ServiceStore

    public init(tenant: TenantContext, store: ScalingStore, services: ServiceStore) {
        self.tenant = tenant; self.store = store; self.services = services
    }

    /// The one dimension Stowage scales.
    public static let dimension = "ecs:service:DesiredCount"
    public static func validation(_ message: String) -> APIError { APIError("ValidationException", message) }
    static func notFound(_ message: String) -> APIError { APIError("ObjectNotFoundException", message, restStatus: 404) }
    static func noTarget(_ resourceId: String) -> APIError {
        notFound("No scalable target registered for service namespace: ecs, resource ID: \(resourceId), scalable dimension: \(dimension)")
    }

    var account: String { tenant.account }

    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await tenant.database.withConnection { try await body($0) }
    }

    /// A delete that finds nothing to delete is refused with `missing`.
    func delete(_ missing: APIError, _ body: @escaping @Sendable (PostgresConnection) async throws -> Bool) async throws {
        try await tenant.database.transaction { conn in guard try await body(conn) else { throw missing } }
    }

    /// Policies and scheduled actions hang off a registered target.
    func requireTarget(_ conn: PostgresConnection, _ resourceId: String) async throws {
        guard try await store.targets(conn, account: account, resourceIds: [resourceId]).first != nil else { throw Self.noTarget(resourceId) }
    }

    /// Registers or updates the target of an ACTIVE service; capacities not given keep the registered ones, and
    /// `check` judges the pair that results. The worker evaluates scaling at once.
    public func register(_ input: AutoScaling.RegisterScalableTargetRequest, cluster: String, service: String,
                         check: @escaping @Sendable (_ min: Int, _ max: Int) throws -> Void) async throws {
        try await tenant.database.transaction { [self] conn in
            guard let svc = try await services.get(conn, account: account, cluster: cluster, names: [service]).first, svc.status == "ACTIVE" else {
                throw Self.validation("ECS service doesn't exist: \(input.resourceId)")
            }
            let existing = try await store.targets(conn, account: account, resourceIds: [input.resourceId]).first
            guard let lo = input.minCapacity ?? existing?.minCapacity, let hi = input.maxCapacity ?? existing?.maxCapacity else {
                throw Self.validation("MinCapacity and MaxCapacity are required to register a new scalable target.")
            }
            try check(lo, hi)
            try await store.upsertTarget(conn, ScalingStore.Target(
                account: account, resourceId: input.resourceId, dimension: Self.dimension, cluster: cluster, service: service,
                minCapacity: lo, maxCapacity: hi, suspended: input.suspendedState ?? existing?.suspended ?? AutoScaling.SuspendedState(),
                createdAt: tenant.clock.now()))
            try await JobQueue(logger: tenant.logger).enqueue(conn, account: account, kind: JobKind.evaluateScaling, uniqueKey: "now")
        }
    }

    public func targets(resourceIds: [String]?) async throws -> [ScalingStore.Target] {
        try await read { [self] in try await store.targets($0, account: account, resourceIds: resourceIds) }
    }

    public func deregister(resourceId: String) async throws {
        try await delete(Self.noTarget(resourceId)) { [self] in
            try await store.deleteTarget($0, account: account, resourceId: resourceId, dimension: Self.dimension)
        }
    }

    public func putPolicy(_ input: AutoScaling.PutScalingPolicyRequest, type: String) async throws {
        try await tenant.database.transaction { [self] conn in
            try await requireTarget(conn, input.resourceId)
            try await store.upsertPolicy(conn, account: account, input, type: type)
        }
    }

    public func policies(resourceId: String?, names: [String]?) async throws -> [ScalingStore.Policy] {
        try await read { [self] in try await store.policies($0, account: account, resourceId: resourceId, names: names) }
    }

    public func deletePolicy(resourceId: String, name: String) async throws {
        let missing = Self.notFound("No scaling policy found for service namespace: ecs, resource ID: \(resourceId), scalable dimension: \(Self.dimension), policy name: \(name)")
        try await delete(missing) { [self] in
            try await store.deletePolicy($0, account: account, resourceId: resourceId, dimension: Self.dimension, name: name)
        }
    }

    /// Newest first, started before `before`.
    public func activities(resourceId: String?, before: Date?, limit: Int) async throws -> [AutoScaling.ScalingActivity] {
        try await read { [self] in try await store.activities($0, account: account, resourceId: resourceId, before: before, limit: limit) }
    }

    /// `schedule` is the request's, which the door has parsed.
    public func putScheduled(_ input: AutoScaling.PutScheduledActionRequest, schedule: String) async throws {
        let action = input.scalableTargetAction ?? AutoScaling.ScalableTargetAction()
        try await tenant.database.transaction { [self] conn in
            try await requireTarget(conn, input.resourceId)
            try await store.upsertScheduled(conn, ScalingStore.Scheduled(
                account: account, resourceId: input.resourceId, dimension: Self.dimension, name: input.scheduledActionName, schedule: schedule,
                start: input.startTime, end: input.endTime, minCapacity: action.minCapacity, maxCapacity: action.maxCapacity,
                createdAt: tenant.clock.now(), lastFired: nil))
        }
    }

    public func scheduled(resourceId: String?, names: [String]?) async throws -> [ScalingStore.Scheduled] {
        try await read { [self] in try await store.scheduled($0, account: account, resourceId: resourceId, names: names) }
    }

    public func deleteScheduled(resourceId: String, name: String) async throws {
        try await delete(Self.notFound("No scheduled action found: \(name)")) { [self] in
            try await store.deleteScheduled($0, account: account, resourceId: resourceId, dimension: Self.dimension, name: name)
        }
    }
}
