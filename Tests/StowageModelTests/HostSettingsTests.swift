import StowageModel
import Testing

/// What a task takes from its host, what an operator allows, and the paths compared between them.
@Suite struct HostSettingsTests {
    static func definition(_ containers: [ContainerDefinition], volumes: [Volume] = [], pid: String? = nil, ipc: String? = nil) -> TaskDefinition {
        var d = TaskDefinition()
        d.containerDefinitions = containers
        d.volumes = volumes
        d.pidMode = pid
        d.ipcMode = ipc
        return d
    }

    static func container(_ change: (inout ContainerDefinition) -> Void = { _ in }) -> ContainerDefinition {
        var c = ContainerDefinition(name: "c", image: "busybox")
        change(&c)
        return c
    }

    @Test func aPlainDefinitionNeedsNothingOfItsHost() {
        let needs = HostNeeds(Self.definition([Self.container()], volumes: [Volume(name: "scratch"),
            Volume(name: "shared", dockerVolumeConfiguration: DockerVolumeConfiguration(scope: "shared", driver: "local"))], ipc: "task"))
        #expect(needs.isEmpty)
    }

    @Test func everyHostSettingIsFoundWhereverItIsWritten() {
        let first = Self.container { c in
            c.privileged = true
            var linux = LinuxParameters()
            linux.capabilities = KernelCapabilities(add: ["NET_ADMIN"], drop: ["ALL"])
            linux.devices = [Device(hostPath: "/dev/fuse")]
            c.linuxParameters = linux
        }
        let second = Self.container { c in
            c.name = "d"
            c.systemControls = [SystemControl(namespace: "net.core.somaxconn", value: "1024")]
            c.dockerSecurityOptions = ["no-new-privileges", "seccomp=unconfined"]
        }
        let needs = HostNeeds(Self.definition([first, second], volumes: [
            Volume(name: "logs", host: HostVolumeProperties(sourcePath: "/var/log")),
            // A local volume over a host directory is a bind mount by another name.
            Volume(name: "etc", dockerVolumeConfiguration: DockerVolumeConfiguration(driver: "local", driverOpts: ["type": "none", "o": "bind", "device": "/etc"])),
            Volume(name: "disk", dockerVolumeConfiguration: DockerVolumeConfiguration(driver: "local", driverOpts: ["type": "ext4", "device": "/dev/sdb1"])),
            // An NFS share and a tmpfs are not the host's paths.
            Volume(name: "nfs", dockerVolumeConfiguration: DockerVolumeConfiguration(driver: "local", driverOpts: ["type": "nfs", "o": "addr=10.0.0.1", "device": ":/export"])),
            Volume(name: "mem", dockerVolumeConfiguration: DockerVolumeConfiguration(driver: "local", driverOpts: ["type": "tmpfs", "device": "tmpfs"])),
        ], pid: "host", ipc: "host"))
        #expect(needs.privileged)
        #expect(needs.capabilities == ["NET_ADMIN"])
        #expect(needs.devices == ["/dev/fuse"])
        #expect(needs.systemControls == ["net.core.somaxconn"])
        #expect(needs.securityOptions == ["seccomp=unconfined"])
        #expect(needs.hostPaths == ["/var/log", "/etc", "/dev/sdb1"])
        #expect(needs.hostPID && needs.hostIPC)
    }

