import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StowageModel

/// Asks a registry which manifest digest a tag names (the OCI distribution API's HEAD on the manifest), so
/// a task's image is known exactly before it is pulled: engines' own records cannot say (Podman lists every
/// digest of an image under every name it has).
struct RegistryClient: Sendable {
    let client: HTTPClient

    /// Registries' own client: a registry that refuses connections fails the lookup at once (the pull behaviour
    /// then decides), instead of being retried until the connect timeout as the default pool does.
    static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
    static let accept = [
        "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json",
    ].joined(separator: ", ")

    /// Where a reference's registry answers, and the repository path in it (Docker Hub's official images live
    /// under `library/`). Loopback registries speak plain HTTP, as engines allow; all others HTTPS.
    static func location(_ reference: String) -> (base: String, repository: String, tag: String) {
        let (name, tag) = ImageReference.split(reference)
        let registry = ImageReference.registry(reference)
        var repository = registry == "docker.io" && !name.hasPrefix("docker.io/") ? name : String(name.dropFirst(registry.count + 1))
        var host = registry
        if registry == "docker.io" {
            host = "registry-1.docker.io"
            if !repository.contains("/") { repository = "library/" + repository }
        }
        let loopback = host.hasPrefix("127.") || host.hasPrefix("localhost") || host.hasPrefix("[::1]")
        return ("\(loopback ? "http" : "https")://\(host)", repository, tag ?? "latest")
    }

    /// The digest the registry serves for the reference's tag.
    func digest(of reference: String, credentials: RegistryCredentials?) async throws -> String {
        let (base, repository, tag) = Self.location(reference)
        if tag.hasPrefix("sha256:") { return tag }
        let url = "\(base)/v2/\(repository)/manifests/\(tag)"
        var authorization = credentials.map(Self.basic)
        var response = try await head(url, authorization: authorization)
        if response.status == .unauthorized, let challenge = response.headers.first(name: "www-authenticate") {
            authorization = try await answer(challenge, credentials: credentials)
            response = try await head(url, authorization: authorization)
        }
        guard response.status == .ok, let digest = response.headers.first(name: "docker-content-digest") else {
            throw RuntimeError.pullFailed(image: reference, message: try await refusal(url, status: response.status, authorization: authorization))
        }
        return digest
    }

    /// What the registry says when it refuses a manifest (a HEAD has no body, so it is asked again with GET):
    /// its `errors`, as `CODE: message`.
    func refusal(_ url: String, status: HTTPResponseStatus, authorization: String?) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: Self.accept)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        let errors = (json?["errors"] as? [[String: Any]] ?? []).map { "\($0["code"] as? String ?? "ERROR"): \($0["message"] as? String ?? "")" }
        return errors.isEmpty ? "the registry answered \(status.code)" : "the registry answered \(status.code): " + errors.joined(separator: "; ")
    }

    func head(_ url: String, authorization: String?) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .HEAD
        request.headers.add(name: "Accept", value: Self.accept)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        return try await client.execute(request, timeout: .seconds(30))
    }

    static func basic(_ c: RegistryCredentials) -> String { "Basic " + Data("\(c.username):\(c.password)".utf8).base64EncodedString() }

    /// The Authorization a `WWW-Authenticate` challenge asks for: Basic with the credentials, or a Bearer token
    /// from the challenge's realm (anonymous when there are no credentials).
    func answer(_ challenge: String, credentials: RegistryCredentials?) async throws -> String? {
        if challenge.lowercased().hasPrefix("basic") { return credentials.map(Self.basic) }
        let parameters = Self.challengeParameters(challenge)
        guard let realm = parameters["realm"], var components = URLComponents(string: realm) else { return nil }
        components.queryItems = ["service", "scope"].compactMap { key in parameters[key].map { URLQueryItem(name: key, value: $0) } }
        guard let url = components.url?.absoluteString else { return nil }
        var request = HTTPClientRequest(url: url)
        if let credentials { request.headers.add(name: "Authorization", value: Self.basic(credentials)) }
        let response = try await client.execute(request, timeout: .seconds(30))
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
