import Foundation
import StowageModel
import Testing

@Suite struct ValidationTests {
    @Test(arguments: ["prod", "a", "web_01-x", String(repeating: "a", count: 255)])
    func validClusterNames(_ name: String) throws {
        try Validate.clusterName(name)
    }

    @Test(arguments: ["", "has space", "slash/", "ünicode", String(repeating: "a", count: 256)])
    func invalidClusterNames(_ name: String) {
        #expect(throws: APIError.self) { try Validate.clusterName(name) }
    }

    @Test func clusterConfigurationIsECSsShapeOrRefused() throws {
        try Validate.clusterConfiguration(nil)
        try Validate.clusterConfiguration(.object(["executeCommandConfiguration": .object(["logging": .string("DEFAULT")])]))
        #expect(throws: APIError.self) { try Validate.clusterConfiguration(.string("x")) }
        #expect(throws: APIError.self) { try Validate.clusterConfiguration(.object(["bogus": .object([:])])) }
        #expect(throws: APIError.self) { try Validate.clusterConfiguration(.object(["managedStorageConfiguration": .number(1)])) }
    }

    @Test func maxResultsBounds() throws {
        #expect(try Validate.maxResults(nil) == 100)
        #expect(try Validate.maxResults(7) == 7)
        #expect(throws: APIError.self) { try Validate.maxResults(0) }
        #expect(throws: APIError.self) { try Validate.maxResults(101) }
    }

    @Test func tagRules() throws {
        try Validate.tags([Tag(key: "team", value: "core")])
        #expect(throws: APIError.self) { try Validate.tags([Tag(key: "aws:owner", value: "x")]) }
        #expect(throws: APIError.self) { try Validate.tags([Tag(key: "a", value: "1"), Tag(key: "a", value: "2")]) }
        #expect(throws: APIError.self) { try Validate.tags((0..<51).map { Tag(key: "k\($0)", value: "") }) }
        #expect(throws: APIError.self) { try Validate.tags([Tag(key: "k", value: String(repeating: "v", count: 257))]) }
    }

    @Test func clusterSettings() throws {
        try Validate.clusterSettings([ClusterSetting(name: "containerInsights", value: "enhanced")])
        #expect(throws: APIError.self) { try Validate.clusterSettings([ClusterSetting(name: "containerInsights", value: "on")]) }
        #expect(throws: APIError.self) { try Validate.clusterSettings([ClusterSetting(name: "other", value: "enabled")]) }
    }

    @Test func pageTokensRoundTripAndRejectGarbage() throws {
        let token = PageToken.encode(["web", "12"])
        #expect(try PageToken.decode(token) == ["web", "12"])
        #expect(try PageToken.decode(nil) == nil)
        #expect(throws: APIError.self) { try PageToken.decode("not a token!") }
    }

    @Test func arnParsing() throws {
        let arn = try #require(ARN("arn:aws:ecs:us-east-1:123456789012:container-instance/prod/abc"))
        #expect(arn.account == "123456789012")
        #expect(arn.resourceType == "container-instance")
        #expect(arn.resourcePath == ["prod", "abc"])
        #expect(ARN("arn:aws:ecs") == nil)
        #expect(ARN("not-an-arn") == nil)
        let scope = ARNScope(partition: "aws-cn", region: "cn-north-1")
        #expect(scope.cluster("123456789012", "x") == "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/x")
        #expect(ResourceReference("prod") == .name("prod"))
    }

    @Test func jsonValueRoundTrips() throws {
        let text = #"{"a":[1,2.5,true,null,"s"],"b":{"c":"d"}}"#
        let value = try ECSJSON.decode(JSONValue.self, from: text)
        let again = try ECSJSON.decode(JSONValue.self, from: try ECSJSON.encodeString(value))
        #expect(value == again)
        guard case .object(let object) = value, case .array(let array) = object["a"] else {
            Issue.record("expected an object holding an array"); return
        }
        #expect(array[1] == .number(2.5))
        #expect(array[3] == .null)
    }
}

