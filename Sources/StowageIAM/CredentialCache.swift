import Foundation
import StowageModel
import Synchronization

/// Remembers verified credentials for a short time so a warm request needs no database round trip.
///
/// The TTL bounds how long a deactivated key keeps working on a server that already saw it.
public final class CredentialCache: Sendable {
    struct Entry { var credential: Credential; var expires: Date }

    private let entries = Mutex<[String: Entry]>([:])
    private let ttl: TimeInterval
    private let capacity: Int
    private let clock: any WallClock

    public init(ttl: TimeInterval = 60, capacity: Int = 100_000, clock: any WallClock = SystemClock()) {
        self.ttl = ttl; self.capacity = capacity; self.clock = clock
    }

    public func get(_ accessKeyId: String) -> Credential? {
        let now = clock.now()
        return entries.withLock { entries in
            guard let entry = entries[accessKeyId] else { return nil }
            guard entry.expires > now else { entries[accessKeyId] = nil; return nil }
            return entry.credential
        }
    }

    public func put(_ accessKeyId: String, _ credential: Credential) {
        let expires = clock.now().addingTimeInterval(ttl)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[accessKeyId] = Entry(credential: credential, expires: expires)
        }
    }

    public func invalidate(_ accessKeyId: String) { _ = entries.withLock { $0.removeValue(forKey: accessKeyId) } }
}
