import Foundation
import NIOCore
import StowageModel
import Testing
@testable import StowageAgent

/// The translation from a task definition to engine settings, without an engine.
@Suite struct TaskSettingsTests {
    static let arn = "arn:aws:ecs:us-east-1:123456789012:task/c/abc"

    @Test func volumesBecomeBindsTaskVolumesOrSharedVolumes() {
        var definition = TaskDefinition()
        definition.volumes = [
            Volume(name: "host", host: HostVolumeProperties(sourcePath: "/srv/data")),
            Volume(name: "empty"),
            Volume(name: "cache", dockerVolumeConfiguration: DockerVolumeConfiguration(scope: "shared", autoprovision: true, driver: "local")),
        ]
        let volumes = TaskSettings.volumes(definition, taskArn: Self.arn, taskId: "abc", filesRoot: "/dev/shm/stowage-agent")
        #expect(volumes["host"] == .bind("/srv/data"))
        #expect(volumes["empty"] == .taskVolume(name: "stowage-abc-empty", driver: "local", options: [:], labels: [AgentProtocol.taskLabel: Self.arn]))
        #expect(volumes["cache"] == .shared(name: "cache", driver: "local", options: [:], labels: [:], autoprovision: true))

        var container = ContainerDefinition(name: "app", image: "busybox")
        container.mountPoints = [MountPoint(sourceVolume: "host", containerPath: "/data", readOnly: true),
                                 MountPoint(sourceVolume: "empty", containerPath: "/scratch")]
        container.volumesFrom = [VolumeFrom(sourceContainer: "side", readOnly: true)]
        let settings = TaskSettings.engineSettings(container, task: definition, volumes: volumes, containerIds: ["side": "c1"], holder: nil)
        #expect(settings.mounts == [.init(volume: false, source: "/srv/data", target: "/data", readOnly: true),
                                    .init(volume: true, source: "stowage-abc-empty", target: "/scratch", readOnly: false)])
        #expect(settings.volumesFrom == ["c1:ro"])
    }

    @Test func aConfigurationVolumeIsATaskDirectoryOnTheTmpfsMountedReadOnly() {
        var definition = TaskDefinition()
        definition.volumes = [Volume(name: "cfg", dockerVolumeConfiguration: DockerVolumeConfiguration(
            scope: "task", driver: "stowage", driverOpts: ["file:a.conf": "text:x"]))]
        let volumes = TaskSettings.volumes(definition, taskArn: Self.arn, taskId: "abc", filesRoot: "/dev/shm/s")
        guard case .files(let directory, let config)? = volumes["cfg"] else {
            Issue.record("not a files volume: \(String(describing: volumes["cfg"]))")
            return
        }
        #expect(directory == "/dev/shm/s/abc/cfg" && config.files.map(\.path) == ["a.conf"])
        var container = ContainerDefinition(name: "app", image: "busybox")
        container.mountPoints = [MountPoint(sourceVolume: "cfg", containerPath: "/etc/app", readOnly: false)]
        let settings = TaskSettings.engineSettings(container, task: definition, volumes: volumes, containerIds: [:], holder: nil)
        #expect(settings.mounts == [.init(volume: false, source: "/dev/shm/s/abc/cfg", target: "/etc/app", readOnly: true)],
                "read-only whatever the mount point says")
    }

    @Test func theFilesystemOfAPathIsItsLongestMountPoint() {
        let mounts = """
            overlay / overlay rw 0 0
            tmpfs /dev/shm tmpfs rw,nosuid 0 0
            /dev/sda1 /dev/shm/disk ext4 rw 0 0
            tmpfs /my\\040dir tmpfs rw 0 0
            """
        #expect(Agent.filesystem(of: "/dev/shm/stowage-agent", mounts: mounts) == "tmpfs")
        #expect(Agent.filesystem(of: "/dev/shm/disk/x", mounts: mounts) == "ext4")
        #expect(Agent.filesystem(of: "/dev/shmem", mounts: mounts) == "overlay", "a prefix of a name is not a parent")
        #expect(Agent.filesystem(of: "/my dir/a", mounts: mounts) == "tmpfs")
    }

    @Test func taskNamespacesAndLimitsAreJoinedAndCapped() {
        var definition = TaskDefinition()
        definition.pidMode = "task"
        definition.ipcMode = "task"
        definition.cpu = "512"
        definition.memory = "256"
        var container = ContainerDefinition(name: "app", image: "busybox")
        container.linuxParameters = LinuxParameters()
        container.linuxParameters?.maxSwap = 64
        container.linuxParameters?.tmpfs = [Tmpfs(containerPath: "/run", size: 8, mountOptions: ["noexec"])]
        container.linuxParameters?.devices = [Device(hostPath: "/dev/fuse", permissions: ["read", "write"])]
        container.logConfiguration = LogConfiguration(logDriver: "awslogs")
        let first = TaskSettings.engineSettings(container, task: definition, volumes: [:], containerIds: [:], holder: nil)
        #expect(first.pidMode == nil && first.ipcMode == "shareable", "the first container holds the task's namespaces")
        let later = TaskSettings.engineSettings(container, task: definition, volumes: [:], containerIds: [:], holder: "h1")
        #expect(later.pidMode == "container:h1" && later.ipcMode == "container:h1")
        #expect(later.memorySwapMiB == 256 + 64, "swap on top of the task's memory, the container having none")
        #expect(later.tmpfs == ["/run": "size=8m,noexec"])
        #expect(later.devices == [.init(hostPath: "/dev/fuse", containerPath: "/dev/fuse", permissions: "rw")])
        #expect(later.cpuLimitUnits == 512)
        #expect(later.logDriver == nil, "awslogs is read from the engine's own log")
    }

    @Test func theDockerRequestCarriesEverySetting() {
        var s = EngineSettings()
        s.mounts = [.init(volume: false, source: "/a", target: "/b", readOnly: true), .init(volume: true, source: "v", target: "/v", readOnly: false)]
        s.readonlyRootFilesystem = true
        s.ulimits = [Ulimit(name: "nofile", softLimit: 10, hardLimit: 20)]
        s.sysctls = ["net.core.somaxconn": "1024"]
        s.networkDisabled = true
        s.cpuLimitUnits = 512
        s.logDriver = "journald"
        var config: [String: Any] = [:]
        var host: [String: Any] = [:]
        DockerRuntime.apply(s, config: &config, host: &host, defaultUlimits: [Ulimit(name: "nproc", softLimit: 1, hardLimit: 2)])
        #expect(host["Binds"] as? [String] == ["/a:/b:ro"])
        #expect((host["Mounts"] as? [[String: Any]])?.first?["Source"] as? String == "v")
        #expect(host["ReadonlyRootfs"] as? Bool == true)
        let limits = (host["Ulimits"] as? [[String: Any]] ?? []).compactMap { $0["Name"] as? String }
        #expect(Set(limits) == ["nofile", "nproc"], "an unnamed nproc comes from the defaults given")
        #expect(host["Sysctls"] as? [String: String] == ["net.core.somaxconn": "1024"])
        #expect(config["NetworkDisabled"] as? Bool == true)
        #expect(host["NanoCpus"] as? Int == 500_000_000)
        #expect((host["LogConfig"] as? [String: Any])?["Type"] as? String == "journald")
        #expect(s.requested.contains("mountPoints") && s.requested.contains("disableNetworking"), "a runtime that cannot apply them names them")
    }

    @Test func aTTYLogStreamIsReadAsRawLines() {
        let raw = ByteBuffer(string: "2026-12-02T16:00:00.000000001Z hello\r\n2026-12-02T16:00:01.000000000Z world\r\n2026-12-02T16:00:02.000000000Z par")
        #expect(!DockerRuntime.isMultiplexed(raw))
        let lines = DockerRuntime.rawLines(raw)
        #expect(lines.map(\.message) == ["hello", "world"], "the unfinished line waits for the next read")
        #expect(lines.first?.nanos == 1_796_227_200_000_000_001)
        var framed = ByteBuffer(bytes: [1, 0, 0, 0, 0, 0, 0, 3])
        framed.writeString("hi\n")
        #expect(DockerRuntime.isMultiplexed(framed))
    }

    @Test func aRestartNeedsTheAttemptPeriodAndAnExitCodeNotIgnored() {
        var definition = ContainerDefinition(name: "app", image: "busybox")
        definition.restartPolicy = ContainerRestartPolicy(enabled: true, ignoredExitCodes: [0], restartAttemptPeriod: 60)
        var container = LocalContainer(definition: definition, bindings: [])
        let start = Date(timeIntervalSince1970: 1_000)
        container.startedAt = start
        #expect(!AgentDecisions.shouldRestart(container, exitCode: 1, now: start.addingTimeInterval(59)), "exited too soon: a crash")
        #expect(AgentDecisions.shouldRestart(container, exitCode: 1, now: start.addingTimeInterval(60)))
        #expect(!AgentDecisions.shouldRestart(container, exitCode: 0, now: start.addingTimeInterval(600)), "an ignored exit code ends it")
        #expect(!AgentDecisions.shouldRestart(container, exitCode: nil, now: start.addingTimeInterval(600)))
        container.lastRestartAt = start.addingTimeInterval(100)
        #expect(!AgentDecisions.shouldRestart(container, exitCode: 1, now: start.addingTimeInterval(130)), "the period counts from the last restart")
        container.definition.restartPolicy?.enabled = false
        #expect(!AgentDecisions.shouldRestart(container, exitCode: 1, now: start.addingTimeInterval(600)))
    }
}
