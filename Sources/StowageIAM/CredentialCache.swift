import Foundation
import StowageModel
import Synchronization

/// Remembers verified credentials for a short time so a warm request needs no database round trip, and
/// remembers unknown access key ids too, so a client repeating a wrong or deleted key costs no round trip either.
///
/// The TTL bounds how long a deactivated key keeps working on a server that already saw it. Unknown ids are
/// kept apart from known ones, in a table of their own size and lifetime (10,000 ids for 60 s by default): a
/// stream of made-up ids can only push out other unknown ids, never a tenant's working credentials. A key
/// that becomes valid after it was remembered as unknown (created, or set Active again) works at once on the
/// server that made the change (it calls `invalidate`) and within `unknownTTL` on the others.
public final class CredentialCache: Sendable {
    struct Entry { var credential: Credential; var expires: Date }

    private let entries = Mutex<[String: Entry]>([:])
    private let unknown = Mutex<[String: Date]>([:])
    private let ttl: TimeInterval
    private let capacity: Int
    private let unknownTTL: TimeInterval
    private let unknownCapacity: Int
    private let clock: any WallClock

    public init(ttl: TimeInterval = 60, capacity: Int = 100_000, unknownTTL: TimeInterval = 60, unknownCapacity: Int = 10_000,
                clock: any WallClock = SystemClock()) {
        self.ttl = ttl; self.capacity = capacity; self.clock = clock
        self.unknownTTL = unknownTTL; self.unknownCapacity = max(1, unknownCapacity)
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
        _ = unknown.withLock { $0.removeValue(forKey: accessKeyId) }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[accessKeyId] = Entry(credential: credential, expires: expires)
        }
    }

    /// Whether the id was looked up recently and found unknown or inactive.
    public func isUnknown(_ accessKeyId: String) -> Bool {
        let now = clock.now()
        return unknown.withLock { unknown in
            guard let expires = unknown[accessKeyId] else { return false }
            guard expires > now else { unknown[accessKeyId] = nil; return false }
            return true
        }
    }

    /// Remembers that the lookup found no active key with this id. When the table is full, expired ids go
    /// first; if that frees less than a tenth it starts over (whoever sends that many unknown ids pays a lookup
    /// per id either way, and known keys live in the other table).
    public func putUnknown(_ accessKeyId: String) {
        let now = clock.now()
        unknown.withLock { unknown in
            if unknown.count >= unknownCapacity, unknown[accessKeyId] == nil {
                unknown = unknown.filter { $0.value > now }
                if unknown.count >= unknownCapacity - unknownCapacity / 10 { unknown.removeAll(keepingCapacity: true) }
            }
            unknown[accessKeyId] = now.addingTimeInterval(unknownTTL)
        }
    }

    public var unknownCount: Int { unknown.withLock { $0.count } }

    /// Forgets the id in both tables: its key was created, changed or deleted here.
    public func invalidate(_ accessKeyId: String) {
        _ = entries.withLock { $0.removeValue(forKey: accessKeyId) }
        _ = unknown.withLock { $0.removeValue(forKey: accessKeyId) }
    }
}
