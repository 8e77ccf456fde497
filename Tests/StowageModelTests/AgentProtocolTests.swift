import StowageModel
import Testing

@Suite struct DesiredVersionTests {
    @Test func theVersionChangesWithTheSetNotWithItsOrder() {
        let a = AgentProtocol.version(of: [("t1", "RUNNING"), ("t2", "RUNNING")])
        #expect(a == AgentProtocol.version(of: [("t2", "RUNNING"), ("t1", "RUNNING")]), "the same set in any order")
        #expect(a != AgentProtocol.version(of: [("t1", "RUNNING"), ("t2", "STOPPED")]), "a stop request changes it")
        #expect(a != AgentProtocol.version(of: [("t1", "RUNNING")]), "a task leaving changes it")
        #expect(AgentProtocol.version(of: []) == AgentProtocol.version(of: []))
    }
}
