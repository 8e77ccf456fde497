import StowageAPI
import Testing

/// Issue 23 item 10: `/metrics` without the operator's token leaves out every series that names a tenant.
@Suite struct MetricsExportTests {
    @Test func seriesNamingATenantAreLeftOut() {
        let text = """
            # TYPE stowage_api_requests_total counter
            stowage_api_requests_total{action="ListClusters",status="200"} 3
            # TYPE stowage_api_account_requests_total counter
            stowage_api_account_requests_total{account="123456789012"} 3
            stowage_agent_dropped_log_lines_total{cluster="prod"} 1
            odd{path="a,cluster=\\"x\\"",kind="k"} 1
            odd{kind="k",tenant="t"} 1
            stowage_jobs_queue_readable 1

            """
        let open = String(decoding: MetricsExport.withoutTenantSeries(Array(text.utf8)), as: UTF8.self)
        #expect(!open.contains("123456789012") && !open.contains("prod") && !open.contains("tenant="))
        #expect(open.contains(#"stowage_api_requests_total{action="ListClusters",status="200"} 3"#))
        #expect(open.contains(#"odd{path="a,cluster=\"x\"",kind="k"} 1"#), "a label value that looks like a label is a value")
        #expect(open.contains("stowage_jobs_queue_readable 1") && open.contains("# TYPE stowage_api_account_requests_total counter"))
    }

    @Test func theTokenDecidesWhatIsShown() {
        #expect(MetricsExport.access(authorization: nil, token: "s3cret") == .withoutTenants)
        #expect(MetricsExport.access(authorization: nil, token: nil) == .withoutTenants)
        #expect(MetricsExport.access(authorization: "Bearer s3cret", token: "s3cret") == .whole)
        #expect(MetricsExport.access(authorization: "Bearer wrong", token: "s3cret") == .refused)
        #expect(MetricsExport.access(authorization: "Bearer s3cret", token: nil) == .refused, "no token configured: nobody sees tenants")
        #expect(MetricsExport.access(authorization: "Basic czNjcmV0", token: "s3cret") == .refused)
    }
}
