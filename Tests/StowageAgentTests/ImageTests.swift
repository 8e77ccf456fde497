import Foundation
import StowageModel
import Testing
@testable import StowageAgent

/// Image references, pull behaviours, cleanup choices and registry auth, without an engine or a registry.
@Suite struct ImageTests {
    @Test func referencesComeApartAsEnginesReadThem() {
        #expect(ImageReference.split("busybox") == ("busybox", nil))
        #expect(ImageReference.split("127.0.0.1:5000/a/b:v1") == ("127.0.0.1:5000/a/b", "v1"))
        #expect(ImageReference.split("127.0.0.1:5000/a/b") == ("127.0.0.1:5000/a/b", nil), "a port is not a tag")
        #expect(ImageReference.split("a/b:1@sha256:abc") == ("a/b", "sha256:abc"))
        #expect(ImageReference.registry("busybox") == "docker.io")
        #expect(ImageReference.registry("library/busybox") == "docker.io")
        #expect(ImageReference.registry("quay.io/x/y:1") == "quay.io")
        #expect(ImageReference.registry("localhost/busybox") == "localhost")
        #expect(ImageReference.pinned("a/b:1", digest: "sha256:x") == "a/b@sha256:x")
        #expect(ImageRegistryClient.location("busybox").registry == "registry-1.docker.io")
        #expect(ImageRegistryClient.location("busybox").repository == "library/busybox")
        #expect(ImageRegistryClient.location("127.0.0.1:5000/a/b:v1") == ("127.0.0.1:5000", "a/b", "v1"))
    }

    @Test func aDigestIsTakenFromTheEngineOnlyWhenItIsUnambiguous() {
        #expect(ImageReference.digest(of: "r/a:1", repoDigests: ["r/a@sha256:1", "other@sha256:2"]) == "sha256:1")
        #expect(ImageReference.digest(of: "r/a:1", repoDigests: ["r/a@sha256:1", "r/a@sha256:2"]) == nil)
    }

    @Test func pullBehavioursFollowECS() {
        #expect(AgentDecisions.pullPlan(.default, cached: true, pulledBefore: true) == .pull(fallBack: true))
        #expect(AgentDecisions.pullPlan(.always, cached: true, pulledBefore: true) == .pull(fallBack: false))
        #expect(AgentDecisions.pullPlan(.once, cached: true, pulledBefore: true) == .useCached)
        #expect(AgentDecisions.pullPlan(.once, cached: true, pulledBefore: false) == .pull(fallBack: false))
        #expect(AgentDecisions.pullPlan(.preferCached, cached: true, pulledBefore: false) == .useCached)
        #expect(AgentDecisions.pullPlan(.preferCached, cached: false, pulledBefore: false) == .pull(fallBack: false))
    }

    @Test func cleanupTakesTheLeastRecentlyUsedPastTheirAgeAndMoreWhenTheDiskIsFull() {
        let now = Date(timeIntervalSince1970: 10_000)
        let images = (0..<6).map { ImageInfo(id: "i\($0)", size: 100) }
        let used = Dictionary(uniqueKeysWithValues: images.enumerated().map { ($1.id, now.addingTimeInterval(-Double(7200 - $0 * 1000))) })
        // Unused for: i0 7200 s, i1 6200, i2 5200, i3 4200, i4 3200, i5 2200.
        let few = AgentDecisions.imagesToRemove(images, lastUsed: used, now: now, minimumAge: 3600, perRun: 2, bytesToFree: 0)
        #expect(few.map(\.id) == ["i0", "i1"])
        let more = AgentDecisions.imagesToRemove(images, lastUsed: used, now: now, minimumAge: 3600, perRun: 2, bytesToFree: 350)
        #expect(more.map(\.id) == ["i0", "i1", "i2", "i3"], "the disk mark removes more, but never one younger than the minimum age")
    }

    @Test func aDockerConfigGivesRegistryCredentials() throws {
        let file = #"{"auths": {"https://reg.example:5000/v1/": {"auth": "\#(Data("me:pa:ss".utf8).base64EncodedString())"}, "other.io": {"username": "u", "password": "p"}}}"#
        let auth = try RegistryAuthFile.parse(Data(file.utf8))
        #expect(auth["reg.example:5000"] == ImageRegistryCredentials(username: "me", password: "pa:ss", registry: "reg.example:5000"))
        #expect(auth["other.io"]?.username == "u")
        let header = try #require(auth["other.io"]?.engineHeader)
        #expect(!header.contains("+") && !header.contains("/"), "base64url, as the engine reads it")
        #expect(throws: (any Error).self) { try RegistryAuthFile.parse(Data("{}".utf8)) }
    }

    @Test func aBearerChallengeIsReadIntoItsParameters() {
        let p = ImageRegistryClient.challengeParameters(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(p == ["realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/busybox:pull"])
    }
}
