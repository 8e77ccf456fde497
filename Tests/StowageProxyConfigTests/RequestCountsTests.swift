import Foundation
import Testing

@testable import StowageProxyConfig

@Suite struct RequestCountsTests {
    /// `show stat json` as HAProxy 2.6 prints it: one array of fields per proxy, frontend, backend and server.
    static func stats(_ backends: [(String, Int)], server: (String, Int)? = nil) -> Data {
        var rows: [[[String: Any]]] = backends.map { name, total in
            [["objType": "Backend", "field": ["name": "pxname"], "value": ["type": "str", "value": name]],
             ["objType": "Backend", "field": ["name": "svname"], "value": ["type": "str", "value": "BACKEND"]],
             ["objType": "Backend", "field": ["name": "req_tot"], "value": ["type": "u64", "value": total]]]
        }
        if let server {
            rows.append([["objType": "Server", "field": ["name": "pxname"], "value": ["type": "str", "value": server.0]],
                         ["objType": "Server", "field": ["name": "req_tot"], "value": ["type": "u64", "value": server.1]]])
        }
        return (try? JSONSerialization.data(withJSONObject: rows)) ?? Data()
    }

    @Test func backendTotalsOnlyForTargetGroups() {
        let totals = RequestCounts.totals(Self.stats([("tg_aaaa", 12), ("fe_http", 99)], server: ("tg_aaaa", 7)))
        #expect(totals == ["tg_aaaa": 12])
        #expect(RequestCounts.totals(Data("not json".utf8)).isEmpty)
    }

    @Test func countsDeltasAndSurvivesAReload() {
        var counts = RequestCounts()
        counts.observe(["tg_aaaa": 100])
        #expect(counts.pending.isEmpty, "the first sight only sets the base")
        counts.observe(["tg_aaaa": 130, "tg_bbbb": 5])
        counts.observe(["tg_aaaa": 4, "tg_bbbb": 9])  // HAProxy reloaded: its counter started again at zero
        #expect(counts.take() == ["aaaa": 34, "bbbb": 4])
        #expect(counts.pending.isEmpty)
        counts.restore(["aaaa": 2])
        counts.observe(["tg_aaaa": 6])
        #expect(counts.take() == ["aaaa": 4])
        counts.observe([:])
        counts.observe(["tg_aaaa": 50])
        #expect(counts.take().isEmpty, "a backend that went away starts from a new base")
    }
}
