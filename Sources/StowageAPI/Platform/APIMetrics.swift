import Metrics
import Prometheus
import StowageSigning

/// The process's one metrics backend: every target records through swift-metrics (the API here, the pool in
/// StowageStore, the job queue's workers), and `/metrics` renders this Prometheus registry.
public enum MetricsExport {
    /// Bootstraps swift-metrics on first use; later uses share it (swift-metrics allows one bootstrap per process).
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
            .seconds(30), .seconds(120),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Call before anything creates a metric: instruments made before the bootstrap stay no-ops.
    public static func bootstrap() { _ = registry }

    /// The Prometheus exposition text: whole, or without the series that name a tenant.
    public static func render(tenantSeries: Bool = true) -> [UInt8] {
        let text = registry.emitToBuffer()
        return tenantSeries ? text : withoutTenantSeries(text)
    }

    /// Label names whose values are a tenant's account id or one of its names. A series that names a tenant
    /// uses one of these, so that scrapes without the operator's token never see it.
    public static let tenantLabels: Set<String> = ["account", "cluster", "tenant"]

    /// Who may see what of `/metrics`: everything with the operator's token, no tenant's series without it
    /// (a wrong token is refused, so a misconfigured scraper notices).
    public enum Access: Equatable, Sendable { case whole, withoutTenants, refused }

    public static func access(authorization: String?, token: String?) -> Access {
        guard let authorization else { return .withoutTenants }
        let prefix = "Bearer "
        guard let token, !token.isEmpty, authorization.hasPrefix(prefix) else { return .refused }
        return SigV4.constantTimeEqual(String(authorization.dropFirst(prefix.count)), token) ? .whole : .refused
    }

    /// The exposition text less every sample line with a tenant label (HELP and TYPE lines stay: a family
    /// without samples is valid and says the metric exists).
    public static func withoutTenantSeries(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.first != UInt8(ascii: "#"), !labelNames(line).isDisjoint(with: tenantLabels) { continue }
            out += line
            out.append(UInt8(ascii: "\n"))
        }
        if text.last != UInt8(ascii: "\n"), out.last == UInt8(ascii: "\n") { out.removeLast() }
        return out
    }

    /// The label names of one sample line (`name{a="x",b="y\"z"} 1`): quoted values are skipped whole, escapes included.
    static func labelNames(_ line: ArraySlice<UInt8>) -> Set<String> {
        guard let open = line.firstIndex(of: UInt8(ascii: "{")) else { return [] }
        var names: Set<String> = []
        var name: [UInt8] = []
        var index = line.index(after: open)
        while index < line.endIndex {
            let byte = line[index]
            switch byte {
            case UInt8(ascii: "}"):
                return names
            case UInt8(ascii: "\""):
                names.insert(String(decoding: name, as: UTF8.self))
                name = []
                index = line.index(after: index)
                while index < line.endIndex, line[index] != UInt8(ascii: "\"") {
                    if line[index] == UInt8(ascii: "\\") { index = line.index(after: index) }
                    index = line.index(after: index)
                }
            case UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: " "):
                break
            default:
                name.append(byte)
            }
            index = line.index(after: index)
        }
        return names
    }
}

/// The API's own figures: requests and latency by action and status, what agents dropped, what input cleaning
/// changed, and the audit buffer's losses.
public struct APIMetrics: Sendable {
    public init() {}

    /// `account`: the signed caller's, counted per account so an operator can tell which tenant a load is
    /// (shown only to scrapes that present the metrics token).
    public func record(action: String, status: Int, duration: Duration, account: String? = nil) {
        let dimensions = [("action", action), ("status", String(status))]
        Counter(label: "stowage_api_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "stowage_api_request_duration_seconds", dimensions: dimensions).record(duration: duration)
        if let account { Counter(label: "stowage_api_account_requests_total", dimensions: [("account", account)]).increment() }
    }

    /// Access key lookups that reached the database, by outcome; an unknown id repeated within the credential
    /// cache's minute is answered from the cache and not counted again.
    public func credentialLookup(found: Bool) {
        Counter(label: "stowage_credential_lookups_total", dimensions: [("outcome", found ? "found" : "unknown")]).increment()
    }

    /// Log lines agents had to drop (their buffers were full), by cluster: dropped lines are counted, never silent.
    public func droppedLogLines(cluster: String, count: Int) {
        Counter(label: "stowage_agent_dropped_log_lines_total", dimensions: [("cluster", cluster)]).increment(by: count)
    }

    /// Metric samples agents dropped (buffer full while the server was unreachable, or refused), by cluster.
    public func droppedMetricSamples(cluster: String, count: Int) {
        Counter(label: "stowage_agent_dropped_metric_samples_total", dimensions: [("cluster", cluster)]).increment(by: count)
    }

    /// What input cleaning changed: cleaned or dropped records are counted, never silent.
    public enum Cleaned: String, Sendable {
        /// NUL characters replaced by U+FFFD in agent reports and log lines.
        case nulCharacters = "nul_characters"
        /// Agent log events and metric samples dropped for times outside what CloudWatch accepts.
        case outOfRangeLogEvents = "out_of_range_log_events"
        case outOfRangeMetricSamples = "out_of_range_metric_samples"
    }

    public func cleaned(_ kind: Cleaned, count: Int) {
        Counter(label: "stowage_input_cleaned_total", dimensions: [("kind", kind.rawValue)]).increment(by: count)
    }

    /// The exposition text, with the audit buffer's totals refreshed at scrape time.
    public func render(auditDropped: Int = 0, auditCleaned: Int = 0, tenantSeries: Bool = true) -> [UInt8] {
        Gauge(label: "stowage_audit_events_dropped_total").record(auditDropped)
        Gauge(label: "stowage_audit_events_cleaned_total").record(auditCleaned)
        return MetricsExport.render(tenantSeries: tenantSeries)
    }
}
