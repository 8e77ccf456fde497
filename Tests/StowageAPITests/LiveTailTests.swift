import Foundation
import Logging
@testable import StowageAPI
import StowageModel
import Synchronization
import Testing

/// Issue 23 item 8: live tails are bounded per account and per server, and a group's followers share its polls.
@Suite struct LiveTailTests {
    typealias Event = LiveTailFeed.Event

    func event(_ seq: Int64) -> Event {
        (Logs.FilteredLogEvent(logStreamName: "s", timestamp: seq, message: "line \(seq)", ingestionTime: seq, eventId: "\(seq)"), seq)
    }

    @Test func anAccountHoldsAtMostItsQuotaAndTheServerItsLimit() throws {
        let tails = LiveTails(serverLimit: 5)
        var slots = try (0..<3).map { _ in try tails.open(account: "a", group: "g", limit: 3, since: 0) }
        let refused = #expect(throws: APIError.self) { try tails.open(account: "a", group: "other", limit: 3, since: 0) }
        #expect(refused?.code == "LimitExceededException" && refused?.message.contains("quota live-tails is 3") == true)
        slots += try (0..<2).map { _ in try tails.open(account: "b", group: "g", limit: 3, since: 0) }
        let full = #expect(throws: APIError.self) { try tails.open(account: "c", group: "g", limit: 3, since: 0) }
        #expect(full?.code == "ServiceUnavailableException" && full?.message.contains("limit of 5 live tails") == true)
        // One feed per account and group, however many follow it.
        #expect(tails.feedCount == 2 && tails.open(account: "a") == 3)
        slots[0].close()
        slots[0].close()
        #expect(tails.open(account: "a") == 2 && tails.openCount == 4, "closing twice frees one slot")
        // A slot whose stream never ran is freed when its last reference goes.
        slots.removeAll()
        #expect(tails.openCount == 0 && tails.feedCount == 0)
        #expect(throws: Never.self) { _ = try tails.open(account: "c", group: "g", limit: 3, since: 0) }
    }

    @Test func followersOfOneGroupShareItsPolls() async throws {
        let feed = LiveTailFeed(since: 0)
        let counts = Counts()
        let interval = Duration.milliseconds(200)
        let seen = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    var seq: Int64 = 0
                    let end = ContinuousClock.now + .seconds(1)
                    while ContinuousClock.now < end {
                        let events = await feed.next(after: seq, interval: interval, logger: Logger(label: "test.tail")) { after in
                            counts.polls.add(1, ordering: .relaxed)
                            // Each poll finds the events written since the last one.
                            let upTo = counts.written.add(3, ordering: .relaxed).newValue
                            return (after + 1...upTo).map(event)
                        }
                        seq = events.last?.seq ?? seq
                    }
                    return seq
                }
            }
            var seen: [Int64] = []
            for try await seq in group { seen.append(seq) }
            return seen
        }
        // Twenty followers for a second at one poll per 200 ms: about five polls, not a hundred.
        #expect(counts.polls.load(ordering: .relaxed) <= 7)
        #expect(counts.polls.load(ordering: .relaxed) >= 3)
        // Every follower saw what was polled, up to the last poll at most one interval before it stopped.
        #expect(seen.allSatisfy { $0 >= counts.written.load(ordering: .relaxed) - 3 })
    }
}

/// What the feed's polls did, shared by the followers.
private final class Counts: Sendable {
    let polls = Atomic<Int>(0)
    let written = Atomic<Int64>(0)
}
