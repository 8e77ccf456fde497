import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StowageModel
import StowageTLS

/// Asks a registry which manifest digest a tag names (the OCI distribution API's HEAD on the manifest), so
/// a task's image is known exactly before it is pulled: engines' own records cannot say (Podman lists every
/// digest of an image under every name it has).
///
/// The tenant names the registry, so what it answers is not trusted with the tenant's registry password:
/// plain HTTP only to this machine (judged by the addresses the name resolves to, and called at that address),
/// the password to a token service only over HTTPS on the registry's own site, and redirects followed by hand,
/// each hop checked again and given the Authorization only when it stays on the same origin.
struct ImageRegistryClient: Sendable {
    let client: HTTPClient

    /// Registries' own client: a registry that refuses connections fails the lookup at once (the pull behaviour
    /// then decides), instead of being retried until the connect timeout as the default pool does. Redirects
    /// are never followed by the client itself.
    static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
    static let accept = [
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
    ].joined(separator: ", ")
    static let maxRedirects = 3

    /// A registry's refusal to be called as asked, in the words the task's stopped reason carries.
    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    /// Where a reference's registry answers (`host[:port]`), and the repository path in it (Docker Hub's official
    /// images live under `library/`).
    static func location(_ reference: String) -> (registry: String, repository: String, tag: String) {
        let (name, tag) = ImageReference.split(reference)
        let registry = ImageReference.registry(reference)
        var repository = registry == "docker.io" && !name.hasPrefix("docker.io/") ? name : String(name.dropFirst(registry.count + 1))
        var host = registry
        if registry == "docker.io" {
            host = "registry-1.docker.io"
            if !repository.contains("/") { repository = "library/" + repository }
        }
        return (host, repository, tag ?? "latest")
    }

    /// The digest the registry serves for the reference's tag. A registry whose host resolves only to loopback
    /// addresses is spoken to in plain HTTP, as engines allow; every other one over HTTPS.
    func digest(of reference: String, credentials: ImageRegistryCredentials?) async throws -> String {
        let (registry, repository, tag) = Self.location(reference)
        if tag.hasPrefix("sha256:") { return tag }
        let host = Self.hostName(registry)
        let scheme = await HostAddresses.loopback(host) == nil ? "https" : "http"
        let url = "\(scheme)://\(registry)/v2/\(repository)/manifests/\(tag)"
        do {
            var authorization = credentials.map(Self.basic)
            var response = try await send(url, method: .HEAD, authorization: authorization)
            if response.status == .unauthorized, let challenge = response.headers.first(name: "www-authenticate") {
                authorization = try await answer(challenge, credentials: credentials, registry: url)
                response = try await send(url, method: .HEAD, authorization: authorization)
            }
            guard response.status == .ok, let digest = response.headers.first(name: "docker-content-digest") else {
                throw Refused(description: try await refusal(url, status: response.status, authorization: authorization))
            }
            return digest
        } catch let refused as Refused {
            throw RuntimeError.pullFailed(image: reference, message: refused.description)
        }
    }

    /// What the registry says when it refuses a manifest (a HEAD has no body, so it is asked again with GET):
    /// its `errors`, as `CODE: message`.
    func refusal(_ url: String, status: HTTPResponseStatus, authorization: String?) async throws -> String {
        let response = try await send(url, method: .GET, authorization: authorization)
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        let errors = (json?["errors"] as? [[String: Any]] ?? []).map { "\($0["code"] as? String ?? "ERROR"): \($0["message"] as? String ?? "")" }
        return errors.isEmpty ? "the registry answered \(status.code)" : "the registry answered \(status.code): " + errors.joined(separator: "; ")
    }

