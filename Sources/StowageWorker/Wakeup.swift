import Synchronization

/// A level-triggered doorbell: `signal` wakes the one waiter, or the next `wait` if nobody waits yet;
/// `wait` also returns after a timeout, which is the worker's polling fallback.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation = 0
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else { s.pending = true; return nil }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    func wait(timeout: Duration) async {
        let generation = state.withLock { s -> Int? in
            if s.pending { s.pending = false; return nil }
            s.generation += 1
            return s.generation
        }
        guard let generation else { return }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                guard s.generation == generation, let w = s.waiter else { return nil }
                s.waiter = nil
                return w
            }
            waiter?.resume()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.pending || s.generation != generation { s.pending = false; return true }
                s.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }
}
