import Synchronization

/// The one timed wait: `ring` wakes the waiter, or the next `wait` if nobody waits yet (level-triggered);
/// `wait` returns after `timeout` at the latest, also when the timer fires before the waiter has parked,
/// and at once when its task is cancelled.
public final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
        /// The generation whose timer fired; a waiter of that generation does not park.
        var expired = -1
    }

    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else { s.rung = true; return nil }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    public func wait(timeout: Duration) async {
        let generation = state.withLock { s -> Int? in
            if s.rung { s.rung = false; return nil }
            s.generation += 1
            return s.generation
        }
        guard let generation else { return }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.expire(generation)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.rung || s.expired == generation || Task.isCancelled { s.rung = false; return true }
                    s.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            expire(generation)
        }
        timer.cancel()
    }

    private func expire(_ generation: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.generation == generation else { return nil }
            s.expired = generation
            let w = s.waiter
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }
}
