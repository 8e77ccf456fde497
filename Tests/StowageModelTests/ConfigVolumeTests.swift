import Foundation
import Testing

@testable import StowageModel

@Suite struct ConfigVolumeTests {
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

    @Test func parsesFilesSourcesModesOwnersAndUpdates() throws {
        let volume = try ConfigVolume.parse([
            "file:app.conf": "parameter:/app/config", "file:db/password": "secret:\(secret):password::",
            "file:motd": "text:hello: world", "mode": "0440", "uid": "1000", "mode:db/password": "0400", "gid:motd": "5",
            "updates": "in-place",
        ], volume: "cfg")
        #expect(volume.updates == .inPlace)
        let byPath = Dictionary(uniqueKeysWithValues: volume.files.map { ($0.path, $0) })
        #expect(byPath["app.conf"]?.source == .parameter("/app/config"))
        #expect(byPath["app.conf"]?.mode == 0o440 && byPath["app.conf"]?.uid == 1000 && byPath["app.conf"]?.gid == 0)
        #expect(byPath["db/password"]?.source == .secret("\(secret):password::"))
        #expect(byPath["db/password"]?.mode == 0o400)
        #expect(byPath["motd"]?.source == .text("hello: world"), "only the first colon separates the kind")
        #expect(byPath["motd"]?.gid == 5)
        #expect(try ConfigVolume.parse(["file:a": "text:x"], volume: "v").updates == .roll, "rolling is the default")
        #expect(try ConfigVolume.parse(["file:a": "text:x"], volume: "v").files[0].mode == 0o444)
    }

    @Test func refusesWhatItDoesNotUnderstandByName() {
        let cases: [([String: String], String)] = [
            (["file:a": "text:x", "owner": "me"], "owner"),
            (["file:/abs": "text:x"], "/abs"),
            (["file:a/../b": "text:x"], "a/../b"),
            (["file:a": "env:HOME"], "file:a"),
            (["file:a": "text:x", "mode": "0800"], "mode"),
            (["file:a": "text:x", "uid": "70000"], "uid"),
            (["file:a": "text:x", "mode:b": "0400"], "mode:b"),
            (["file:a": "text:x", "file:a/b": "text:y"], "directory"),
            (["file:a": "secret:/not/an/arn"], "/not/an/arn"),
            (["mode": "0400"], "names no file"),
        ]
        for (options, words) in cases {
            do {
                _ = try ConfigVolume.parse(options, volume: "v")
                Issue.record("accepted \(options)")
            } catch {
                #expect(error.message.contains(words), "\(options): \(error.message)")
            }
        }
    }

    @Test func rollingFollowsUnpinnedReferencesOfRollingVolumes() throws {
        func definition(_ options: [String: String]) throws -> TaskDefinition {
            try ECSJSON.decoder().decode(TaskDefinition.self, from: Data("""
                {"family": "f", "containerDefinitions": [{"name": "app", "image": "busybox"}],
                 "volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "task", "driver": "stowage",
                              "driverOpts": \(String(decoding: try JSONSerialization.data(withJSONObject: options), as: UTF8.self))}}]}
                """.utf8))
        }
        #expect(try definition(["file:a": "parameter:/app/a"]).rollsOnChange(parameter: "/app/a"))
        #expect(try !definition(["file:a": "parameter:/app/a"]).rollsOnChange(parameter: "/app/b"))
        #expect(try !definition(["file:a": "parameter:/app/a:3"]).rollsOnChange(parameter: "/app/a"), "pinned to a version")
        #expect(try definition(["file:a": "parameter:/app/a:live"]).rollsOnChange(parameter: "/app/a"), "a label can move")
        #expect(try !definition(["file:a": "parameter:/app/a", "updates": "in-place"]).rollsOnChange(parameter: "/app/a"))
        #expect(try definition(["file:a": "secret:\(secret)"]).rollsOnChange(secret: "db"))
    }
}
