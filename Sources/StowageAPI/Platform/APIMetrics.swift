import Metrics
import Prometheus

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

    /// The Prometheus exposition text.
    public static func render() -> [UInt8] { registry.emitToBuffer() }
}

/// The API's own figures: requests and latency by action and status, what agents dropped, what input cleaning
/// changed, and the audit buffer's losses.
public struct APIMetrics: Sendable {
    public init() {}

    public func record(action: String, status: Int, duration: Duration) {
        let dimensions = [("action", action), ("status", String(status))]
        Counter(label: "stowage_api_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "stowage_api_request_duration_seconds", dimensions: dimensions).record(duration: duration)
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
    }

    public func cleaned(_ kind: Cleaned, count: Int) {
        Counter(label: "stowage_input_cleaned_total", dimensions: [("kind", kind.rawValue)]).increment(by: count)
    }

    /// The exposition text, with the audit buffer's totals refreshed at scrape time.
    public func render(auditDropped: Int = 0, auditCleaned: Int = 0) -> [UInt8] {
        Gauge(label: "stowage_audit_events_dropped_total").record(auditDropped)
        Gauge(label: "stowage_audit_events_cleaned_total").record(auditCleaned)
        return MetricsExport.render()
    }
}
