import Foundation

/// The source of wall-clock time, injected so tests can move time (signature windows, timestamps).
public protocol WallClock: Sendable {
    func now() -> Date
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}