    /// One request, with redirects followed by hand: every hop is HTTPS or plain HTTP to this machine (at the
    /// address checked), and carries the Authorization only while it stays on the first URL's origin.
    func send(_ url: String, method: HTTPMethod, authorization: String?) async throws -> HTTPClientResponse {
        guard let first = URL(string: url) else { throw Refused(description: "\(url) is not a URL") }
        var current = first
        for _ in 0...Self.maxRedirects {
            var request = try await Self.request(for: current)
            request.method = method
            request.headers.add(name: "Accept", value: Self.accept)
            if let authorization, Self.origin(current) == Self.origin(first) { request.headers.add(name: "Authorization", value: authorization) }
            let response = try await client.execute(request, timeout: .seconds(30))
            guard [301, 302, 303, 307, 308].contains(response.status.code), let location = response.headers.first(name: "Location") else {
                return response
            }
            _ = try? await response.body.collect(upTo: 64 * 1024)
            guard let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                throw Refused(description: "the registry redirected to '\(location)', which is not a URL")
            }
            current = next
        }
        throw Refused(description: "the registry redirected more than \(Self.maxRedirects) times")
    }

    /// The request for one hop: HTTPS as it is, or plain HTTP sent to the loopback address the name resolved to
    /// (with the name as Host), refused when the host is not this machine.
    static func request(for url: URL) async throws -> HTTPClientRequest {
        guard let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw Refused(description: "\(url.absoluteString) is not an http or https URL")
        }
        if scheme == "https" { return HTTPClientRequest(url: url.absoluteString) }
        guard scheme == "http" else { throw Refused(description: "\(url.absoluteString) is not an http or https URL") }
        guard let address = await HostAddresses.loopback(host), let parts = URLComponents(url: url, resolvingAgainstBaseURL: true) else {
            throw Refused(description: "refused plain HTTP to \(url.absoluteString): \(host) is not this machine (registries off it are called over HTTPS)")
        }
        let port = url.port.map { ":\($0)" } ?? ""
        let authority = (host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host) + port
        let pinned = "http://\(address)\(port)\(parts.percentEncodedPath)" + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
        var request = HTTPClientRequest(url: pinned)
        request.headers.replaceOrAdd(name: "Host", value: authority)
        return request
    }

    /// Scheme, host and port: where an Authorization may go again.
    static func origin(_ url: URL) -> String {
        let scheme = url.scheme?.lowercased() ?? ""
        return "\(scheme)://\((url.host ?? "").lowercased()):\(url.port ?? (scheme == "http" ? 80 : 443))"
    }

    /// `host[:port]` (IPv6 in brackets) -> the host.
    static func hostName(_ authority: String) -> String {
        URLComponents(string: "https://" + authority)?.host ?? authority
    }

    /// The registrable part of a host name, which a registry and its token service share (`registry-1.docker.io`
    /// and `auth.docker.io`: `docker.io`): the last two labels, three under a country's second-level domain
    /// (`co.uk`); an address is its own site.
    static func site(_ host: String) -> String {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        if name.contains(":") || name.allSatisfy({ $0.isNumber || $0 == "." }) { return name }
        let labels = name.split(separator: ".")
        guard labels.count > 2 else { return name }
        let secondLevel: Set<Substring> = ["co", "com", "net", "org", "gov", "edu", "ac", "ne", "or", "go"]
        let keep = labels[labels.count - 1].count == 2 && secondLevel.contains(labels[labels.count - 2]) ? 3 : 2
        return labels.suffix(keep).joined(separator: ".")
    }

    /// Whether the registry's password may go to a token service at `realm`: over HTTPS on the registry's own
    /// site, or when both are this machine.
    static func mayReceiveCredentials(realm: URL, registry: URL) async -> Bool {
        guard let realmHost = realm.host, let registryHost = registry.host else { return false }
        if realm.scheme?.lowercased() == "https" { return site(realmHost) == site(registryHost) }
        guard realm.scheme?.lowercased() == "http" else { return false }
        let realmLocal = await HostAddresses.loopback(realmHost) != nil
        let registryLocal = await HostAddresses.loopback(registryHost) != nil
        return realmLocal && registryLocal
    }

    static func basic(_ c: ImageRegistryCredentials) -> String { "Basic " + Data("\(c.username):\(c.password)".utf8).base64EncodedString() }

    /// The Authorization a `WWW-Authenticate` challenge asks for: Basic with the credentials, or a Bearer token
    /// from the challenge's realm (anonymous when there are no credentials).
    func answer(_ challenge: String, credentials: ImageRegistryCredentials?, registry: String) async throws -> String? {
        if challenge.lowercased().hasPrefix("basic") { return credentials.map(Self.basic) }
        let parameters = Self.challengeParameters(challenge)
        guard let realm = parameters["realm"], var components = URLComponents(string: realm), let realmURL = components.url,
              let registryURL = URL(string: registry) else { return nil }
        if credentials != nil, !(await Self.mayReceiveCredentials(realm: realmURL, registry: registryURL)) {
            throw Refused(description: "the registry's token service \(realm) is not HTTPS on \(Self.site(registryURL.host ?? "")): "
                          + "the registry credentials were not sent to it")
        }
        components.queryItems = ["service", "scope"].compactMap { key in parameters[key].map { URLQueryItem(name: key, value: $0) } }
        guard let url = components.url?.absoluteString else { return nil }
        let response = try await send(url, method: .GET, authorization: credentials.map(Self.basic))
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        return (json?["token"] as? String ?? json?["access_token"] as? String).map { "Bearer " + $0 }
    }

    /// `Bearer realm="https://auth",service="registry",scope="repository:a/b:pull"` -> its parameters.
    static func challengeParameters(_ challenge: String) -> [String: String] {
        var out: [String: String] = [:]
        let body = challenge.drop { $0 != " " }
        let pattern = /([a-zA-Z]+)="([^"]*)"/
        for match in body.matches(of: pattern) { out[String(match.output.1).lowercased()] = String(match.output.2) }
        return out
    }
}