@Suite struct TaskDefinitionRulesTests {
    func container(_ name: String = "web", memory: Int? = 128) -> ContainerDefinition {
        var c = ContainerDefinition(name: name, image: "busybox")
        c.memory = memory
        return c
    }

    func request(_ containers: [ContainerDefinition], family: String = "web") -> RegisterTaskDefinitionRequest {
        RegisterTaskDefinitionRequest(family: family, containerDefinitions: containers)
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch let e as APIError { return e.message } catch { return "\(error)" }
    }

    @Test func defaultsAreApplied() throws {
        var c = container()
        c.portMappings = [PortMapping(containerPort: 80)]
        c.healthCheck = HealthCheck(command: ["CMD-SHELL", "true"])
        let d = try TaskDefinitionRules.validate(request([c]))
        let out = try #require(d.containerDefinitions?.first)
        #expect(out.essential == true)
        #expect(d.networkMode == "bridge")
        #expect(out.portMappings?.first?.protocol == "tcp")
        #expect(out.healthCheck == HealthCheck(command: ["CMD-SHELL", "true"], interval: 30, timeout: 5, retries: 3, startPeriod: 0))
    }

    @Test func taskSizesParse() {
        #expect(TaskDefinitionRules.cpuUnits("1 vCPU") == 1024)
        #expect(TaskDefinitionRules.cpuUnits("0.25 vcpu") == 256)
        #expect(TaskDefinitionRules.cpuUnits("512") == 512)
        #expect(TaskDefinitionRules.memoryMiB("0.5 GB") == 512)
        #expect(TaskDefinitionRules.memoryMiB("2gb") == 2048)
        #expect(TaskDefinitionRules.memoryMiB("lots") == nil)
    }

    @Test func rejectsEmptyDuplicateAndNonEssential() {
        #expect(message { _ = try TaskDefinitionRules.validate(request([])) } == "Container list cannot be empty.")
        #expect(message { _ = try TaskDefinitionRules.validate(request([container(), container()])) }.contains("Duplicate container name 'web'"))
        var c = container()
        c.essential = false
        #expect(message { _ = try TaskDefinitionRules.validate(request([c])) }.contains("at least one essential container"))
    }

