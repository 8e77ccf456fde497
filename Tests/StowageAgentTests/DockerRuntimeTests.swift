import Foundation
import StowageAgent
import Testing

/// The Docker Engine API driver against a real engine: Podman's compatible service, which `make test` starts
/// and names in STOWAGE_TEST_DOCKER_SOCKET.
@Suite struct DockerRuntimeTests {
    func runtime() throws -> DockerRuntime {
        guard let socket = ProcessInfo.processInfo.environment["STOWAGE_TEST_DOCKER_SOCKET"] else {
            throw RuntimeError.failed("STOWAGE_TEST_DOCKER_SOCKET is not set: run the tests with `make test`, which starts Podman")
        }
        return DockerRuntime(socketPath: socket)
    }

    @Test func runsExecsInspectsLogsAndStops() async throws {
        let docker = try runtime()
        #expect(await docker.ping())
        let name = "stowage-test-\(UUID().uuidString.prefix(8).lowercased())"
        // A port free now, not a fixed one: a container removed earlier can leave its conmon holding its port a while.
        let port = try freePort()
        let id = try await docker.create(ContainerSpec(
            name: name, image: "localhost/busybox:latest", command: ["sh", "-c", "echo started; echo oops >&2; httpd -f -p 80 -h /var/www"],
            environment: ["GREETING": "hi"], memoryMiB: 64, ports: [ContainerSpec.PortBinding(containerPort: 80, hostPort: port)],
            labels: ["stowage.task": "test-task", "stowage.container": "web"],
            healthCommand: ["sh", "-c", "wget -q -O /dev/null localhost:80"], healthTimeout: 2))
        defer { Task { try? await docker.remove(id) } }
        try await docker.start(id)
        let running = try await docker.inspect(id)
        #expect(running?.running == true)
        #expect(try await docker.exec(id, command: ["sh", "-c", "test \"$GREETING\" = hi"], timeout: .seconds(5)) == 0)
        #expect(try await docker.exec(id, command: ["false"], timeout: .seconds(5)) == 1)
        #expect(try await docker.healthCheck(id, command: ["sh", "-c", "wget -q -O /dev/null localhost:80"], timeout: .seconds(5)) == 0)
        let listed = try await docker.list(label: "stowage.task")
        #expect(listed.contains { $0.id == id && $0.labels["stowage.container"] == "web" && $0.running })
        try await Task.sleep(for: .milliseconds(300))
        let logs = try await docker.logs(id, since: nil)
        #expect(logs.contains { $0.message == "started" && !$0.stderr })
        #expect(logs.contains { $0.message == "oops" && $0.stderr })
        let stats = try await docker.stats(id)
        #expect((stats?.memoryBytes ?? 0) > 0)
        try await docker.stop(id, timeout: 2)
        let stopped = try await docker.inspect(id)
        #expect(stopped?.running == false)
        #expect(stopped?.exitCode != nil)
        try await docker.remove(id)
        #expect(try await docker.inspect(id) == nil)
    }

    /// A TCP port the kernel hands out for 0.0.0.0, released again before it is used.
    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError.failed("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr = in_addr(s_addr: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw RuntimeError.failed("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func aMissingImageIsACannotPullError() async throws {
        let docker = try runtime()
        await #expect(throws: RuntimeError.imageNotFound("localhost/nope:1")) {
            _ = try await docker.create(ContainerSpec(name: "stowage-test-missing-\(UUID().uuidString.prefix(6).lowercased())",
                                                      image: "localhost/nope:1"))
        }
    }
}
