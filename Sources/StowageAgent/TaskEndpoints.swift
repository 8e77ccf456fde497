import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The endpoints a task's containers call on their host: task role credentials (`/v1/credentials/<task>`, with
/// the task's token) and task metadata v4 (`/v4/<token>…`).
///
/// ECS serves them on the link-local 169.254.170.2 (redirected with iptables). Here the agent puts that address
/// on the host's loopback device and listens on it: a bridge-mode container reaches it through its default
/// route (the host), a host-mode one directly, and botocore accepts the address for container credentials.
/// Where the address cannot be added (no root, no iproute2), the endpoints listen on 127.0.0.1, which only
/// host-mode containers reach; the agent says so at start.
public struct TaskEndpointsServer: Service {
    let agent: Agent
    let address: String
    let port: Int
    let logger: Logger

    /// ECS's task endpoint address.
    public static let linkLocal = "169.254.170.2"

    public init(agent: Agent, address: String = TaskEndpointsServer.linkLocal, port: Int, logger: Logger) {
        self.agent = agent; self.address = address; self.port = port; self.logger = logger
    }

    /// The address to listen on: `address` once it is on the loopback device (added when missing), else 127.0.0.1.
    static func usableAddress(_ address: String, logger: Logger) -> String {
        guard address != "127.0.0.1", address != "localhost" else { return "127.0.0.1" }
        if run(["ip", "-4", "addr", "show", "dev", "lo"]).output.contains("inet \(address)/") { return address }
        let added = run(["ip", "addr", "add", "\(address)/32", "dev", "lo"])
        if added.status == 0 { return address }
        logger.warning("task endpoints on 127.0.0.1 only: bridge-mode containers cannot reach task credentials or metadata",
                       metadata: ["address": "\(address)", "error": "\(added.output.trimmingCharacters(in: .whitespacesAndNewlines))"])
        return "127.0.0.1"
    }

    static func run(_ argv: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(argv[0]): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    public func run() async throws {
        let router = Router()
        router.get("/v1/credentials/:task") { [agent] request, context -> Response in
            let task = context.parameters.get("task") ?? ""
            let (status, body) = await agent.taskCredentials(taskId: task, authorization: request.headers[.authorization])
            return Self.response(status, body)
        }
        for suffix in ["", "/task", "/stats", "/task/stats"] {
            router.get("/v4/:token\(suffix)") { [agent] _, context -> Response in
                let (status, body) = await agent.taskMetadata(token: context.parameters.get("token") ?? "", path: String(suffix.dropFirst()))
                return Self.response(status, body)
            }
        }
        let host = Self.usableAddress(address, logger: logger)
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "stowage-agent"),
            onServerRunning: { [agent, logger] channel in
                let bound = channel.localAddress?.port ?? 0
                await agent.setTaskEndpoint("http://\(host):\(bound)")
                logger.info("task endpoints listening", metadata: ["address": "\(host)", "port": "\(bound)"])
            },
            logger: logger)
        do {
            try await app.run()
        } catch {
            // Without the endpoints, tasks get no credentials or metadata; the agent itself keeps running.
            logger.error("task endpoints could not start", metadata: ["address": "\(host)", "port": "\(port)", "error": "\(error)"])
            try? await gracefulShutdown()
        }
    }

    static func response(_ status: Int, _ body: Data) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
