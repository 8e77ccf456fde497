import StowageScheduler
import Testing

@Suite struct HostLossTests {
    let settings = HostLoss.Settings(timeout: 30, grace: 30, massSilenceShare: 0.5, stopsPerSweepShare: 0.1)

    func instance(_ id: String, silence: Double, connected: Bool = true, tasks: Int = 2) -> HostLoss.Instance {
        HostLoss.Instance(id: id, connected: connected, silence: silence, liveTasks: tasks)
    }

    @Test func oneLostHostAmongHealthyOnesHasItsTasksStopped() {
        let d = HostLoss.decide(cluster: "c", [instance("a", silence: 61), instance("b", silence: 1), instance("c", silence: 2)], settings)
        #expect(d.disconnect == ["a"] && d.stop == ["a"] && !d.massSilence && d.events.isEmpty)
    }

    @Test func silenceWithinTheGraceOnlyDisconnects() {
        let d = HostLoss.decide(cluster: "c", [instance("a", silence: 45), instance("b", silence: 1), instance("c", silence: 1)], settings)
        #expect(d.disconnect == ["a"] && d.stop.isEmpty)
    }

    @Test func massSilenceStopsNothingAndSaysSo() {
        let all = (0..<10).map { instance("i\($0)", silence: $0 < 6 ? 600 : 1) }
        let d = HostLoss.decide(cluster: "prod", all, settings)
        #expect(d.massSilence && d.stop.isEmpty && d.disconnect.count == 6)
        #expect(d.events.count == 1 && d.events[0].contains("6 of 10 container instances stopped reporting at once"))
        // Already disconnected: nothing new to say, still nothing stopped.
        let later = HostLoss.decide(cluster: "prod", all.map { var i = $0; i.connected = i.silence < 30; return i }, settings)
        #expect(later.massSilence && later.stop.isEmpty && later.events.isEmpty)
    }

    @Test func theOnlyInstanceGoingSilentIsMassSilence() {
        let d = HostLoss.decide(cluster: "c", [instance("a", silence: 600)], settings)
        #expect(d.massSilence && d.stop.isEmpty && d.disconnect == ["a"])
    }

    @Test func hostLossIsRateLimitedLongestSilentFirst() {
        var all = (0..<20).map { instance(String(format: "h%02d", $0), silence: 1) }
        all[3].silence = 100
        all[7].silence = 300
        all[9].silence = 200
        let d = HostLoss.decide(cluster: "c", all, HostLoss.Settings(timeout: 30, grace: 30, massSilenceShare: 0.5, stopsPerSweepShare: 0.1))
        #expect(d.stop == ["h07", "h09"] && d.deferred == ["h03"])
        #expect(d.events.count == 1 && d.events[0].contains("rate limited"))
    }

    @Test func instancesWithoutTasksAreNotCountedAgainstTheLimit() {
        let d = HostLoss.decide(cluster: "c", [instance("a", silence: 500, tasks: 0), instance("b", silence: 90), instance("c", silence: 1),
                                               instance("d", silence: 1), instance("e", silence: 1)], settings)
        #expect(d.stop == ["b"] && d.deferred.isEmpty && Set(d.disconnect) == ["a", "b"])
    }
}
