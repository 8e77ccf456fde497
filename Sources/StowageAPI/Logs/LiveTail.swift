import Foundation
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle
import StowageModel
import StowageMonitoringRules
import StowageStore
import Synchronization

/// `GET /v1/logs/groups/{group}/tail`: new lines of a group as server-sent events, until `duration` seconds pass
/// (default 300, at most 3600), the client goes away, or the server shuts down. A tail holds one of its account's
/// live-tail slots (quota `live-tails`) and one of the server's while it is open, and reads the group through the
/// group's shared feed: however many tails follow a group, it is polled once per interval.
enum LogTail {
    static let pollInterval: Duration = .milliseconds(500)
    /// A comment line sent when nothing else was for this long: a client that left is noticed (the write fails)
    /// and its slot freed, instead of being held until the tail's duration ends.
    static let keepAlive: Duration = .seconds(5)
    static let batch = 500

    static func start(_ call: RESTCall) async throws -> Reply {
        let caller = call.caller
        let group = try LogActions.groupName(call.path["group"], nil)
        let pattern: FilterPattern
        do { pattern = try FilterPattern.parse(call.query("filterPattern") ?? "") } catch {
            throw APIError.invalidParameter("Invalid filter pattern: \(error.message)")
        }
        let duration = try call.int("duration") ?? 300
        guard (1...3600).contains(duration) else { throw APIError.invalidParameter("duration must be 1 to 3600 seconds.") }
        try await caller.authorize([TelemetryActions.logGroupArn(caller, group)])
        // The slot first: a tail refused costs no query. Released when the stream ends or, if it never starts, when
        // the last reference to it goes.
        let limit = await caller.backend.quotas.limit(account: caller.account, name: "live-tails")
        let since = Int64((caller.backend.clock.now().timeIntervalSince1970 - 300) * 1000)
        let slot = try caller.backend.liveTails.open(account: caller.account, group: group, limit: limit, since: since)
        let logs = caller.logGroups
        let startSeq = try await logs.tailStart(group)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Reply(stream: ResponseBody { writer in
            defer { slot.close() }
            // The stream runs after the gateway returned: its polls lease within the account's share of the pool too.
            try await Database.$account.withValue(caller.account) {
                var seq = startSeq
                let deadline = ContinuousClock.now + .seconds(duration)
                var wrote = ContinuousClock.now
                try await writer.write(ByteBuffer(string: ": tailing \(group)\n\n"))
                while ContinuousClock.now < deadline, !Task.isShuttingDownGracefully, !Task.isCancelled {
                    let events = await slot.feed.next(after: seq, interval: pollInterval, logger: caller.logger) { after in
                        try await logs.tail(group, since: slot.feed.since, afterSeq: after, limit: batch)
                    }
                    for (event, s) in events {
                        seq = max(seq, s)
                        guard pattern.matches(event.message) else { continue }
                        let json = try ECSJSON.encodeString(event)
                        try await writer.write(ByteBuffer(string: "id: \(s)\nevent: log\ndata: \(json)\n\n"))
                        wrote = ContinuousClock.now
                    }
                    if ContinuousClock.now - wrote >= keepAlive {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        wrote = ContinuousClock.now
                    }
                }
            }
            try await writer.finish(nil)
        }, headers: headers)
    }
}

/// The live tails one server holds: at most the account's quota per account and `serverLimit` in all (each is an
/// open connection and a share of the database's polls), and one feed per tailed group. Refusals are counted
/// (`stowage_live_tails_refused_total`, by which limit).
public final class LiveTails: Sendable {
    struct Key: Hashable, Sendable {
        var account: String
        var group: String
    }

    private struct State {
        var perAccount: [String: Int] = [:]
        var total = 0
        var feeds: [Key: (feed: LiveTailFeed, followers: Int)] = [:]
    }

    public let serverLimit: Int
    private let state = Mutex(State())

    public init(serverLimit: Int = 1_000) { self.serverLimit = max(1, serverLimit) }

    /// Takes a slot of the account's `limit` and of the server's, following the group's feed (made now if none
    /// follows it yet, reading events since `since`, epoch milliseconds).
    func open(account: String, group: String, limit: Int, since: Int64) throws(APIError) -> LiveTailSlot {
        let key = Key(account: account, group: group)
        let outcome = state.withLock { s -> Result<LiveTailFeed, APIError> in
            guard s.total < serverLimit else {
                return .failure(APIError.unavailable("This server already holds its limit of \(serverLimit) live tails. Retry later."))
            }
            let held = s.perAccount[account, default: 0]
            guard held < limit else {
                return .failure(APIError("LimitExceededException", "Account \(account) already has \(held) live tails open, its limit "
                                         + "(quota live-tails is \(limit)). Close one, or ask the operator to raise the quota."))
            }
            s.total += 1
            s.perAccount[account] = held + 1
            let feed = s.feeds[key]?.feed ?? LiveTailFeed(since: since)
            s.feeds[key] = (feed, (s.feeds[key]?.followers ?? 0) + 1)
            return .success(feed)
        }
        switch outcome {
        case .success(let feed):
            Gauge(label: "stowage_live_tails_open").record(openCount)
            return LiveTailSlot(hub: self, key: key, feed: feed)
        case .failure(let error):
            let which = error.code == "LimitExceededException" ? "account" : "server"
            Counter(label: "stowage_live_tails_refused_total", dimensions: [("limit", which)]).increment()
            throw error
        }
    }

