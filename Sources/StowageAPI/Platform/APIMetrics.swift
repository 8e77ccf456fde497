import Prometheus

/// Request counts and latencies by action and status, and database pool usage, in Prometheus form.
public struct APIMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    var requests: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "stowage", subsystem: "api", metricName: "requests", unitName: "total",
                             helpText: "API requests by action and HTTP status")
    }
    var latency: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "stowage", subsystem: "api", metricName: "request_duration", unitName: "seconds",
                             helpText: "API request latency by action and HTTP status")
    }
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) { self.registry = registry }

    public func record(action: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: requests, labels: [("action", action), ("status", String(status))]).increment()
        registry.makeDurationHistogram(
            descriptor: latency, labels: [("action", action), ("status", String(status))], buckets: Self.buckets)
            .record(duration)
    }

    /// Log lines agents had to drop (their buffers were full), by cluster: dropped lines are counted, never silent.
    public func droppedLogLines(cluster: String, count: Int) {
        registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "stowage", subsystem: "agent", metricName: "dropped_log_lines", unitName: "total",
            helpText: "Log lines agents dropped because their buffer was full"), labels: [("cluster", cluster)])
            .increment(by: Int64(count))
    }

    /// Metric samples agents dropped (buffer full while the server was unreachable, or refused), by cluster.
    public func droppedMetricSamples(cluster: String, count: Int) {
        registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "stowage", subsystem: "agent", metricName: "dropped_metric_samples", unitName: "total",
            helpText: "Metric samples agents dropped"), labels: [("cluster", cluster)])
            .increment(by: Int64(count))
    }

    /// What input cleaning changed: cleaned or dropped records are counted, never silent.
    public enum Cleaned: String, Sendable {
        /// NUL characters replaced by U+FFFD in agent reports and log lines.
        case nulCharacters = "nul_characters"
    }

    public func cleaned(_ kind: Cleaned, count: Int) {
        registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "stowage", subsystem: "input", metricName: "cleaned", unitName: "total",
            helpText: "Input the server cleaned instead of refusing, by kind"), labels: [("kind", kind.rawValue)])
            .increment(by: Int64(count))
    }

    /// The exposition text, with the pool gauges refreshed at scrape time.
    public func render(connectionsInUse: Int, maxConnections: Int, auditDropped: Int = 0, auditCleaned: Int = 0) -> [UInt8] {
        registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "stowage", subsystem: "audit", metricName: "events_dropped", unitName: "total",
            helpText: "Audit events dropped since start (buffer full while the database was down, or refused)"))
            .set(Double(auditDropped))
        registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "stowage", subsystem: "audit", metricName: "events_cleaned", unitName: "total",
            helpText: "Audit events whose text had NUL characters replaced before storing")).set(Double(auditCleaned))
        registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "stowage", subsystem: "db_pool", metricName: "connections_in_use", unitName: "",
            helpText: "Database connections leased right now")).set(Double(connectionsInUse))
        registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "stowage", subsystem: "db_pool", metricName: "connections_max", unitName: "",
            helpText: "Database pool size")).set(Double(maxConnections))
        return registry.emitToBuffer()
    }
}
