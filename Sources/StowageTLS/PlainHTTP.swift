import Foundation

/// Plain HTTP carries AssumeRole answers, task-role credentials and secret values in clear: it is allowed on the
/// loopback device, and elsewhere only when an operator says so (a TLS-terminating proxy in front, say).
public enum PlainHTTP {
    /// Whether a listen address or a host name stays on this machine: 127.0.0.0/8, ::1, localhost.
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare.hasSuffix(".localhost") || bare == "::1" { return true }
        var v4 = in_addr()
        guard inet_pton(AF_INET, bare, &v4) == 1 else { return false }
        return UInt32(bigEndian: v4.s_addr) >> 24 == 127
    }

    /// Refuses a plain-HTTP listener off loopback unless allowed, saying what to do instead.
    public static func checkListener(host: String, port: Int, allowed: Bool) throws {
        guard !allowed, !isLoopback(host) else { return }
        throw LocalCertificatesError(message: """
            refusing to serve plain HTTP on \(host):\(port): credentials and secret values would cross the network in clear. \
            Give --tls-cert and --tls-key, listen on loopback (--host 127.0.0.1), or say --allow-plain-http \
            (behind a TLS-terminating proxy).
            """)
    }

    /// Refuses an http:// endpoint on another machine unless allowed: the agent would fetch secrets over it.
    public static func checkEndpoint(_ endpoint: String, allowed: Bool) throws {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), let host = url.host else {
            throw LocalCertificatesError(message: "endpoint '\(endpoint)' is not a URL such as https://stowage.example:8443")
        }
        guard scheme == "http" || scheme == "https" else {
            throw LocalCertificatesError(message: "endpoint '\(endpoint)': the scheme must be https (or http on loopback)")
        }
        guard scheme == "http", !allowed, !isLoopback(host) else { return }
        throw LocalCertificatesError(message: """
            refusing plain HTTP to \(host): task credentials and secret values would cross the network in clear. \
            Use an https:// endpoint (with --ca-bundle for a private CA), or say --allow-plain-http.
            """)
    }
}
