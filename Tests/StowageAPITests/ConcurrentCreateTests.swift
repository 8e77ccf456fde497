import Foundation
import StowageModel
import Testing

/// Creates that race a twin: the loser must get the answer a sequential caller gets (idempotent reply or
/// "already exists"), never a 500 from the unique index, and exactly one resource must exist afterwards.
@Suite struct ConcurrentCreateTests {
    @Test func twinCreateServiceCallsAnswerAsOneAfterTheOther() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            _ = try await api.ecs("CreateCluster", json(["clusterName": "race"]), as: h.a)
            _ = try await api.ecs("RegisterTaskDefinition", registerWeb, as: h.a)
            let body = json(["cluster": "race", "serviceName": "s", "taskDefinition": "web", "desiredCount": 0])
            let answers = try await withThrowingTaskGroup(of: Answer.self) { group in
                for _ in 0..<10 { group.addTask { try await api.ecs("CreateService", body, as: h.a) } }
                return try await group.reduce(into: [Answer]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status < 500 }, "\(answers.map { "\($0.status) \($0.errorType ?? "") \($0.message)" })")
            #expect(answers.filter { $0.status == 200 }.count == 1)
            #expect(answers.filter { $0.status != 200 }.allSatisfy { $0.status == 400 && $0.message.contains("not idempotent") },
                    "\(answers.map { "\($0.status) \($0.errorType ?? "")" })")
            let listed = try await api.ecs("ListServices", json(["cluster": "race"]), as: h.a)
            #expect(listed.strings("serviceArns").count == 1)
        }
    }

    @Test func twinCreateUserCallsAnswerEntityAlreadyExists() async throws {
        let h = try await Harness.make()
        try await h.run { api in
            let answers = try await withThrowingTaskGroup(of: QueryAnswer.self) { group in
                for _ in 0..<8 { group.addTask { try await api.iam("CreateUser", ["UserName": "twin"], as: h.a) } }
                return try await group.reduce(into: [QueryAnswer]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status < 500 }, "\(answers.map { "\($0.status) \($0.errorCode ?? "") \($0.message)" })")
            #expect(answers.filter { $0.status == 200 }.count == 1)
            #expect(answers.filter { $0.status != 200 }.allSatisfy { $0.errorCode == "EntityAlreadyExists" })
            #expect(try await api.iam("ListUsers", as: h.a).list("Users").filter { $0.child("UserName")?.text == "twin" }.count == 1)
        }
    }
}
