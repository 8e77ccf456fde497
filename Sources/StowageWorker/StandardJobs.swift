import StowageStore

/// The job handlers every worker runs, by kind.
public enum StandardJobs {
    public static func handlers() -> [String: JobHandler] {
        [
            JobKind.purgeTaskDefinitions: { context in
                let purged = try await context.database.transaction { conn in
                    try await TaskDefinitionStore(logger: context.logger).purgeDeleted(conn, account: context.job.account)
                }
                if purged > 0 { context.logger.info("purged task definitions", metadata: ["count": "\(purged)"]) }
            },
        ]
    }

    public static let periodic: [PeriodicJob] = []
}
