import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StowageAPI
import StowageIAM
import StowageModel
import StowageSigning
import StowageStore
import StowageTestSupport
import StowageWorker
import Logging
import Synchronization
import Testing

/// A tenant with a working access key.
struct Tenant: Sendable {
    var account: String
    var key: NewAccessKey
}

/// One decoded answer: the HTTP status and the JSON body.
struct Answer: @unchecked Sendable {
    var status: Int
    var json: [String: Any]
    var headers: HTTPFields
    var errorType: String? { json["__type"] as? String }
    var message: String { json["message"] as? String ?? "" }
    subscript(_ key: String) -> Any? { json[key] }
    func object(_ key: String) -> [String: Any] { json[key] as? [String: Any] ?? [:] }
    func array(_ key: String) -> [[String: Any]] { json[key] as? [[String: Any]] ?? [] }
    func strings(_ key: String) -> [String] { json[key] as? [String] ?? [] }
}

/// Services on the shared test database with two fresh tenants, driven through the real router.
struct Harness: Sendable {
    let backend: Backend
    let a: Tenant
    let b: Tenant

    static func make(maxBodyBytes: Int = 1 << 20, freshDatabase: Bool = false) async throws -> Harness {
        MetricsExport.bootstrap()
        let database = freshDatabase ? try await TestDatabase.fresh(prefix: "api") : try await TestDatabase.shared()
        let tenancy = Tenancy(database: database, sealer: try SecretSealer(base64Key: SecretSealer.generateKey()))
        func tenant(_ name: String) async throws -> Tenant {
            let account = try await tenancy.createAccount(name: "\(name)-\(UUID().uuidString)")
            try await tenancy.createUser(account: account, name: "admin")
            return Tenant(account: account, key: try await tenancy.createAccessKey(account: account, user: "admin"))
        }
        let backend = Backend(database: database, tenancy: tenancy, maxBodyBytes: maxBodyBytes)
        return Harness(backend: backend, a: try await tenant("a"), b: try await tenant("b"))
    }

    func run(_ body: @Sendable (Client) async throws -> Void) async throws {
        let app = Application(router: APIRouter.build(backend: backend))
        try await app.test(.router) { client in try await body(Client(client: client)) }
    }

    /// Runs the API with a worker draining this harness's database (use with `freshDatabase`).
    func runWithWorker(_ body: @Sendable (Client) async throws -> Void) async throws {
        var logger = Logger(label: "test.worker")
        logger.logLevel = .warning
        let worker = Worker(database: backend.database, handlers: StandardJobs.handlers(),
                            options: WorkerOptions(id: "test", pollInterval: .milliseconds(100), retryBase: 0.05), logger: logger)
        let running = Task { try await worker.run() }
        do { try await run(body) } catch {
            worker.stop()
            try await running.value
            throw error
        }
        worker.stop()
        try await running.value
    }

    struct Client: Sendable {
        let client: any TestClientProtocol

        /// Sends a request signed the way boto3 signs, optionally at another time or with another secret.
        func send(_ method: HTTPRequest.Method, _ uri: String, body: String = "", as tenant: Tenant,
                  headers extra: [String: String] = [:], at date: Date = Date(), secret: String? = nil,
                  signed: Bool = true, service: String = "ecs") async throws -> Answer {
            let (status, headers, bytes) = try await exchange(method, uri, body: body, as: tenant, headers: extra, at: date,
                                                              secret: secret, signed: signed, service: service)
            let json = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] ?? [:]
            return Answer(status: status, json: json, headers: headers)
        }

        /// One signed exchange, the answer's body left as bytes; `service` is the credential scope's service, as
        /// botocore takes it from the model's signing name (`iam`, `sts`, `elasticloadbalancing`, …).
        func exchange(_ method: HTTPRequest.Method, _ uri: String, body: String, as tenant: Tenant, headers extra: [String: String],
                      at date: Date = Date(), secret: String? = nil, signed: Bool = true, service: String) async throws
            -> (status: Int, headers: HTTPFields, body: Data)
        {
            let parts = uri.split(separator: "?", maxSplits: 1)
            var headerMap: [String: [String]] = ["host": ["localhost:8080"]]
            for (name, value) in extra { headerMap[name.lowercased()] = [value] }
            let signable = SignableRequest(method: method.rawValue, path: String(parts[0]),
                                           query: parts.count > 1 ? String(parts[1]) : "", headers: headerMap, body: Data(body.utf8))
            var fields = HTTPFields()
            for (name, values) in headerMap { if let n = HTTPField.Name(name) { fields[n] = values[0] } }
            if signed {
                let signer = SigV4Signer(accessKeyId: tenant.key.accessKeyId, secret: secret ?? tenant.key.secretAccessKey, service: service)
                for (name, value) in signer.sign(signable, at: date) { if let n = HTTPField.Name(name) { fields[n] = value } }
            }
            let response = try await client.executeRequest(uri: uri, method: method, headers: fields,
                                                            body: body.isEmpty ? nil : ByteBuffer(string: body))
            return (Int(response.status.code), response.headers, Data(buffer: response.body))
        }

