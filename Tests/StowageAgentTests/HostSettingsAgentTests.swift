import Foundation
import Logging
import StowageModel
import Testing
@testable import StowageAgent

/// The agent's own judgement of host settings (links resolved on the host) and its private files, on a real
/// file system in a temporary directory.
@Suite struct HostSettingsAgentTests {
    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "stowage-host-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (dir as NSString).resolvingSymlinksInPath
    }

    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    @Test func hostPathsAreWalkedAsTheKernelWalksThem() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/data/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/data/escape", withDestinationPath: "/etc")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/data/sibling", withDestinationPath: "real")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/data/loop", withDestinationPath: "loop")
        #expect(Agent.resolvedHostPath("\(dir)/data/escape") == "/etc")
        #expect(Agent.resolvedHostPath("\(dir)/data/escape/ssl") == "/etc/ssl")
        // `..` after a link climbs from where the link points, not from where it sits.
        #expect(Agent.resolvedHostPath("\(dir)/data/escape/../root") == "/root")
        #expect(Agent.resolvedHostPath("\(dir)/data/sibling/x/not-yet") == "\(dir)/data/real/x/not-yet")
        #expect(Agent.resolvedHostPath("\(dir)/data/loop") == nil)
        #expect(Agent.resolvedHostPath("data") == nil)
    }

    @Test func theAgentRefusesWhatItsSwitchesForbidAndItsOwnFiles() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/shared/app", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/shared/escape", withDestinationPath: "/etc")
        var config = AgentConfig(cluster: "c", stateDirectory: "\(dir)/shared/state")
        config.configFilesDirectory = "\(dir)/files"
        config.hostAllowance.privileged = false
        config.hostAllowance.hostPaths = .under(["\(dir)/shared"])
        let server = ServerClient(endpoint: "http://127.0.0.1:9", accessKeyId: "AKIAEXAMPLE", secret: "secret", region: "us-east-1")
        let agent = Agent(config: config, server: server, runtime: ProcessRuntime(directory: "\(dir)/runtime"), logger: Logger(label: "test"))

        func definition(privileged: Bool = false, path: String? = nil) -> TaskDefinition {
            var c = ContainerDefinition(name: "c", image: "busybox")
            c.privileged = privileged
            var d = TaskDefinition()
            d.containerDefinitions = [c]
            if let path { d.volumes = [Volume(name: "h", host: HostVolumeProperties(sourcePath: path))] }
            return d
        }
        #expect(await agent.hostSettingsRefusal(definition(path: "\(dir)/shared/app")) == nil)
        #expect(await agent.hostSettingsRefusal(definition(privileged: true))
            == "CannotStartContainerError: this container instance does not allow privileged containers (--forbid-privileged)")
        let link = await agent.hostSettingsRefusal(definition(path: "\(dir)/shared/escape")) ?? ""
        #expect(link.hasSuffix("shared/escape (it resolves to /etc through a symbolic link) (--host-path-prefix)"))
        let own = await agent.hostSettingsRefusal(definition(path: "\(dir)/shared/state")) ?? ""
        #expect(own.contains("the agent's own files"))
    }

    @Test func privateDirectoriesAreTheAgentsAloneAndFilesAre0600FromTheStart() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PrivateFiles.directory("\(dir)/new/state")
        #expect(Self.mode("\(dir)/new/state") == 0o700)
        // Made loose by someone (or an older agent): tightened.
        try FileManager.default.createDirectory(atPath: "\(dir)/loose", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        try PrivateFiles.directory("\(dir)/loose")
        #expect(Self.mode("\(dir)/loose") == 0o700)
        // A link planted where the directory should be is refused, never followed.
        try FileManager.default.createDirectory(atPath: "\(dir)/elsewhere", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/planted", withDestinationPath: "\(dir)/elsewhere")
        #expect(throws: RuntimeError.self) { try PrivateFiles.directory("\(dir)/planted") }
        // Under a directory every user may write to and that is not sticky, nothing private can be kept.
        try FileManager.default.createDirectory(atPath: "\(dir)/open", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        #expect(throws: RuntimeError.self) { try PrivateFiles.directory("\(dir)/open/state") }

        try PrivateFiles.write(Data("one".utf8), to: "\(dir)/new/state/file.json")
        try PrivateFiles.write(Data("two".utf8), to: "\(dir)/new/state/file.json")
        #expect(Self.mode("\(dir)/new/state/file.json") == 0o600)
        #expect(FileManager.default.contents(atPath: "\(dir)/new/state/file.json") == Data("two".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/new/state") == ["file.json"])
    }
}
