import Logging
import PostgresNIO

/// The one LISTEN loop: a dedicated connection per channel that reconnects after any loss and calls `resync`
/// after every (re)connection, because whatever was notified while it was down is lost for good.
public enum Listener {
    public static func run(_ database: Database, channel: String, logger: Logger, retry: Duration = .seconds(1),
                           resync: @escaping @Sendable () -> Void, notified: @escaping @Sendable (String) -> Void) async {
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { conn in
                    try await conn.listen(on: channel) { notifications in
                        resync()
                        for try await notification in notifications { notified(notification.payload) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("LISTEN connection lost", metadata: ["channel": "\(channel)", "error": "\(error)"])
            }
            try? await Task.sleep(for: retry)
        }
    }
}