        /// Calls a query-protocol action (IAM, STS, ELBv2) as botocore does: `Action` and `Version` with the members
        /// form-encoded, signed for `service`, the XML answer read into a tree. `token` is a session's token.
        func query(service: String, action: String, params: [String: String] = [:], as tenant: Tenant, token: String? = nil)
            async throws -> QueryAnswer
        {
            let version = ["iam": "2010-05-08", "sts": "2011-06-15", "elasticloadbalancing": "2015-12-01"][service] ?? ""
            let pairs = [("Action", action), ("Version", version)] + params.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            var headers = ["content-type": "application/x-www-form-urlencoded; charset=utf-8"]
            if let token { headers["x-amz-security-token"] = token }
            let (status, fields, body) = try await exchange(.post, "/", body: formEncoded(pairs), as: tenant, headers: headers, service: service)
            return QueryAnswer(status: status, headers: fields, action: action, root: XMLTree.parse(body))
        }

        /// Calls a Cloud Map action (AWS JSON 1.1), signed for `servicediscovery` as botocore signs it.
        func cloudMap(_ action: String, _ body: [String: Any] = [:], as tenant: Tenant) async throws -> Answer {
            try await send(.post, "/", body: json(body), as: tenant,
                           headers: ["x-amz-target": "Route53AutoNaming_v20170314.\(action)", "content-type": "application/x-amz-json-1.1"],
                           service: "servicediscovery")
        }

        /// Calls an ECS action through the AWS door, as boto3 does.
        func ecs(_ action: String, _ body: String = "{}", as tenant: Tenant, at date: Date = Date(), secret: String? = nil)
            async throws -> Answer
        {
            try await send(.post, "/", body: body, as: tenant,
                           headers: ["x-amz-target": "AmazonEC2ContainerServiceV20141113.\(action)",
                                     "content-type": "application/x-amz-json-1.1"],
                           at: date, secret: secret)
        }

        func rest(_ method: HTTPRequest.Method, _ uri: String, _ body: String = "", as tenant: Tenant) async throws -> Answer {
            try await send(method, uri, body: body, as: tenant, headers: body.isEmpty ? [:] : ["content-type": "application/json"])
        }
    }
}

/// JSON text for a request body.
func json(_ object: [String: Any]) -> String {
    String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
}

let registerWeb = json([
    "family": "web",
    "containerDefinitions": [["name": "web", "image": "busybox", "memory": 64, "portMappings": [["containerPort": 80]]]],
])

var instanceResources: [[String: Any]] {
    [
    ["name": "CPU", "type": "INTEGER", "integerValue": 2048],
    ["name": "MEMORY", "type": "INTEGER", "integerValue": 3768],
    ["name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375"]],
    ]
}

/// Waits, up to a bound, for something the worker should bring about.
func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// Plays the agent through its endpoints: starts what should run, stops what should stop.
struct FakeAgent: Sendable {
    let api: Harness.Client
    let tenant: Tenant
    let cluster: String
    /// Task definition families whose tasks fail to start.
    var failing: Set<String> = []
    static let sequence = Sequencer()

    func step(_ instanceArns: [String]) async throws {
        for arn in instanceArns {
            let id = arn.components(separatedBy: "/").last ?? ""
            let host = InstanceKeys.shared[arn] ?? tenant
            let desired = try await api.rest(.get, "/agent/v1/clusters/\(cluster)/container-instances/\(id)/tasks", as: host)
            var reports: [[String: Any]] = []
            for task in desired.array("tasks") {
                let taskArn = task["taskArn"] as? String ?? ""
                let last = task["lastStatus"] as? String ?? ""
                let family = task["family"] as? String ?? ""
                if task["desiredStatus"] as? String == "STOPPED" {
                    reports.append(["taskArn": taskArn, "lastStatus": "STOPPED"])
                } else if last != "RUNNING" {
                    if failing.contains(family) {
                        reports.append(["taskArn": taskArn, "lastStatus": "STOPPED", "stopCode": "TaskFailedToStart",
                                        "stoppedReason": "CannotPullContainerError: image not found"])
                    } else {
                        reports.append(["taskArn": taskArn, "lastStatus": "RUNNING", "healthStatus": "HEALTHY"])
                    }
                }
            }
            if reports.isEmpty { continue }
            let answer = try await api.rest(.post, "/agent/v1/clusters/\(cluster)/container-instances/\(id)/state",
                                            json(["sequence": Self.sequence.next(), "tasks": reports]), as: host)
            #expect(answer.status == 200, "report refused: \(answer.json)")
        }
    }
}

/// The credential each registered instance was given, by ARN: what its agent (a FakeAgent) signs with.
final class InstanceKeys: Sendable {
    static let shared = InstanceKeys()
    private let keys = Mutex<[String: Tenant]>([:])

    subscript(arn: String) -> Tenant? { keys.withLock { $0[arn] } }

    func remember(_ arn: String, _ registration: Answer, tenant: Tenant) {
        let credentials = registration.object("instanceCredentials")
        guard let id = credentials["accessKeyId"] as? String, let secret = credentials["secretAccessKey"] as? String else { return }
        let key = NewAccessKey(accountId: tenant.account, userName: "", accessKeyId: id, secretAccessKey: secret)
        keys.withLock { $0[arn] = Tenant(account: tenant.account, key: key) }
    }
}

/// Strictly increasing report sequence numbers.
final class Sequencer: Sendable {
    let value = Mutex<Int64>(Int64(Date().timeIntervalSince1970 * 1000))
    func next() -> Int64 { value.withLock { $0 += 1; return $0 } }
}
