import Foundation
import StowageIAM
import StowageModel
import StowageStore
import StowageTelemetryStore

/// What is dropped once its time is up: telemetry and audit partitions past their retention, instance credentials
/// that ended, task definitions their owners deleted. Each call is one transaction and returns what it dropped.
public struct Retention: Sendable {
    let system: SystemContext

    public init(_ system: SystemContext) { self.system = system }

    /// Drops whole daily partitions of logs, per-task metrics and the audit trail older than their days, and the
    /// instance credentials that ended (replaced past their grace, or their instance deregistered); returns the
    /// number of partitions dropped.
    public func maintain(logRetentionDays: Int, metricRetentionDays: Int, auditRetentionDays: Int) async throws -> Int {
        try await system.database.transaction { conn in
            let telemetry = try await TelemetryStore(logger: system.logger).maintain(
                conn, logRetentionDays: logRetentionDays, metricRetentionDays: metricRetentionDays)
            try await InstanceCredentialStore(logger: system.logger).purge(conn, now: system.clock.now())
            return telemetry + (try await IAMStore(logger: system.logger).maintain(conn, auditRetentionDays: auditRetentionDays))
        }
    }

    /// Removes the account's task definition revisions marked for deletion; returns how many.
    public func purgeTaskDefinitions(account: String) async throws -> Int {
        try await system.database.transaction { conn in
            try await TaskDefinitionStore(logger: system.logger).purgeDeleted(conn, account: account)
        }
    }
}
