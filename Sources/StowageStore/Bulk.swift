/// Writes records in bulk so that one bad record never blocks the rest: a batch the database refuses for
/// its content is split in halves until the offending records stand alone, and those are dropped (the
/// caller counts them). A batch that failed because the database was unavailable is not split: that error
/// is thrown, and the caller keeps the batch for later.
public enum Bulk {
    public struct Outcome<Record>: Sendable where Record: Sendable {
        public var written = 0
        public var rejected: [Record] = []
        /// The last error a rejected record caused, for the log.
        public var lastError: String?
    }

    public static func write<Record: Sendable>(
        _ records: [Record], _ insert: ([Record]) async throws -> Void
    ) async throws -> Outcome<Record> {
        var outcome = Outcome<Record>()
        var pending: [ArraySlice<Record>] = [records[...]]
        while let batch = pending.popLast() {
            guard !batch.isEmpty else { continue }
            do {
                try await insert(Array(batch))
                outcome.written += batch.count
            } catch where !DatabaseUnavailable.matches(error) {
                if batch.count == 1 {
                    outcome.rejected.append(contentsOf: batch)
                    outcome.lastError = String(describing: error)
                } else {
                    let middle = batch.startIndex + batch.count / 2
                    pending.append(batch[middle...])
                    pending.append(batch[..<middle])
                }
            }
        }
        return outcome
    }

    /// Text PostgreSQL can store: NUL (which `text` cannot hold) becomes U+FFFD. Returns whether it changed.
    public static func storable(_ text: inout String) -> Bool {
        guard text.unicodeScalars.contains("\u{0}") else { return false }
        text = text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
        return true
    }
}
