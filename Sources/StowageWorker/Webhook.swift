import AsyncHTTPClient
import Foundation
import NIOCore
import StowageModel
import StowageTLS

/// Delivers alarm webhooks to tenants' URLs without letting them reach the control plane's own network:
/// every hop's host is resolved and each address checked against the outbound policy before connecting,
/// redirects are followed by hand (each one checked again), and a plain-HTTP request goes to the very
/// address that was checked, so a second DNS answer cannot swap it (DNS rebinding).
enum Webhook {
    struct Forbidden: Error, CustomStringConvertible {
        var url: String
        var reason: String
        var description: String { "refused to call \(url): \(reason)" }
    }

    struct Refused: Error { var status: UInt }

    /// A name that did not resolve this time (or to nothing): the queue retries it (DNS failures are often brief).
    struct Unresolved: Error, CustomStringConvertible {
        var host: String
        var reason: String
        var description: String { "\(host) does not resolve (\(reason))" }
    }

    static let maxRedirects = 3

    /// Redirects are never followed by the client itself: each hop is checked here first.
    static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                   configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    /// POSTs `body` to `url` and returns the final status.
    static func post(_ url: String, body: String, headers: [(String, String)], policy: OutboundPolicy) async throws -> UInt {
        var current = url
        for _ in 0...maxRedirects {
            guard let parts = URLComponents(string: current), let scheme = parts.scheme?.lowercased(), scheme == "http" || scheme == "https",
                  let host = parts.host, !host.isEmpty else {
                throw Forbidden(url: current, reason: "not an http or https URL")
            }
            let addresses = try await resolve(host)
            guard let first = addresses.first else { throw Unresolved(host: host, reason: "no address") }
            for address in addresses {
                if let range = policy.refusal(address) {
                    throw Forbidden(url: current, reason: "\(host) resolves to \(CIDR.format(address)), inside \(range), "
                                    + "which only the operator can allow (--webhook-allow)")
                }
            }
            var target = parts
            var request: HTTPClientRequest
            if scheme == "http" {
                target.host = first.count == 16 ? "[\(CIDR.format(first))]" : CIDR.format(first)
                guard let pinned = target.string else { throw Forbidden(url: current, reason: "cannot be rewritten to its address") }
                request = HTTPClientRequest(url: pinned)
                request.headers.replaceOrAdd(name: "Host", value: parts.port.map { "\(host):\($0)" } ?? host)
            } else {
                request = HTTPClientRequest(url: current)
            }
            request.method = .POST
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            let status = response.status.code
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard (300..<400).contains(status), let location = response.headers.first(name: "Location"),
                  let next = URL(string: location, relativeTo: URL(string: current))?.absoluteString else { return status }
            current = next
        }
        throw Forbidden(url: url, reason: "more than \(maxRedirects) redirects")
    }

    /// Every address a host name resolves to (or the literal address itself, in any spelling the API's
    /// write-time check also reads).
    static func resolve(_ host: String) async throws -> [[UInt8]] {
        if let literal = OutboundPolicy.literalAddress(host) { return [literal] }
        return try await HostAddresses.resolve(host)
    }
}
