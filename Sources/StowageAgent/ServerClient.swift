import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import StowageModel
import StowageSigning
import Synchronization

/// The agent's signed HTTP client for the control plane.
public struct ServerClient: Sendable {
    public let endpoint: String
    /// Shared by every copy: registration swaps the user's key for the instance's own credential, and rotation swaps
    /// that for its successor, for every loop of the agent at once.
    let signer: Signer
    let client: HTTPClient
    let clock: any WallClock
    /// How long a request may take, connection attempts included, unless the call says otherwise.
    public var requestTimeout: TimeAmount = .seconds(30)
    /// What an https:// endpoint is verified against (a private CA's bundle, `--ca-bundle`); nil: the system's roots.
    public var tls: TLSConfiguration?

    public init(endpoint: String, accessKeyId: String, secret: String, region: String, client: HTTPClient = .shared,
                clock: any WallClock = SystemClock()) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.signer = Signer(SigV4Signer(accessKeyId: accessKeyId, secret: secret, region: region, service: "ecs"))
        self.client = client
        self.clock = clock
    }

    /// Sends a signed request and decodes the JSON answer; ECS-style errors come back as APIError.
    func send<Output: Decodable>(_ method: HTTPMethod, path: String, query: String = "", body: Data = Data(),
                                 headers extra: [String: String] = [:], timeout: TimeAmount? = nil) async throws -> Output {
        guard let url = URL(string: endpoint + path + (query.isEmpty ? "" : "?" + query)), let host = url.host else {
            throw APIError.invalidParameter("bad endpoint \(endpoint)")
        }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        var headers: [String: [String]] = ["host": [authority]]
        for (name, value) in extra { headers[name.lowercased()] = [value] }
        let signable = SignableRequest(method: method.rawValue, path: url.path.isEmpty ? "/" : url.path, query: query,
                                       headers: headers, body: body)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.tlsConfiguration = tls
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        for (name, value) in signer.current.sign(signable, at: clock.now()) { request.headers.add(name: name, value: value) }
        if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: timeout ?? requestTimeout)
        let bytes = Data((try await response.body.collect(upTo: 32 << 20)).readableBytesView)
        guard (200..<300).contains(Int(response.status.code)) else {
            let object = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any]
            throw APIError(object?["__type"] as? String ?? "ServerException",
                           object?["message"] as? String ?? "HTTP \(response.status.code)", awsStatus: Int(response.status.code))
        }
        return try ECSJSON.decoder().decode(Output.self, from: bytes)
    }

    /// An ECS action through the AWS door.
    public func ecs<Input: Encodable, Output: Decodable>(_ action: String, _ input: Input) async throws -> Output {
        try await send(.POST, path: "/", body: try ECSJSON.encoder().encode(input),
                       headers: ["X-Amz-Target": "AmazonEC2ContainerServiceV20141113.\(action)",
                                 "Content-Type": "application/x-amz-json-1.1"])
    }

    public func get<Output: Decodable>(_ path: String, query: String = "", timeout: TimeAmount? = nil) async throws -> Output {
        try await send(.GET, path: path, query: query, timeout: timeout)
    }

    public func post<Input: Encodable, Output: Decodable>(_ path: String, _ input: Input) async throws -> Output {
        try await send(.POST, path: path, body: try ECSJSON.encoder().encode(input), headers: ["Content-Type": "application/json"])
    }
}

extension ServerClient {
    /// The key every later request is signed with.
    public var accessKeyId: String { signer.current.accessKeyId }

    /// Signs from now on with another key (the instance's own credential, or its rotated successor).
    public func use(accessKeyId: String, secret: String) {
        signer.replace { $0.accessKeyId = accessKeyId; $0.secret = secret }
    }

    final class Signer: Sendable {
        private let value: Mutex<SigV4Signer>
        init(_ signer: SigV4Signer) { value = Mutex(signer) }
        var current: SigV4Signer { value.withLock { $0 } }
        func replace(_ change: (inout SigV4Signer) -> Void) { value.withLock { change(&$0) } }
    }
}
