import Foundation
import PostgresNIO
import StowageModel
import StowageStore

/// Tells the workers a parameter's or secret's value changed, in the writing transaction: services whose tasks
/// read it roll (`roll-on-value-change`). Writes in quick succession coalesce into one roll.
enum ValueChange {
    static func announce(_ conn: PostgresConnection, _ tenant: TenantContext, kind: String, name: String) async throws {
        try await JobQueue(logger: tenant.logger).enqueue(conn, account: tenant.account, kind: JobKind.rollOnValueChange,
                                                          uniqueKey: "\(kind):\(name)",
                                                          payload: .object(["kind": .string(kind), "name": .string(name)]), delay: 1)
    }
}