    fileprivate func close(_ key: Key) {
        state.withLock { s in
            s.total -= 1
            let left = s.perAccount[key.account, default: 1] - 1
            s.perAccount[key.account] = left > 0 ? left : nil
            if let entry = s.feeds[key] {
                s.feeds[key] = entry.followers > 1 ? (entry.feed, entry.followers - 1) : nil
            }
        }
        Gauge(label: "stowage_live_tails_open").record(openCount)
    }

    public var openCount: Int { state.withLock { $0.total } }
    func open(account: String) -> Int { state.withLock { $0.perAccount[account] ?? 0 } }
    var feedCount: Int { state.withLock { $0.feeds.count } }
}

/// One tail's hold on its slots; closed once, when the stream ends or when the last reference goes.
final class LiveTailSlot: Sendable {
    let feed: LiveTailFeed
    private let hub: LiveTails
    private let key: LiveTails.Key
    private let closed = Atomic<Bool>(false)

    fileprivate init(hub: LiveTails, key: LiveTails.Key, feed: LiveTailFeed) {
        self.hub = hub; self.key = key; self.feed = feed
    }

    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        hub.close(key)
    }

    deinit { close() }
}

/// The polls of one tailed group, shared by every tail following it: whichever follower finds a poll due runs it,
/// the others wait for its answer or the next one, and recent events stay for followers that have not had them yet.
final class LiveTailFeed: Sendable {
    typealias Event = (event: Logs.FilteredLogEvent, seq: Int64)
    /// Recent events kept for followers; one further behind misses lines, as a slow reader of any live tail does.
    static let kept = 1_000

    private struct State {
        /// The highest sequence polled; nil until the first poll, which starts at its follower's position.
        var cursor: Int64?
        var recent: [Event] = []
        var polling = false
        var lastPoll: ContinuousClock.Instant?
        /// The last poll filled its batch: more is waiting, so the next poll is due at once.
        var behind = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Epoch milliseconds: the oldest event time polls read (the feed's start, less five minutes).
    let since: Int64
    private let state = Mutex(State())

    init(since: Int64) { self.since = since }

    private enum Step {
        case events([Event])
        case poll(after: Int64)
        case wait
        case sleep(Duration)
    }

    /// Events after `after`: those already polled, else the next poll's — run by this caller when one is due and none
    /// is running, awaited when one is. When the next poll is not due yet, sleeps until it is and returns none.
    /// A failed poll is logged and counts as an empty one (the tail carries on at the next interval).
    func next(after: Int64, interval: Duration, logger: Logger,
              poll: (Int64) async throws -> [Event]) async -> [Event] {
        let step = state.withLock { s -> Step in
            let newer = Self.after(after, in: s.recent)
            if !newer.isEmpty { return .events(newer) }
            if s.polling { return .wait }
            let now = ContinuousClock.now
            if let last = s.lastPoll, !s.behind, now - last < interval { return .sleep(interval - (now - last)) }
            s.polling = true
            return .poll(after: s.cursor ?? after)
        }
        switch step {
        case .events(let events):
            return events
        case .sleep(let duration):
            try? await Task.sleep(for: duration)
            return []
        case .wait:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = state.withLock { s -> Bool in
                    guard s.polling else { return true }
                    s.waiters.append(continuation)
                    return false
                }
                if done { continuation.resume() }
            }
            return state.withLock { Self.after(after, in: $0.recent) }
        case .poll(let from):
            var batch: [Event] = []
            do {
                batch = try await poll(from)
            } catch {
                logger.warning("live tail poll failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            let (waiters, newer) = state.withLock { s -> ([CheckedContinuation<Void, Never>], [Event]) in
                s.polling = false
                s.lastPoll = ContinuousClock.now
                s.behind = batch.count >= LogTail.batch
                let fresh = batch.filter { $0.seq > (s.cursor ?? .min) }
                s.cursor = max(s.cursor ?? from, batch.last?.seq ?? from)
                s.recent.append(contentsOf: fresh)
                if s.recent.count > Self.kept { s.recent.removeFirst(s.recent.count - Self.kept) }
                let waiters = s.waiters
                s.waiters = []
                return (waiters, Self.after(after, in: s.recent))
            }
            for waiter in waiters { waiter.resume() }
            return newer
        }
    }

    /// The events of `recent` (in sequence order) after `seq`.
    private static func after(_ seq: Int64, in recent: [Event]) -> [Event] {
        guard let last = recent.last, last.seq > seq else { return [] }
        let start = recent.firstIndex { $0.seq > seq } ?? recent.endIndex
        return Array(recent[start...])
    }
}
