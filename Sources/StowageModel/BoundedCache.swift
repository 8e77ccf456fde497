import Synchronization

/// A memo of immutable values with a hard size: when full it starts over (simple, and never grows past its
/// capacity, which an unbounded dictionary fed by tenants' requests would).
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])
    public let capacity: Int

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public subscript(key: Key) -> Value? { entries.withLock { $0[key] } }

    public func store(_ value: Value, for key: Key) {
        entries.withLock { all in
            if all.count >= capacity, all[key] == nil { all.removeAll(keepingCapacity: true) }
            all[key] = value
        }
    }

    public var count: Int { entries.withLock { $0.count } }
}