    /// A host-network task shares the host's loopback (the agent's endpoints, on one machine the control plane):
    /// a setting of its own, forbidden by --forbid-host-network (and --forbid-host-access).
    @Test func theHostsNetworkIsAHostSettingWithItsOwnSwitch() {
        var definition = Self.definition([Self.container()])
        definition.networkMode = "host"
        let needs = HostNeeds(definition)
        #expect(needs.hostNetwork && !needs.isEmpty)
        definition.networkMode = "bridge"
        #expect(HostNeeds(definition).isEmpty)
        var locked = HostAllowance()
        locked.hostNetwork = false
        #expect(locked.refusals(needs) == [HostRefusal(setting: "the host's network (networkMode host)",
                                                       attribute: "stowage.capability.host-network", flag: "--forbid-host-network")])
        #expect(!locked.attributes.contains { $0.name == HostAllowance.hostNetworkAttribute })
        #expect(HostAllowance.everything.attributes.contains { $0.name == HostAllowance.hostNetworkAttribute })
        #expect(HostAllowance(attributes: Dictionary(uniqueKeysWithValues: locked.attributes.map { ($0.name, $0.value ?? "") })) == locked)
    }

    @Test func pathsAreComparedByComponentsAfterDotDot() {
        #expect(HostPath.normalized("/srv/data/../../etc") == "/etc")
        #expect(HostPath.normalized("//srv/./data//x/") == "/srv/data/x")
        #expect(HostPath.normalized("/../..") == "/")
        #expect(HostPath.normalized("srv/data") == nil)
        #expect(HostPath.normalized("") == nil)
        #expect(HostPath.isUnder("/srv/data/app", "/srv/data"))
        #expect(HostPath.isUnder("/srv/data", "/srv/data/"))
        #expect(!HostPath.isUnder("/srv/data/../../etc", "/srv/data"))
        #expect(!HostPath.isUnder("/srv/database", "/srv/data"))
        #expect(!HostPath.isUnder("relative/srv/data", "/srv/data"))
        #expect(HostPath.isUnder("/anything", "/"))
    }

    @Test func everythingIsAllowedByDefaultAndOnHostsThatDoNotAdvertise() {
        let needs = HostNeeds(Self.definition([Self.container { $0.privileged = true }], pid: "host"))
        #expect(HostAllowance.everything.refusals(needs).isEmpty)
        // Registered by hand or by an older agent: no marker, judged as before the switches existed.
        #expect(HostAllowance(attributes: ["ecs.os-type": "linux"]) == .everything)
    }

    @Test func attributesSayWhatIsAllowedAndReadBackTheSame() {
        var locked = HostAllowance()
        locked.privileged = false
        locked.devices = false
        locked.hostPID = false
        locked.systemControls = false
        locked.hostPaths = .under(["/srv/data", "/var/log/apps"])
        locked.capabilities = ["NET_BIND_SERVICE", "SYS_PTRACE"]
        let names = Set(locked.attributes.map(\.name))
        #expect(!names.contains(HostAllowance.privilegedAttribute))
        #expect(names.contains(HostAllowance.hostIPCAttribute))
        #expect(names.contains(HostAllowance.capabilityAttribute + "SYS_PTRACE"))
        #expect(locked.attributes.allSatisfy { HostAllowance.isAdvertised($0.name) })
        let read = HostAllowance(attributes: Dictionary(uniqueKeysWithValues: locked.attributes.map { ($0.name, $0.value ?? "") }))
        #expect(read == locked)

        var none = HostAllowance()
        none.hostPaths = .none
        none.capabilities = []
        let back = HostAllowance(attributes: Dictionary(uniqueKeysWithValues: none.attributes.map { ($0.name, $0.value ?? "") }))
        #expect(back == none)
        // ECS's own capability attribute is there, value-less, when privileged containers are allowed.
        #expect(HostAllowance.everything.attributes.contains(Attribute(name: HostAllowance.privilegedAttribute, value: nil)))
    }

    @Test func refusalsNameEachForbiddenSettingAndItsSwitch() {
        var a = HostAllowance()
        a.privileged = false
        a.hostPaths = .under(["/srv/data"])
        a.capabilities = ["NET_BIND_SERVICE"]
        a.hostIPC = false
        var needs = HostNeeds()
        needs.privileged = true
        needs.hostPaths = ["/srv/data/app", "/srv/data/../../etc", "/srv/database"]
        needs.capabilities = ["NET_BIND_SERVICE", "SYS_ADMIN"]
        needs.hostIPC = true
        needs.hostPID = true
        let refused = a.refusals(needs)
        #expect(refused.map(\.setting) == [
            "privileged containers", "host path /srv/data/../../etc", "host path /srv/database",
            "added capability SYS_ADMIN (linuxParameters.capabilities.add)", "the host's IPC namespace (ipcMode host)",
        ])
        #expect(refused.first?.attribute == "com.amazonaws.ecs.capability.privileged-container")
        #expect(refused.map(\.flag) == ["--forbid-privileged", "--host-path-prefix", "--host-path-prefix", "--allow-capability", "--forbid-host-ipc"])
        a.hostPaths = .none
        #expect(a.refusals(needs).contains { $0.setting == "host path /srv/data/app" && $0.flag == "--forbid-host-paths" })
    }
}