    @Test func memoryRules() {
        #expect(message { _ = try TaskDefinitionRules.validate(request([container(memory: nil)])) }
            .contains("At least one of 'memory' or 'memoryReservation' must be specified"))
        #expect(message { _ = try TaskDefinitionRules.validate(request([container(memory: 4)])) }.contains("4 MiB is outside 6 to 1048576 MiB"))
        #expect(message { _ = try TaskDefinitionRules.validate(request([container(memory: 2_147_483_647)])) }.contains("outside 6 to 1048576 MiB"))
        var c = container(memory: 64)
        c.memoryReservation = 128
        #expect(message { _ = try TaskDefinitionRules.validate(request([c])) }.contains("must not exceed memory"))
        var r = request([container(memory: nil)])
        r.memory = "512"
        #expect(message { _ = try TaskDefinitionRules.validate(r) } == "")
        r.memory = "64"
        #expect(message { _ = try TaskDefinitionRules.validate(r) }.contains("between 128 MiB"))
    }

    @Test func portRules() {
        var c = container()
        c.portMappings = [PortMapping(containerPort: 70000)]
        #expect(message { _ = try TaskDefinitionRules.validate(request([c])) }.contains("containerPort must be between 1 and 65535"))
        c.portMappings = [PortMapping(containerPort: 80, hostPort: 8080), PortMapping(containerPort: 81, hostPort: 8080)]
        #expect(message { _ = try TaskDefinitionRules.validate(request([c])) }.contains("mapped more than once"))
        c.portMappings = [PortMapping(containerPort: 80, hostPort: 81)]
        var r = request([c])
        r.networkMode = "host"
        #expect(message { _ = try TaskDefinitionRules.validate(r) }.contains("hostPort must equal containerPort"))
        r.networkMode = "awsvpc"
        #expect(message { _ = try TaskDefinitionRules.validate(r) }.contains("in awsvpc network mode hostPort must equal containerPort"))
        c.portMappings = [PortMapping(containerPort: 80, protocol: "sctp")]
        #expect(message { _ = try TaskDefinitionRules.validate(request([c])) }.contains("protocol must be tcp or udp"))
    }

    @Test func dependencyAndHealthCheckRules() {
        var a = container("a")
        a.dependsOn = [ContainerDependency(containerName: "ghost", condition: "START")]
        #expect(message { _ = try TaskDefinitionRules.validate(request([a])) }.contains("depends on 'ghost'"))
        a.dependsOn = [ContainerDependency(containerName: "b", condition: "READY")]
        #expect(message { _ = try TaskDefinitionRules.validate(request([a, container("b")])) }.contains("Invalid dependsOn condition"))
        var h = container()
        h.healthCheck = HealthCheck(command: ["CMD", "true"], interval: 1)
        #expect(message { _ = try TaskDefinitionRules.validate(request([h])) }.contains("healthCheck.interval"))
        h.healthCheck = HealthCheck(command: ["echo"])
        #expect(message { _ = try TaskDefinitionRules.validate(request([h])) }.contains("must start with CMD"))
    }

    @Test func familyAndNetworkMode() {
        #expect(message { _ = try TaskDefinitionRules.validate(request([container()], family: "bad family")) }.contains("Family contains invalid characters"))
        var r = request([container()])
        r.networkMode = "overlay"
        #expect(message { _ = try TaskDefinitionRules.validate(r) }.contains("networkMode must be one of"))
    }

    @Test func mountsNeedDeclaredVolumes() {
        var c = container()
        var mount = MountPoint()
        mount.sourceVolume = "data"
        mount.containerPath = "/data"
        c.mountPoints = [mount]
        #expect(message { _ = try TaskDefinitionRules.validate(request([c])) }.contains("does not declare"))
    }
}

@Suite struct UTCTimeTests {
    @Test func parsesRFC3339ExactlyAndAgreesWithFoundation() throws {
        #expect(UTCTime.parseRFC3339("1970-01-01T00:00:00Z") == 0)
        #expect(UTCTime.parseRFC3339("2026-11-21T21:00:00.000000001Z") == 1_795_294_800_000_000_001)
        #expect(UTCTime.parseRFC3339("2026-11-21T21:00:00.5Z") == 1_795_294_800_500_000_000)
        #expect(UTCTime.parseRFC3339("2026-11-21T22:00:00+01:00") == UTCTime.parseRFC3339("2026-11-21T21:00:00Z"))
        #expect(UTCTime.parseRFC3339("0001-01-01T00:00:00Z") == nil, "Go's zero time means none")
        #expect(UTCTime.parseRFC3339("2026-11-21 21:00:00Z") == nil)
        #expect(UTCTime.parseRFC3339("2026-11-21T21:00:00") == nil)
        let reference = ISO8601DateFormatter()
        for seconds in stride(from: -86_400 * 400, to: 86_400 * 40_000, by: 86_400 * 37 + 3_671) {
            let date = Date(timeIntervalSince1970: TimeInterval(seconds))
            #expect(UTCTime.rfc3339(date) == reference.string(from: date))
            #expect(UTCTime.parseRFC3339(reference.string(from: date)) == Int64(seconds) * 1_000_000_000)
        }
    }
}

@Suite struct BoundedCacheTests {
    @Test func neverHoldsMoreThanItsCapacity() {
        let cache = BoundedCache<Int, String>(capacity: 3)
        for n in 0..<10 { cache.store("v\(n)", for: n) }
        #expect(cache.count <= 3)
        #expect(cache[9] == "v9", "the newest entry is kept")
        cache.store("again", for: 9)
        #expect(cache[9] == "again" && cache.count <= 3, "replacing a held key does not evict")
    }
}
